import { rmSync } from 'node:fs';
import path from 'node:path';
import { RemoteRoomId, TransactionId } from '../../src/sdk';
import type { XmppClient } from '../../adapters/xmpp';
import { createLogger } from '../../src/common/logger';
import { startGateway, type RunningGateway } from '../../src/main';
import { RawIrcClient } from '../irc/raw-irc-client';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../support/gateway';
import { startInspircd, type InspircdServer } from '../support/inspircd';
import {
  startMatrixHomeserver,
  type MatrixHomeserver,
  type RegisteredUser,
} from '../support/matrix-homeserver';
import { startProsody, type ProsodyServer } from '../support/prosody';
import { accountOptions, connectedClient, startXmppGateway } from '../xmpp/xmpp-harness';

const root = path.resolve(__dirname, '../..');

/**
 * Mentions across a bridge of an IRC channel (InspIRCd), an XMPP MUC (prosody) and a Matrix room (the
 * test homeserver). The gateway relays through its own account, so a Matrix user is on IRC only a name in
 * `<mia> …`; when an IRC or XMPP user addresses her by that name, her Matrix client must be told (a pill
 * and Matrix v1.7 `m.mentions`), and a Matrix pill naming an IRC user must reach IRC as his nick.
 */
describe('mentions across a bridge', () => {
  let irc: InspircdServer;
  let xmpp: ProsodyServer;
  let hs: MatrixHomeserver;
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let gw: RunningGateway | undefined;
  let me: Api;
  let ian: RawIrcClient;
  let people: Awaited<ReturnType<typeof startXmppGateway>>;
  let xena: XmppClient;
  let mia: RegisteredUser;
  let matrixRoom: string;
  const muc = () => `mentions@${xmpp.mucDomain}`;
  const conv = { irc: '', xmpp: '', matrix: '' };

  const mx = async (method: string, p: string, body?: object) => {
    const res = await fetch(`${hs.url}/_matrix/client/v3${p}`, {
      method,
      headers: { authorization: `Bearer ${mia.accessToken}`, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (res.status !== 200) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  let txn = 0;
  const miaSay = async (body: string, extra: object = {}) =>
    mx('PUT', `/rooms/${encodeURIComponent(matrixRoom)}/send/m.room.message/t${++txn}`, {
      msgtype: 'm.text',
      body,
      ...extra,
    });
  type Content = { body?: string; formatted_body?: string; 'm.mentions'?: { user_ids?: string[] } };
  /** The relay's event on Matrix whose body is `body`, once it is there. */
  const relayedOnMatrix = (body: string) =>
    eventually(async () => {
      const chunk = (await mx('GET', `/rooms/${encodeURIComponent(matrixRoom)}/messages?dir=b&limit=200`))
        .chunk as { type: string; sender: string; content: Content }[];
      return chunk.find(
        (e) => e.type === 'm.room.message' && e.sender === '@relay:hs.test' && e.content.body === body,
      )?.content;
    }, `"${body}" on Matrix`);
  const pill = (userId: string, label: string) => `<a href="https://matrix.to/#/${userId}">${label}</a>`;

  async function addAccount(api: Api, adapter: string, options: object): Promise<string> {
    const r = await api.call('POST', '/api/v1/accounts', { adapter, options });
    expect(r.status).toBe(201);
    await connected(api, r.json.id as string);
    return r.json.id as string;
  }
  const connected = (api: Api, id: string) =>
    eventually(
      async () => (await api.call('GET', `/api/v1/accounts/${id}`)).json.state === 'connected',
      `account ${id} connected`,
      30_000,
    );
  async function join(accountId: string, address: string): Promise<string> {
    const r = await me.call('POST', '/api/v1/conversations', { accountId, address });
    expect(r.status).toBe(201);
    return r.json.id as string;
  }

  beforeAll(async () => {
    [irc, xmpp, hs] = await Promise.all([
      startInspircd(),
      startProsody(),
      startMatrixHomeserver({ serverName: 'hs.test' }),
    ]);
    await Promise.all(['relay', 'xena'].map((u) => xmpp.registerUser(u, `${u}-password`)));
    await hs.registerUser('relay', 'relay-password');
    mia = await hs.registerUser('mia', 'mia-password', { displayname: 'Mia' });
    env = await startTestGateway({
      adapters: [
        { id: 'irc', path: path.join(root, 'adapters/irc') },
        { id: 'xmpp', path: path.join(root, 'adapters/xmpp') },
        { id: 'matrix', path: path.join(root, 'adapters/matrix') },
      ],
      queue: { backoffBaseMs: 50, backoffMaxMs: 1000, concurrency: 8 },
    });
    gw = env.gw;
    me = await new Api(gw.url).login('admin', ADMIN_PASSWORD);

    ian = await RawIrcClient.register(irc.host, irc.port, 'Ian');
    ian.send('JOIN #mentions');
    people = await startXmppGateway();
    await people.supervisor.start({
      accountId: 'x',
      adapterId: 'xmpp',
      options: accountOptions(xmpp, 'xena', 'xena-password'),
    });
    xena = await connectedClient(people.supervisor, 'x');
    await xena.joinRoom(`${muc()}/xena`);
    matrixRoom = (await mx('POST', '/createRoom', { name: 'mentions', invite: ['@relay:hs.test'] }))
      .room_id as string;

    const ircAccount = await addAccount(me, 'irc', {
      host: irc.host,
      port: irc.port,
      tls: false,
      nick: 'relay',
      floodBurst: 100,
      floodIntervalMs: 1,
    });
    const xmppAccount = await addAccount(me, 'xmpp', accountOptions(xmpp, 'relay', 'relay-password'));
    const matrixAccount = await addAccount(me, 'matrix', {
      homeserverUrl: hs.url,
      userId: '@relay:hs.test',
      password: 'relay-password',
      syncTimeoutMs: 1000,
    });
    conv.irc = await join(ircAccount, '#mentions');
    conv.xmpp = await join(xmppAccount, `${muc()}/relay`);
    conv.matrix = await join(matrixAccount, matrixRoom);
    await ian.waitFor(/:relay!\S+ JOIN :?#mentions/);
    const bridge = await me.call('POST', '/api/v1/bridges', {
      conversations: [conv.irc, conv.xmpp, conv.matrix],
    });
    expect(bridge.status).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await ian?.close();
    await people?.stop();
    await gw?.close();
    if (env) rmSync(env.dir, { recursive: true, force: true });
    await Promise.all([irc?.stop(), xmpp?.stop(), hs?.stop()]);
  });

  it('turns "Mia: …" from IRC into a pill with m.mentions once Mia has spoken in the Matrix room', async () => {
    // Before Mia speaks she is nobody the bridge has seen: the name stays text.
    ian.send('PRIVMSG #mentions :mia: are you new here?');
    const before = await relayedOnMatrix('Ian: mia: are you new here?');
    expect(before['m.mentions']).toBeUndefined();
    expect(before.formatted_body ?? '').not.toContain('matrix.to');

    await miaSay('hello from matrix');
    await ian.waitFor(/PRIVMSG #mentions :<Mia> hello from matrix$/);
    // Addressed the IRC way, in another case: a pill to her id, and her id in m.mentions.
    ian.send('PRIVMSG #mentions :mia: ping, see https://x.example/mia: (not this one)');
    const c = await relayedOnMatrix('Ian: Mia: ping, see https://x.example/mia: (not this one)');
    expect(c.formatted_body).toBe(
      `<strong>Ian</strong>: ${pill('@mia:hs.test', 'Mia')}: ping, see https://x.example/mia: (not this one)`,
    );
    expect(c['m.mentions']).toEqual({ user_ids: ['@mia:hs.test'] });
  });

  it('does the same for "@Mia" from XMPP', async () => {
    await xena.send({
      roomId: RemoteRoomId(muc()),
      transactionId: TransactionId('x-1'),
      text: 'are you there @Mia?',
    });
    const c = await relayedOnMatrix('xena: are you there Mia?');
    expect(c.formatted_body).toBe(`<strong>xena</strong>: are you there ${pill('@mia:hs.test', 'Mia')}?`);
    expect(c['m.mentions']).toEqual({ user_ids: ['@mia:hs.test'] });
  });

  it('writes a Matrix pill naming an IRC user as his IRC nick on IRC (and the name on XMPP)', async () => {
    // Ian has spoken in #mentions. Mia's client pilled the relay account, labelled as she saw him.
    await miaSay('@ian: pong', {
      format: 'org.matrix.custom.html',
      formatted_body: `${pill('@relay:hs.test', '@ian')}: pong`,
    });
    await ian.waitFor(/PRIVMSG #mentions :<Mia> Ian: pong$/);
    await eventually(
      async () =>
        people.host
          .eventsOf('x')
          .some((e) => e.type === 'message' && e.roomId === muc() && e.text === 'Mia: Ian: pong'),
      'the relay on XMPP',
    );
  });

  it('still knows who spoke where after a restart (the names come from the stored messages)', async () => {
    const from = ian.lines.length;
    await gw!.close();
    gw = undefined;
    gw = await startGateway(env.config, { logger: createLogger({ ...env.config.log, level: 'error' }) });
    me = await new Api(gw.url).login('admin', ADMIN_PASSWORD);
    for (const a of (await me.call('GET', '/api/v1/accounts')).json as { id: string }[])
      await connected(me, a.id);
    await ian.waitFor(/:relay!\S+ JOIN :?#mentions/, 30_000, from);
    ian.send('PRIVMSG #mentions :Mia, welcome back');
    const c = await relayedOnMatrix('Ian: Mia, welcome back');
    expect(c['m.mentions']).toEqual({ user_ids: ['@mia:hs.test'] });
  });
});
