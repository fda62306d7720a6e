import { RemoteRoomId, TransactionId } from '@switchboard/sdk';
import { waitFor } from '../registry/registry-harness';
import { startProsody, type ProsodyServer } from '../support/prosody';
import { accountOptions, connectedClient, startXmppGateway } from './xmpp-harness';

describe('xmpp adapter: oversized stanzas, dropped connections, carbons', () => {
  let server: ProsodyServer;
  let gw: Awaited<ReturnType<typeof startXmppGateway>>;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    server = await startProsody();
    await server.registerUser('alice', 'alice-pw');
    await server.registerUser('bob', 'bob-pw');
    alice = `alice@${server.domain}`;
    bob = `bob@${server.domain}`;
    gw = await startXmppGateway();
    await gw.supervisor.start({
      accountId: 'a',
      adapterId: 'xmpp',
      options: accountOptions(server, 'alice', 'alice-pw', { maxStanzaBytes: 8192 }),
    });
    await gw.supervisor.start({
      accountId: 'b',
      adapterId: 'xmpp',
      options: accountOptions(server, 'bob', 'bob-pw'),
    });
    await connectedClient(gw.supervisor, 'a');
    await connectedClient(gw.supervisor, 'b');
  });
  afterAll(async () => {
    await gw?.stop();
    await server?.stop();
  });

  it('drops the stream on a stanza over the limit, reports it, and reconnects without crashing', async () => {
    const before = gw.supervisor.client('a');
    await gw.supervisor
      .client('b')!
      .send({ roomId: RemoteRoomId(alice), transactionId: TransactionId('big'), text: 'x'.repeat(20_000) });
    await waitFor('alice reports the oversized stanza', () =>
      gw.host.statuses
        .get('a')
        ?.find((s) => s.state === 'transient_disconnect' && s.code === 'stanza_too_large'),
    );
    await waitFor(
      'alice reconnected',
      () => gw.supervisor.status('a')?.state === 'connected' && gw.supervisor.client('a') !== before,
    );
    expect(gw.host.find('a', 'message', (e) => e.messageId === 'big')).toBeUndefined();
    // The new connection works.
    await gw.supervisor
      .client('b')!
      .send({ roomId: RemoteRoomId(alice), transactionId: TransactionId('small'), text: 'still there?' });
    await waitFor('alice gets the next message', () =>
      gw.host.find('a', 'message', (e) => e.messageId === 'small'),
    );
  });

  it('reconnects both accounts after the server restarts, and delivers what was sent meanwhile', async () => {
    const [a0, b0] = [gw.supervisor.client('a'), gw.supervisor.client('b')];
    await server.restart();
    await waitFor('both saw the drop', () =>
      ['a', 'b'].every((id) =>
        (gw.host.statuses.get(id) ?? []).slice(-3).some((s) => s.state === 'transient_disconnect'),
      ),
    );
    await waitFor(
      'both reconnected',
      () =>
        gw.supervisor.status('a')?.state === 'connected' &&
        gw.supervisor.status('b')?.state === 'connected' &&
        gw.supervisor.client('a') !== a0 &&
        gw.supervisor.client('b') !== b0,
      30_000,
    );
    await gw.supervisor.stop('a');
    await gw.supervisor.client('b')!.send({
      roomId: RemoteRoomId(alice),
      transactionId: TransactionId('offline-1'),
      text: 'while you were out',
    });
    await gw.supervisor.start({
      accountId: 'a',
      adapterId: 'xmpp',
      options: accountOptions(server, 'alice', 'alice-pw', { maxStanzaBytes: 8192 }),
    });
    await connectedClient(gw.supervisor, 'a');
    const got = await waitFor('the offline message arrives', () =>
      gw.host.find('a', 'message', (e) => e.messageId === 'offline-1'),
    );
    expect(got.roomId).toBe(bob);
    expect(
      gw.host.eventsOf('a').filter((e) => e.type === 'message' && e.messageId === 'offline-1'),
    ).toHaveLength(1);
  });

  it('rejoins the rooms it was in when it logs in again (a gateway restart)', async () => {
    const room = `resil@${server.mucDomain}`;
    const A = () => gw.supervisor.client('a') as unknown as import('../../adapters/xmpp').XmppClient;
    const B = () => gw.supervisor.client('b') as unknown as import('../../adapters/xmpp').XmppClient;
    await B().joinRoom(`${room}/bob`);
    await A().joinRoom(`${room}/alice`);
    // A new client for alice, as after a restart: only the account's saved state carries the room over.
    await gw.supervisor.stop('a');
    await gw.supervisor.start({
      accountId: 'a',
      adapterId: 'xmpp',
      options: accountOptions(server, 'alice', 'alice-pw', { maxStanzaBytes: 8192 }),
    });
    await connectedClient(gw.supervisor, 'a');
    await waitFor('alice back in the room', () => A().occupants(RemoteRoomId(room)).includes('alice'));
    await B().send({
      roomId: RemoteRoomId(room),
      transactionId: TransactionId('after-rejoin'),
      text: 'welcome back',
    });
    await waitFor('alice gets the room message', () =>
      gw.host.find('a', 'message', (e) => e.roomId === room && e.messageId === 'after-rejoin'),
    );
    // Leaving takes the room off the list.
    await A().leaveRoom(RemoteRoomId(room));
    await waitFor('alice left', () => gw.host.find('a', 'room.left', (e) => e.roomId === room));
    await gw.supervisor.stop('a');
    await gw.supervisor.start({
      accountId: 'a',
      adapterId: 'xmpp',
      options: accountOptions(server, 'alice', 'alice-pw', { maxStanzaBytes: 8192 }),
    });
    await connectedClient(gw.supervisor, 'a');
    expect(await A().listRooms()).toEqual([]);
  });

  it('reports what another client of ours sent and received (carbons), as our own', async () => {
    await gw.supervisor.start({
      accountId: 'a-phone',
      adapterId: 'xmpp',
      options: accountOptions(server, 'alice', 'alice-pw', { resource: 'phone' }),
    });
    const phone = await connectedClient(gw.supervisor, 'a-phone');
    await phone.send({
      roomId: RemoteRoomId(bob),
      transactionId: TransactionId('from-phone'),
      text: 'sent on my phone',
    });
    const carbon = await waitFor('the main client sees the sent carbon', () =>
      gw.host.find('a', 'message', (e) => e.messageId === 'from-phone'),
    );
    expect(carbon).toMatchObject({
      roomId: bob,
      sender: { userId: alice, self: true },
      transactionId: 'from-phone',
    });
    await gw.supervisor.stop('a-phone');
  });
});

describe('xmpp adapter: archive (XEP-0313) catch-up', () => {
  let server: ProsodyServer;
  let gw: Awaited<ReturnType<typeof startXmppGateway>>;

  beforeAll(async () => {
    server = await startProsody();
    await server.registerUser('carol', 'carol-pw');
    await server.registerUser('dave', 'dave-pw');
    gw = await startXmppGateway();
  });
  afterAll(async () => {
    await gw?.stop();
    await server?.stop();
  });

  it('backfills what was sent while the account was offline, once and in order', async () => {
    const carol = `carol@${server.domain}`;
    const dave = `dave@${server.domain}`;
    const carolAccount = {
      accountId: 'c',
      adapterId: 'xmpp',
      options: accountOptions(server, 'carol', 'carol-pw'),
    };
    await gw.supervisor.start(carolAccount);
    await gw.supervisor.start({
      accountId: 'd',
      adapterId: 'xmpp',
      options: accountOptions(server, 'dave', 'dave-pw'),
    });
    await connectedClient(gw.supervisor, 'c');
    const d = await connectedClient(gw.supervisor, 'd');
    await d.send({ roomId: RemoteRoomId(carol), transactionId: TransactionId('live-1'), text: 'live one' });
    await waitFor('carol gets the live message', () =>
      gw.host.find('c', 'message', (e) => e.messageId === 'live-1'),
    );

    await gw.supervisor.stop('c');
    for (const n of [1, 2, 3])
      await d.send({
        roomId: RemoteRoomId(carol),
        transactionId: TransactionId(`away-${n}`),
        text: `away ${n}`,
      });
    await gw.supervisor.start(carolAccount);
    await connectedClient(gw.supervisor, 'c');
    await waitFor('all three arrive', () => gw.host.find('c', 'message', (e) => e.messageId === 'away-3'));
    // Offline delivery follows the archive catch-up; give it the time to arrive, then count.
    await d.send({ roomId: RemoteRoomId(carol), transactionId: TransactionId('after'), text: 'after' });
    await waitFor('the next live message', () =>
      gw.host.find('c', 'message', (e) => e.messageId === 'after'),
    );

    const msgs = gw.host.eventsOf('c').filter((e) => e.type === 'message');
    expect(msgs.map((e) => e.type === 'message' && e.messageId)).toEqual([
      'live-1',
      'away-1',
      'away-2',
      'away-3',
      'after',
    ]);
    const away = msgs.filter((e) => e.type === 'message' && e.messageId.startsWith('away-'));
    expect(away.every((e) => e.type === 'message' && e.backfill === true && e.roomId === dave)).toBe(true);
  });
});
