import { rmSync } from 'node:fs';
import { RemoteRoomId, TransactionId } from '../../src/sdk';
import type { XmppClient } from '../../adapters/xmpp';
import { createLogger } from '../../src/common/logger';
import { startGateway, type RunningGateway } from '../../src/main';
import { RawIrcClient } from '../irc/raw-irc-client';
import {
  accountConnected,
  addRelayAccounts,
  joinConversation,
  matrixCall,
  matrixSend,
  relayMessagesOnMatrix,
  startBridgeGateway,
  startBridgeServers,
  startXmppPeople,
  type BridgeServers,
  type XmppPeople,
} from '../support/bridge-env';
import { ADMIN_PASSWORD, Api, eventually, type startTestGateway } from '../support/gateway';
import type { InspircdServer } from '../support/inspircd';
import type { MatrixHomeserver, RegisteredUser } from '../support/matrix-homeserver';
import type { ProsodyServer } from '../support/prosody';

/**
 * Mentions across a bridge of an IRC channel (InspIRCd), an XMPP MUC (prosody) and a Matrix room (the
 * test homeserver). The gateway relays through its own account, so a Matrix user is on IRC only a name in
 * `<mia> …`; when an IRC or XMPP user addresses her by that name, her Matrix client must be told (a pill
 * and Matrix v1.7 `m.mentions`), and a Matrix pill naming an IRC user must reach IRC as his nick.
 */
describe('mentions across a bridge', () => {
  let servers: BridgeServers<'mia'>;
  let irc: InspircdServer;
  let xmpp: ProsodyServer;
  let hs: MatrixHomeserver;
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let gw: RunningGateway | undefined;
  let me: Api;
  let ian: RawIrcClient;
  let people: XmppPeople<'x'>;
  let xena: XmppClient;
  let mia: RegisteredUser;
  let matrixRoom: string;
  const muc = () => `mentions@${xmpp.mucDomain}`;
  const conv = { irc: '', xmpp: '', matrix: '' };

  const mx = (method: string, p: string, body?: object) => matrixCall(hs, mia, method, p, body);
  let txn = 0;
  const miaSay = async (body: string, extra: object = {}) =>
    matrixSend(hs, mia, matrixRoom, `t${++txn}`, { msgtype: 'm.text', body, ...extra });
  type Content = { body?: string; formatted_body?: string; 'm.mentions'?: { user_ids?: string[] } };
  /** The relay's event on Matrix whose body is `body`, once it is there. */
  const relayedOnMatrix = (body: string) =>
    eventually(
      async () =>
        (await relayMessagesOnMatrix<Content>(hs, mia, matrixRoom, 200)).find((e) => e.content.body === body)
          ?.content,
      `"${body}" on Matrix`,
    );
  const pill = (userId: string, label: string) => `<a href="https://matrix.to/#/${userId}">${label}</a>`;

  beforeAll(async () => {
    servers = await startBridgeServers({ xmppUsers: ['xena'], matrixUsers: { mia: 'Mia' } });
    ({ irc, xmpp, hs } = servers);
    mia = servers.matrix.mia;
    ({ env, me } = await startBridgeGateway());
    gw = env.gw;

    ian = await RawIrcClient.register(irc.host, irc.port, 'Ian');
    ian.send('JOIN #mentions');
    people = await startXmppPeople(xmpp, { x: 'xena' });
    xena = people.clients.x;
    await xena.joinRoom(`${muc()}/xena`);
    matrixRoom = (await mx('POST', '/createRoom', { name: 'mentions', invite: ['@relay:hs.test'] }))
      .room_id as string;

    const accounts = await addRelayAccounts(me, servers);
    conv.irc = await joinConversation(me, accounts.irc, '#mentions');
    conv.xmpp = await joinConversation(me, accounts.xmpp, `${muc()}/relay`);
    conv.matrix = await joinConversation(me, accounts.matrix, matrixRoom);
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
    await servers?.stop();
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
      await accountConnected(me, a.id);
    await ian.waitFor(/:relay!\S+ JOIN :?#mentions/, 30_000, from);
    ian.send('PRIVMSG #mentions :Mia, welcome back');
    const c = await relayedOnMatrix('Ian: Mia, welcome back');
    expect(c['m.mentions']).toEqual({ user_ids: ['@mia:hs.test'] });
  });
});
