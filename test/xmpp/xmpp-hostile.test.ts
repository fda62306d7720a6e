import net from 'node:net';
import { RemoteRoomId, TransactionId } from '@switchboard/sdk';
import { waitFor } from '../registry/registry-harness';
import { startProsody, type ProsodyServer } from '../support/prosody';
import { accountOptions, connectedClient, startXmppGateway } from './xmpp-harness';

/**
 * A man in the middle on a plaintext c2s stream: it can rewrite what the server says (before the client
 * sees it) and inject bytes of its own, as a hostile server or network would.
 */
async function startMitm(target: { host: string; port: number }, rewrite: (s: string) => string = (s) => s) {
  const clients = new Set<net.Socket>();
  const server = net.createServer((client) => {
    clients.add(client);
    const upstream = net.connect(target.port, target.host);
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => client.write(rewrite(d.toString('utf8'))));
    const close = () => {
      client.destroy();
      upstream.destroy();
      clients.delete(client);
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    inject(bytes: string) {
      for (const c of clients) c.write(bytes);
    },
    async close() {
      for (const c of clients) c.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('xmpp adapter: hostile input on the stream, and a STARTTLS downgrade', () => {
  let server: ProsodyServer;
  let gw: Awaited<ReturnType<typeof startXmppGateway>>;

  beforeAll(async () => {
    // Plaintext is allowed by this server so that the man in the middle can read and write the stream.
    server = await startProsody({ allowPlaintext: true });
    await server.registerUser('alice', 'alice-pw');
    await server.registerUser('bob', 'bob-pw');
    gw = await startXmppGateway();
  });
  afterAll(async () => {
    await gw?.stop();
    await server?.stop();
  });

  it('refuses to log in when STARTTLS is stripped from the server features', async () => {
    const mitm = await startMitm(server, (s) =>
      s.replace(/<starttls[^>]*>(<required\/>)?(<\/starttls>)?/g, ''),
    );
    try {
      await gw.supervisor.start({
        accountId: 'stripped',
        adapterId: 'xmpp',
        options: accountOptions(server, 'alice', 'alice-pw', { port: mitm.port }),
      });
      await waitFor('refused', () => gw.supervisor.status('stripped')?.state === 'error');
      expect(gw.supervisor.status('stripped')).toMatchObject({ code: 'tls_unavailable' });
      await gw.supervisor.stop('stripped');
    } finally {
      await mitm.close();
    }
  });

  it('logs in without TLS only when told to, drops a stream with an undeclared entity, and only the stanza with deep nesting', async () => {
    const mitm = await startMitm(server);
    try {
      const plain = accountOptions(server, 'alice', 'alice-pw', {
        port: mitm.port,
        tls: 'none',
        allowPlaintext: true,
      });
      await gw.supervisor.start({ accountId: 'a', adapterId: 'xmpp', options: plain });
      await gw.supervisor.start({
        accountId: 'b',
        adapterId: 'xmpp',
        options: accountOptions(server, 'bob', 'bob-pw'),
      });
      const a0 = await connectedClient(gw.supervisor, 'a');
      const b = await connectedClient(gw.supervisor, 'b');
      const alice = `alice@${server.domain}`;

      mitm.inject(`<message from='bob@${server.domain}/x' type='chat'><body>&lol;</body></message>`);
      await waitFor('the bad entity drops the stream', () =>
        gw.host.statuses.get('a')?.find((s) => s.code === 'not_well_formed'),
      );
      const a1 = await waitFor('reconnected', () =>
        gw.supervisor.status('a')?.state === 'connected' && gw.supervisor.client('a') !== a0
          ? gw.supervisor.client('a')
          : undefined,
      );

      // Deep nesting can come from any user through the server: that stanza is dropped, the stream stays.
      const statuses = gw.host.statuses.get('a')?.length ?? 0;
      mitm.inject(
        `<message from='bob@${server.domain}/x' type='chat' id='deep'><body>deep</body>${'<a>'.repeat(200)}${'</a>'.repeat(200)}</message>`,
      );
      mitm.inject(
        `<message from='bob@${server.domain}/x' type='chat' id='after-deep'><body>still here</body></message>`,
      );
      await waitFor('the message after the deep one', () =>
        gw.host.find('a', 'message', (e) => e.messageId === 'after-deep'),
      );
      expect(gw.host.find('a', 'message', (e) => e.messageId === 'deep')).toBeUndefined();
      expect(gw.supervisor.client('a')).toBe(a1);
      expect(gw.host.statuses.get('a')?.length ?? 0).toBe(statuses);

      // Unknown namespaces are simply ignored, and the account keeps working.
      mitm.inject(
        `<message from='bob@${server.domain}/x' type='chat'><weird xmlns='urn:example:nope'><x/></weird></message>`,
      );
      await b.send({
        roomId: RemoteRoomId(alice),
        transactionId: TransactionId('after-attacks'),
        text: 'still fine?',
      });
      await waitFor('alice still gets messages', () =>
        gw.host.find('a', 'message', (e) => e.messageId === 'after-attacks'),
      );
      expect(gw.host.find('a', 'message', (e) => e.text.includes('lol'))).toBeUndefined();
    } finally {
      await mitm.close();
    }
  });
});
