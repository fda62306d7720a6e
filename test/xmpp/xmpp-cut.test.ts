import net from 'node:net';
import { RemoteRoomId, TransactionId } from '@switchboard/sdk';
import { waitFor } from '../registry/registry-harness';
import { startProsody, type ProsodyServer } from '../support/prosody';
import { accountOptions, connectedClient, startXmppGateway } from './xmpp-harness';

/**
 * A TCP relay to the server that can go silent (bytes in both directions are dropped, as on a dead
 * network path) and then cut every connection through it.
 */
async function startRelay(target: { host: string; port: number }) {
  let silent = false;
  const pairs = new Set<[net.Socket, net.Socket]>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    client.on('data', (d) => !silent && upstream.write(d));
    upstream.on('data', (d) => !silent && client.write(d));
    const close = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    goSilent() {
      silent = true;
    },
    /** Cuts every relayed connection and carries new ones normally again. */
    cutAll() {
      for (const [c, u] of pairs) {
        c.destroy();
        u.destroy();
      }
      pairs.clear();
      silent = false;
    },
    async close() {
      this.cutAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('xmpp adapter: a connection cut mid-conversation', () => {
  let server: ProsodyServer;
  let gw: Awaited<ReturnType<typeof startXmppGateway>>;
  let relay: Awaited<ReturnType<typeof startRelay>>;

  beforeAll(async () => {
    server = await startProsody();
    await server.registerUser('alice', 'alice-pw');
    await server.registerUser('bob', 'bob-pw');
    relay = await startRelay(server);
    gw = await startXmppGateway();
  });
  afterAll(async () => {
    await gw?.stop();
    await relay?.close();
    await server?.stop();
  });

  it('loses nothing and doubles nothing: what went to the dead session comes back from the archive', async () => {
    const alice = `alice@${server.domain}`;
    const bob = `bob@${server.domain}`;
    await gw.supervisor.start({
      accountId: 'a',
      adapterId: 'xmpp',
      options: accountOptions(server, 'alice', 'alice-pw', { port: relay.port }),
    });
    await gw.supervisor.start({
      accountId: 'b',
      adapterId: 'xmpp',
      options: accountOptions(server, 'bob', 'bob-pw'),
    });
    const a0 = await connectedClient(gw.supervisor, 'a');
    const b = await connectedClient(gw.supervisor, 'b');

    await b.send({ roomId: RemoteRoomId(alice), transactionId: TransactionId('m1'), text: 'one' });
    await waitFor('m1 live', () => gw.host.find('a', 'message', (e) => e.messageId === 'm1'));

    // The path dies silently: the server still believes in alice's session and hands it m2..m4.
    relay.goSilent();
    for (const id of ['m2', 'm3', 'm4'])
      await b.send({ roomId: RemoteRoomId(alice), transactionId: TransactionId(id), text: `text ${id}` });
    relay.cutAll();

    await waitFor(
      'alice reconnected',
      () => gw.supervisor.status('a')?.state === 'connected' && gw.supervisor.client('a') !== a0,
    );
    await waitFor('m4 recovered', () => gw.host.find('a', 'message', (e) => e.messageId === 'm4'));
    await b.send({ roomId: RemoteRoomId(alice), transactionId: TransactionId('m5'), text: 'five' });
    await waitFor('m5 live', () => gw.host.find('a', 'message', (e) => e.messageId === 'm5'));

    const ids = gw.host.eventsOf('a').flatMap((e) => (e.type === 'message' ? [e.messageId] : []));
    expect(ids).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    expect(gw.host.find('a', 'message', (e) => e.messageId === 'm3')).toMatchObject({
      roomId: bob,
      backfill: true,
    });
  });

  it('notices a silently dead path by its unanswered ping, and recovers what was sent meanwhile', async () => {
    const alice = `alice@${server.domain}`;
    await gw.supervisor.start({
      accountId: 'k',
      adapterId: 'xmpp',
      options: accountOptions(server, 'alice', 'alice-pw', {
        port: relay.port,
        resource: 'keepalive',
        keepaliveSeconds: 2,
      }),
    });
    const k0 = await connectedClient(gw.supervisor, 'k');
    const b = await connectedClient(gw.supervisor, 'b');
    await b.send({ roomId: RemoteRoomId(`${alice}`), transactionId: TransactionId('k1'), text: 'before' });
    await waitFor('k1 live', () => gw.host.find('k', 'message', (e) => e.messageId === 'k1'));

    relay.goSilent(); // no FIN, no RST: only a ping can tell
    // A send into the dead path is not confirmed: it fails as retryable, for the outbox to retry.
    const lost = k0.send({
      roomId: RemoteRoomId(`bob@${server.domain}`),
      transactionId: TransactionId('k-out'),
      text: 'lost?',
    });
    await expect(lost).rejects.toMatchObject({ name: 'SendError', retryable: true, code: 'unconfirmed' });
    await b.send({ roomId: RemoteRoomId(alice), transactionId: TransactionId('k2'), text: 'into the void' });
    await waitFor(
      'ping timeout noticed',
      () => gw.host.statuses.get('k')?.find((s) => s.code === 'ping_timeout'),
      20_000,
    );
    relay.cutAll();
    await waitFor(
      'reconnected',
      () => gw.supervisor.status('k')?.state === 'connected' && gw.supervisor.client('k') !== k0,
      30_000,
    );
    await waitFor('k2 recovered', () => gw.host.find('k', 'message', (e) => e.messageId === 'k2'));
    await gw.supervisor.stop('k');
  });
});
