import path from 'node:path';
import WebSocket from 'ws';
import { RawIrcClient } from '../irc/raw-irc-client';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../support/gateway';
import { startInspircd, type InspircdServer } from '../support/inspircd';
import { startMatrixHomeserver, type MatrixHomeserver } from '../support/matrix-homeserver';
import { startProsody, type ProsodyServer } from '../support/prosody';

const root = path.resolve(__dirname, '../..');

interface Contact {
  id: string;
  displayName: string;
  presence: { state: string; status?: string };
  endpoints: { id: string; network: string; address: string; presence: { state: string; status?: string } }[];
}

/**
 * The product's reason to exist, end to end with real servers and one gateway: Carol is on IRC (InspIRCd),
 * on Matrix (the test homeserver) and on XMPP (prosody); the user's buddy list shows her on each, the user
 * merges them into one person, and when Carol changes her away message on IRC or her status on XMPP, a
 * connected WebSocket client sees the person's presence and status text change.
 */
describe('one person on three networks', () => {
  let irc: InspircdServer;
  let hs: MatrixHomeserver;
  let xmpp: ProsodyServer;
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let carolIrc: RawIrcClient | undefined;

  beforeAll(async () => {
    [irc, hs, xmpp] = await Promise.all([
      startInspircd(),
      startMatrixHomeserver({ serverName: 'hs.test' }),
      startProsody(),
    ]);
    await hs.registerUser('me', 'me-password');
    await Promise.all([xmpp.registerUser('me', 'me-password'), xmpp.registerUser('carol', 'carol-password')]);
    env = await startTestGateway({
      adapters: [
        { id: 'irc', path: path.join(root, 'adapters/irc') },
        { id: 'matrix', path: path.join(root, 'adapters/matrix') },
        { id: 'xmpp', path: path.join(root, 'adapters/xmpp') },
      ],
    });
  });
  afterAll(async () => {
    await carolIrc?.close();
    await env?.stop();
    await Promise.all([irc?.stop(), hs?.stop(), xmpp?.stop()]);
  });

  it('merges her endpoints into one person whose presence follows her away message', async () => {
    const me = await new Api(env.gw.url).login('admin', ADMIN_PASSWORD);
    const create = async (adapter: string, options: object, api = me) => {
      const r = await api.call('POST', '/api/v1/accounts', { adapter, options });
      expect(r.status).toBe(201);
      await eventually(
        async () => (await api.call('GET', `/api/v1/accounts/${r.json.id}`)).json.state === 'connected',
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

    // Carol on XMPP, here through a gateway user of her own: the user adds her, she adds the user back
    // (a mutual subscription on prosody) and is present with a status.
    const xmppOptions = (user: string) => ({
      jid: `${user}@${xmpp.domain}`,
      password: `${user}-password`,
      host: xmpp.host,
      port: xmpp.port,
      trustedCertificate: xmpp.certificatePem,
    });
    const myXmpp = await create('xmpp', xmppOptions('me'));
    expect(
      (await me.call('POST', '/api/v1/users', { username: 'carol', password: 'carol-gateway-pw' })).status,
    ).toBe(201);
    const carolApi = await new Api(env.gw.url).login('carol', 'carol-gateway-pw');
    const carolXmpp = await create('xmpp', xmppOptions('carol'), carolApi);
    const add = (api: Api, account: string, address: string) =>
      api.call('POST', `/api/v1/accounts/${account}/contacts`, { address });
    expect((await add(me, myXmpp, `carol@${xmpp.domain}`)).status).toBeLessThan(300);
    expect((await add(carolApi, carolXmpp, `me@${xmpp.domain}`)).status).toBeLessThan(300);
    expect(
      (await carolApi.call('PUT', '/api/v1/presence', { state: 'busy', status: 'on a call' })).status,
    ).toBe(200);

    // Three contacts named carol, one per network.
    const all = await eventually(
      async () => {
        const list = ((await me.call('GET', '/api/v1/contacts')).json as Contact[]).filter((c) =>
          c.endpoints.some((e) => /carol/.test(e.address)),
        );
        return list.length === 3 && list;
      },
      'carol on IRC, Matrix and XMPP',
      30_000,
    );
    let merged = await me.call('POST', `/api/v1/contacts/${all[0]!.id}/merge`, { otherId: all[1]!.id });
    expect(merged.status).toBe(200);
    merged = await me.call('POST', `/api/v1/contacts/${merged.json.id}/merge`, { otherId: all[2]!.id });
    expect(merged.status).toBe(200);
    const person = merged.json as Contact;
    expect(person.endpoints.map((e) => e.network).sort()).toEqual(['irc', 'matrix', 'xmpp']);
    expect(person.endpoints.map((e) => e.address).sort()).toEqual(
      [
        expect.stringMatching(/^@carol:hs\.test$/),
        expect.stringMatching(/^carol!/),
        `carol@${xmpp.domain}`,
      ].sort(),
    );
    expect(
      ((await me.call('GET', '/api/v1/contacts')).json as Contact[]).filter((c) => c.id === person.id),
    ).toHaveLength(1);
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

    // Back on IRC, and on XMPP she goes available with a new status: the best presence (XMPP's) wins.
    carolIrc.send('AWAY');
    await carolApi.call('PUT', '/api/v1/presence', { state: 'available', status: 'free now' });
    const xmppFrame = await eventually(
      async () =>
        frames.find(
          (f) =>
            f.type === 'presence.changed' &&
            f.data.personId === person.id &&
            f.data.personPresence?.state === 'available' &&
            f.data.personPresence?.status === 'free now',
        ),
      'presence.changed for the person from XMPP',
      30_000,
    );
    expect(xmppFrame.data.personPresence.status).toBe('free now');
    ws.close();
  });
});
