import path from 'node:path';
import { Api, ADMIN_PASSWORD, eventually, startTestGateway } from '../support/gateway';
import { startInspircd, type InspircdServer } from '../support/inspircd';

const IRC_ADAPTER_PATH = path.resolve(__dirname, '../../adapters/irc');

/**
 * The whole path through the gateway: two IRC accounts created over the API, a message posted while the
 * IRC server is down waits in the durable outbox, and arrives once after the server is back and both
 * accounts reconnected and rejoined. The channel keeps history (InspIRCd +H), so the receiver gets it
 * even when the sender rejoined first; ids (msgid) make the replay harmless.
 */
describe('the IRC adapter through the gateway: outbox across a server restart', () => {
  let server: InspircdServer;
  let gw: Awaited<ReturnType<typeof startTestGateway>>;
  let admin: Api;

  beforeAll(async () => {
    server = await startInspircd({ channelHistory: true });
    gw = await startTestGateway({ adapters: [{ id: 'irc', path: IRC_ADAPTER_PATH }] });
    const base = `http://127.0.0.1:${gw.config.server.port}`;
    admin = await new Api(base).login('admin', ADMIN_PASSWORD);
  });

  afterAll(async () => {
    await gw?.stop();
    await server?.stop();
  });

  it('keeps a message sent while the server is down and delivers it once after the restart', async () => {
    const account = async (nick: string) => {
      const r = await admin.call('POST', '/api/v1/accounts', {
        adapter: 'irc',
        options: { host: server.host, port: server.port, tls: false, nick, floodIntervalMs: 100 },
      });
      expect(r.status).toBe(201);
      return r.json.id as string;
    };
    const state = async (id: string) =>
      (await admin.call('GET', `/api/v1/accounts/${id}`)).json.state as string;
    const ana = await account('gwana');
    const ben = await account('gwben');
    for (const id of [ana, ben]) await eventually(async () => (await state(id)) === 'connected', 'connected');

    const conv = async (accountId: string) => {
      const r = await admin.call('POST', '/api/v1/conversations', { accountId, address: '#gw' });
      expect(r.status).toBe(201);
      return r.json.id as string;
    };
    const anaConv = await conv(ana);
    const benConv = await conv(ben);
    const benTexts = async () =>
      ((await admin.call('GET', `/api/v1/conversations/${benConv}/messages`)).json as { text: string }[]).map(
        (m) => m.text,
      );

    const first = await admin.call('POST', `/api/v1/conversations/${anaConv}/messages`, {
      text: 'before the restart',
      clientId: 'gw-1',
    });
    expect(first.status).toBe(202);
    await eventually(async () => (await benTexts()).includes('before the restart'), 'first message at ben');

    await server.halt({ kill: true });
    await eventually(async () => (await state(ana)) !== 'connected', 'ana disconnected');
    const down = await admin.call('POST', `/api/v1/conversations/${anaConv}/messages`, {
      text: 'sent while the server was down',
      clientId: 'gw-2',
    });
    expect(down.status).toBe(202);
    await server.start();

    for (const id of [ana, ben])
      await eventually(async () => (await state(id)) === 'connected', 'reconnected', 60_000);
    await eventually(
      async () => (await benTexts()).includes('sent while the server was down'),
      'the outbox message at ben',
      60_000,
    );
    // The sender's copies end `sent`, and each is stored once (the echo is linked, not stored again).
    const mine = await eventually(
      async () => {
        const list = (await admin.call('GET', `/api/v1/conversations/${anaConv}/messages`)).json as {
          text: string;
          status: string;
        }[];
        return list.length >= 2 && list.every((m) => m.status === 'sent') && list;
      },
      'both sent',
      30_000,
    );
    expect(mine.map((m) => m.text).sort()).toEqual(['before the restart', 'sent while the server was down']);
    // Once: not twice from the replayed channel history, not twice from an outbox retry.
    await new Promise((r) => setTimeout(r, 500));
    const texts = await benTexts();
    expect(texts.filter((t) => t === 'sent while the server was down')).toHaveLength(1);
    expect(texts.filter((t) => t === 'before the restart')).toHaveLength(1);
  });
});
