import { RemoteRoomId, TransactionId, type RemoteEvent } from '../../src/sdk';
import { fakeHub, type FakeNetwork } from '../fixtures/fake-adapter';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../support/gateway';
import { holdFsyncs } from '../support/hold-fsyncs';

const textIn = (events: readonly RemoteEvent[], room: string, text: string): boolean =>
  events.some((e) => e.type === 'message' && e.roomId === room && e.text.includes(text));

/**
 * ADR 0012 decision 14: a bridge copy goes out once its source is committed (a crash of the process keeps a
 * commit), without waiting for the fsync that `sqliteSynchronous: full` (the default) adds; the adapter's
 * emit still waits for the disk. Shown with every fsync of the gateway's process held until released.
 */
describe('bridges: a copy goes out on the commit, before the disk confirms it', () => {
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let api: Api;
  let net: FakeNetwork;

  beforeAll(async () => {
    fakeHub.reset();
    net = fakeHub.network('commitnet');
    for (const [user, pw] of [
      ['gw', 'gw-pw'],
      ['alice', 'a-pw'],
      ['bob', 'b-pw'],
    ] as const)
      net.register(user, pw);
    net.join('alice', '#a');
    net.join('bob', '#b');
    env = await startTestGateway();
    expect(env.config.database.url).toBeUndefined(); // embedded SQLite…
    expect(env.config.database.sqliteSynchronous).toBe('full'); // …whose commits wait for the disk
    api = await new Api(env.gw.url).login('admin', ADMIN_PASSWORD);
    const acc = await api.call('POST', '/api/v1/accounts', {
      adapter: 'fake',
      label: 'gw',
      options: { network: 'commitnet', user: 'gw', password: 'gw-pw' },
    });
    expect(acc.status).toBe(201);
    await eventually(
      async () => (await api.call('GET', `/api/v1/accounts/${acc.json.id}`)).json.state === 'connected',
      'account connected',
    );
    const convs: string[] = [];
    for (const room of ['#a', '#b']) {
      const c = await api.call('POST', '/api/v1/conversations', { accountId: acc.json.id, address: room });
      expect(c.status).toBe(201);
      convs.push(c.json.id as string);
    }
    expect((await api.call('POST', '/api/v1/bridges', { conversations: convs })).status).toBe(201);
    // A first message relayed normally: everything the bridge needs is set up and on the disk.
    net.send('alice', { roomId: RemoteRoomId('#a'), transactionId: TransactionId('warm'), text: 'warm up' });
    await eventually(async () => textIn(net.pending('bob'), '#b', 'warm up'), 'the first copy');
    await eventually(async () => net.pending('gw').length === 0, 'the gateway took everything');
  }, 60_000);

  afterAll(async () => {
    await env?.stop();
    fakeHub.reset();
  });

  it('with the fsync held, the copy reaches the other room while the source is still unacknowledged', async () => {
    const fsyncs = holdFsyncs();
    try {
      net.send('alice', {
        roomId: RemoteRoomId('#a'),
        transactionId: TransactionId('held'),
        text: 'before the disk',
      });
      await eventually(async () => textIn(net.pending('bob'), '#b', 'before the disk'), 'the copy in #b');
      // The fake network keeps an event queued until the gateway's emit resolves: it waits for the disk.
      expect(fsyncs.held.length).toBeGreaterThan(0);
      expect(textIn(net.pending('gw'), '#a', 'before the disk')).toBe(true);
      fsyncs.restore();
      fsyncs.release();
      await eventually(async () => net.pending('gw').length === 0, 'the source acknowledged');
    } finally {
      fsyncs.restore();
      fsyncs.release();
    }
    // Once, and only the copy: nothing was sent twice.
    const copies = net
      .pending('bob')
      .filter((e) => e.type === 'message' && e.text.includes('before the disk'));
    expect(copies).toHaveLength(1);
  });
});
