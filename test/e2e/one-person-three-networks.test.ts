import path from 'node:path';
import WebSocket from 'ws';
import { RawIrcClient } from '../irc/raw-irc-client';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../support/gateway';
import { startInspircd, type InspircdServer } from '../support/inspircd';
import { startMatrixHomeserver, type MatrixHomeserver } from '../support/matrix-homeserver';

const root = path.resolve(__dirname, '../..');

interface Contact {
  id: string;
  displayName: string;
  presence: { state: string; status?: string };
  endpoints: { id: string; network: string; address: string; presence: { state: string; status?: string } }[];
}

/**
 * The product's reason to exist, end to end with real servers and one gateway: Carol is on IRC (InspIRCd)
 * and on Matrix (the test homeserver); the user's buddy list shows her on both, the user merges the two
 * into one person, and when Carol changes her away message on IRC, a connected WebSocket client sees the
 * person's presence and status text change.
 */
describe('one person on two networks', () => {
  let irc: InspircdServer;
  let hs: MatrixHomeserver;
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let carolIrc: RawIrcClient | undefined;

  beforeAll(async () => {
    [irc, hs] = await Promise.all([startInspircd(), startMatrixHomeserver({ serverName: 'hs.test' })]);
    await hs.registerUser('me', 'me-password');
    env = await startTestGateway({
      adapters: [
        { id: 'irc', path: path.join(root, 'adapters/irc') },
        { id: 'matrix', path: path.join(root, 'adapters/matrix') },
      ],
    });
  });
  afterAll(async () => {
    await carolIrc?.close();
    await env?.stop();
    await Promise.all([irc?.stop(), hs?.stop()]);
  });

  it('merges her endpoints into one person whose presence follows her away message', async () => {
    const me = await new Api(env.gw.url).login('admin', ADMIN_PASSWORD);
    const create = async (adapter: string, options: object) => {
      const r = await me.call('POST', '/api/v1/accounts', { adapter, options });
      expect(r.status).toBe(201);
      await eventually(
        async () => (await me.call('GET', `/api/v1/accounts/${r.json.id}`)).json.state === 'connected',
        `${adapter} connected`,
        30_000,
      );
      return r.json.id as string;
    };
    await create('irc', { host: irc.host, port: irc.port, tls: false, nick: 'me', watch: ['carol'] });
    await create('matrix', {
      homeserverUrl: hs.url,
      userId: '@me:hs.test',
      password: 'me-password',
      syncTimeoutMs: 1000,
    });

    // Carol on IRC: a plain client, away with a message.
    carolIrc = await RawIrcClient.register(irc.host, irc.port, 'carol');
    carolIrc.send('AWAY :in a meeting');
    // Carol on Matrix: she opens a DM with me and goes offline there.
    const carol = await hs.registerUser('carol', 'carol-password', { displayname: 'carol' });
    const mx = async (method: string, p: string, body?: object) => {
      const res = await fetch(`${hs.url}/_matrix/client/v3${p}`, {
        method,
        headers: { authorization: `Bearer ${carol.accessToken}`, 'content-type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      expect(res.status).toBe(200);
      return res.json() as Promise<Record<string, unknown>>;
    };
    await mx('POST', '/createRoom', {
      is_direct: true,
      invite: ['@me:hs.test'],
      preset: 'trusted_private_chat',
    });
    await mx('PUT', `/presence/${encodeURIComponent(carol.userId)}/status`, { presence: 'offline' });

    // Two contacts named carol, one per network.
    const both = await eventually(
      async () => {
        const list = ((await me.call('GET', '/api/v1/contacts')).json as Contact[]).filter((c) =>
          c.endpoints.some((e) => /carol/.test(e.address)),
        );
        return list.length === 2 && list;
      },
      'carol on IRC and on Matrix',
      30_000,
    );
    const merged = await me.call('POST', `/api/v1/contacts/${both[0]!.id}/merge`, { otherId: both[1]!.id });
    expect(merged.status).toBe(200);
    const person = merged.json as Contact;
    expect(person.endpoints.map((e) => e.address).sort()).toEqual(
      [expect.stringMatching(/^@carol:hs\.test$/), expect.stringMatching(/^carol/)].sort(),
    );
    await eventually(
      async () => {
        const c = (await me.call('GET', `/api/v1/contacts/${person.id}`)).json as Contact;
        return c.presence.state === 'away' && c.presence.status === 'in a meeting';
      },
      "the person's presence from IRC",
      30_000,
    );

    // A WebSocket client sees the person change when she changes her away message on IRC.
    const ws = new WebSocket(`${env.gw.url.replace('http', 'ws')}/api/v1/events?token=${me.token}`);
    const frames: { type: string; data: any }[] = [];
    ws.on('message', (d) => frames.push(JSON.parse(String(d))));
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    carolIrc.send('AWAY :back at three');
    const frame = await eventually(
      async () =>
        frames.find(
          (f) =>
            f.type === 'presence.changed' &&
            f.data.personId === person.id &&
            f.data.personPresence?.status === 'back at three',
        ),
      'presence.changed for the person',
      30_000,
    );
    expect(frame.data.personPresence.state).toBe('away');
    ws.close();
  });
});
