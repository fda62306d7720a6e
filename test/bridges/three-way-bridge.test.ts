import { RemoteMessageId, RemoteRoomId, TransactionId } from '../../src/sdk';
import type { XmppClient } from '../../adapters/xmpp';
import { RawIrcClient } from '../irc/raw-irc-client';
import {
  addRelayAccounts,
  ircMessages,
  joinConversation,
  matrixCall,
  matrixRoomEvents,
  matrixSend,
  relayMessagesInMuc,
  relayMessagesOnMatrix,
  startBridgeGateway,
  startBridgeServers,
  startXmppPeople,
  type BridgeServers,
  type XmppPeople,
} from '../support/bridge-env';
import { Api, eventually, type startTestGateway } from '../support/gateway';
import type { InspircdServer } from '../support/inspircd';
import type { MatrixHomeserver, RegisteredUser } from '../support/matrix-homeserver';
import type { ProsodyServer } from '../support/prosody';

const PER_NETWORK = 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A three-way bridge between an IRC channel (InspIRCd), an XMPP MUC (prosody) and a Matrix room (the test
 * homeserver), through one gateway user's account on each network. The people are plain clients of each
 * server: a raw IRC client, two XMPP clients (the adapter library run as a client, recording what it
 * receives) and a Matrix user speaking the client-server API directly.
 */
describe('a three-way bridge', () => {
  let servers: BridgeServers<'mia'>;
  let irc: InspircdServer;
  let xmpp: ProsodyServer;
  let hs: MatrixHomeserver;
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let me: Api;
  let ian: RawIrcClient;
  let otto: RawIrcClient;
  let people: XmppPeople<'x' | 'y'>;
  let xena: XmppClient;
  let yann: XmppClient;
  let mia: RegisteredUser;
  let matrixRoom: string;
  const muc = () => `bridge@${xmpp.mucDomain}`;
  const conv: Record<'irc' | 'xmpp' | 'matrix' | 'other', string> = {
    irc: '',
    xmpp: '',
    matrix: '',
    other: '',
  };
  let bridgeId = '';

  const mx = (method: string, p: string, body?: object) => matrixCall(hs, mia, method, p, body);
  let txn = 0;
  const miaSay = async (body: string, extra: object = {}) =>
    matrixSend(hs, mia, matrixRoom, `t${++txn}`, { msgtype: 'm.text', body, ...extra });
  /** Every event in the Matrix room, oldest first, as Mia sees them. */
  const matrixEvents = () => matrixRoomEvents<Record<string, any>>(hs, mia, matrixRoom, 5000);
  const relayedOnMatrix = () => relayMessagesOnMatrix<Record<string, any>>(hs, mia, matrixRoom, 5000);

  const ircLines = (c: RawIrcClient) =>
    ircMessages(c)
      .filter((m) => m.nick === 'relay' && m.command === 'PRIVMSG' && m.target.startsWith('#'))
      .map((m) => ({ channel: m.target, text: m.text }));
  const xmppRelayed = (who: string) => relayMessagesInMuc(people, who, muc());

  beforeAll(async () => {
    servers = await startBridgeServers({ xmppUsers: ['xena', 'yann'], matrixUsers: { mia: 'mia' } });
    ({ irc, xmpp, hs } = servers);
    mia = servers.matrix.mia;
    ({ env, me } = await startBridgeGateway());

    // The people on each network.
    ian = await RawIrcClient.register(irc.host, irc.port, 'ian');
    ian.send('JOIN #bridge');
    otto = await RawIrcClient.register(irc.host, irc.port, 'otto');
    otto.send('JOIN #other');
    people = await startXmppPeople(xmpp, { x: 'xena', y: 'yann' });
    xena = people.clients.x;
    yann = people.clients.y;
    await xena.joinRoom(`${muc()}/xena`);
    await yann.joinRoom(`${muc()}/yann`);
    matrixRoom = (await mx('POST', '/createRoom', { name: 'bridge', invite: ['@relay:hs.test'] }))
      .room_id as string;

    // The gateway user's account on each, in each room.
    const accounts = await addRelayAccounts(me, servers);
    conv.irc = await joinConversation(me, accounts.irc, '#bridge');
    conv.other = await joinConversation(me, accounts.irc, '#other');
    conv.xmpp = await joinConversation(me, accounts.xmpp, `${muc()}/relay`);
    conv.matrix = await joinConversation(me, accounts.matrix, matrixRoom);
    await ian.waitFor(/:relay!\S+ JOIN :?#bridge/);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([ian, otto].map((c) => c?.close()));
    await people?.stop();
    await env?.stop();
    await servers?.stop();
  });

  it('refuses bad bridges with a clear error, and creates one for the owner', async () => {
    const few = await me.call('POST', '/api/v1/bridges', { conversations: [conv.irc] });
    expect(few.status).toBe(400);
    const twice = await me.call('POST', '/api/v1/bridges', { conversations: [conv.irc, conv.irc] });
    expect(twice.status).toBe(400);
    expect(twice.json.error.message).toMatch(/twice/);
    const badOption = await me.call('POST', '/api/v1/bridges', {
      conversations: [conv.irc, conv.xmpp],
      options: { templates: { irc: 42 } },
    });
    expect(badOption.status).toBe(400);
    expect(badOption.json.error.message).toContain('options.templates.irc');
    const tooShort = await me.call('POST', '/api/v1/bridges', {
      conversations: [conv.irc, conv.xmpp],
      options: { maxLength: 5 },
    });
    expect(tooShort.status).toBe(400);
    expect(tooShort.json.error.message).toContain('options.maxLength');

    // Another user can neither bridge the owner's conversations nor see or remove the bridge.
    expect(
      (await me.call('POST', '/api/v1/users', { username: 'eve', password: 'eve-password' })).status,
    ).toBe(201);
    const eve = await new Api(env.gw.url).login('eve', 'eve-password');
    expect(
      (await eve.call('POST', '/api/v1/bridges', { conversations: [conv.irc, conv.matrix] })).status,
    ).toBe(404);

    const r = await me.call('POST', '/api/v1/bridges', {
      name: 'project',
      conversations: [conv.irc, conv.xmpp, conv.matrix],
    });
    expect(r.status).toBe(201);
    bridgeId = r.json.id;
    expect(r.json.conversations).toEqual([conv.irc, conv.xmpp, conv.matrix]);
    expect((await eve.call('GET', `/api/v1/bridges/${bridgeId}`)).status).toBe(404);
    expect((await eve.call('DELETE', `/api/v1/bridges/${bridgeId}`)).status).toBe(404);
    expect((await eve.call('GET', '/api/v1/bridges')).json).toEqual([]);
    expect((await me.call('GET', '/api/v1/bridges')).json.map((b: { id: string }) => b.id)).toEqual([
      bridgeId,
    ]);
  });

  it('relays 300 interleaved messages to the other two networks exactly once, in order, attributed', async () => {
    for (let i = 0; i < PER_NETWORK; i++) {
      ian.send(`PRIVMSG #bridge :irc ${i}`);
      await xena.send({
        roomId: RemoteRoomId(muc()),
        transactionId: TransactionId(`x-${i}`),
        text: `xmpp ${i}`,
      });
      await miaSay(`matrix ${i}`);
    }
    const want = (prefix: string) => Array.from({ length: PER_NETWORK }, (_, i) => `${prefix} ${i}`);

    // IRC: Ian sees Xena's and Mia's messages as <nick> text, once each, in each sender's order.
    await eventually(async () => ircLines(ian).length >= 2 * PER_NETWORK, 'all relays on IRC', 90_000);
    const onIrc = ircLines(ian)
      .filter((l) => l.channel === '#bridge')
      .map((l) => l.text);
    expect(onIrc.filter((t) => t.startsWith('<xena> ')).map((t) => t.slice(7))).toEqual(want('xmpp'));
    expect(onIrc.filter((t) => t.startsWith('<mia> ')).map((t) => t.slice(6))).toEqual(want('matrix'));
    expect(onIrc).toHaveLength(2 * PER_NETWORK);

    // XMPP: Yann sees Ian's and Mia's messages from the relay's nick as "nick: text".
    await eventually(async () => xmppRelayed('y').length >= 2 * PER_NETWORK, 'all relays on XMPP', 90_000);
    const onXmpp = xmppRelayed('y').map((e) => e.text);
    expect(onXmpp.filter((t) => t.startsWith('ian: ')).map((t) => t.slice(5))).toEqual(want('irc'));
    expect(onXmpp.filter((t) => t.startsWith('mia: ')).map((t) => t.slice(5))).toEqual(want('matrix'));
    expect(onXmpp).toHaveLength(2 * PER_NETWORK);

    // Matrix: the relay's events, with the sender's name in bold in formatted_body.
    const onMatrix = await eventually(
      async () => {
        const list = await relayedOnMatrix();
        return list.length >= 2 * PER_NETWORK && list;
      },
      'all relays on Matrix',
      90_000,
    );
    const bodies = onMatrix.map((e) => String(e.content.body));
    expect(bodies.filter((t) => t.startsWith('ian: ')).map((t) => t.slice(5))).toEqual(want('irc'));
    expect(bodies.filter((t) => t.startsWith('xena: ')).map((t) => t.slice(6))).toEqual(want('xmpp'));
    expect(onMatrix).toHaveLength(2 * PER_NETWORK);
    expect(onMatrix[0]!.content.formatted_body).toMatch(/^<strong>(ian|xena)<\/strong>: /);
  });

  it("reports each copy's time across the gateway in /metrics, per target network", async () => {
    const text = (await me.call('GET', '/metrics')).text;
    for (const adapter of ['irc', 'xmpp', 'matrix']) {
      const value = (series: string) =>
        Number(
          new RegExp(
            `^switchboard_relay_latency_seconds_${series}\\{adapter="${adapter}"\\} (\\S+)$`,
            'm',
          ).exec(text)?.[1],
        );
      // Every copy of the 300 was written once, and each took some time, far less than a minute on average.
      expect(value('count')).toBeGreaterThanOrEqual(2 * PER_NETWORK);
      expect(value('sum')).toBeGreaterThan(0);
      expect(value('sum') / value('count')).toBeLessThan(60);
    }
  });

  it('carries a Matrix edit natively to XMPP and as a correction line to IRC, then the deletion', async () => {
    const original = await miaSay('the meeting is at 3');
    const relayOnXmpp = await eventually(
      async () => xmppRelayed('y').find((e) => e.text === 'mia: the meeting is at 3'),
      'the relay on XMPP',
    );
    await ian.waitFor(/PRIVMSG #bridge :<mia> the meeting is at 3$/);

    await miaSay('* the meeting is at 4', {
      'm.new_content': { msgtype: 'm.text', body: 'the meeting is at 4' },
      'm.relates_to': { rel_type: 'm.replace', event_id: original },
    });
    // XMPP: a XEP-0308 correction of the relay's own message.
    const edit = await eventually(
      async () =>
        people.host
          .eventsOf('y')
          .find(
            (e) =>
              e.type === 'message.edit' &&
              e.messageId === relayOnXmpp.messageId &&
              e.text === 'mia: the meeting is at 4',
          ),
      'the correction on XMPP',
    );
    expect(edit).toBeDefined();
    // IRC cannot edit: a readable correction.
    await ian.waitFor(/PRIVMSG #bridge :\* correction: <mia> the meeting is at 4$/);

    await mx(
      'PUT',
      `/rooms/${encodeURIComponent(matrixRoom)}/redact/${encodeURIComponent(original)}/r${++txn}`,
      {},
    );
    await eventually(
      async () =>
        people.host
          .eventsOf('y')
          .find((e) => e.type === 'message.redact' && e.messageId === relayOnXmpp.messageId),
      'the retraction on XMPP',
    );
    await ian.waitFor(/PRIVMSG #bridge :\* mia deleted a message$/);
  });

  it("refuses an XMPP correction naming another occupant's message, and relays the sender's own", async () => {
    await yann.send({
      roomId: RemoteRoomId(muc()),
      transactionId: TransactionId('yann-1'),
      text: 'lunch at noon',
    });
    await ian.waitFor(/PRIVMSG #bridge :<yann> lunch at noon$/);
    // Xena names Yann's message id in a correction (XMPP ids are chosen by clients).
    await xena.editMessage(
      RemoteRoomId(muc()),
      RemoteMessageId('yann-1'),
      'lunch is cancelled',
      undefined,
      TransactionId('xena-forged'),
    );
    // Yann's own correction afterwards: relayed. Relays of one conversation keep their order, so the forged
    // one, had it been relayed, would be on IRC before this.
    await yann.editMessage(
      RemoteRoomId(muc()),
      RemoteMessageId('yann-1'),
      'lunch at one',
      undefined,
      TransactionId('yann-fix'),
    );
    await ian.waitFor(/PRIVMSG #bridge :\* correction: <yann> lunch at one$/);
    const matrixEdits = async () =>
      (await matrixEvents()).filter(
        (e) => e.sender === '@relay:hs.test' && e.content['m.relates_to']?.rel_type === 'm.replace',
      );
    const fix = await eventually(
      async () =>
        (await matrixEdits()).find((e) => e.content['m.new_content']?.body === 'yann: lunch at one'),
      "yann's correction on Matrix",
    );
    // The edit keeps the copy's formatting: the sender's name in bold, as in the message it replaces.
    expect(fix.content['m.new_content']?.formatted_body).toBe('<strong>yann</strong>: lunch at one');
    expect(fix.content.formatted_body).toBe('* <strong>yann</strong>: lunch at one');
    expect(ircLines(ian).some((l) => l.text.includes('cancelled'))).toBe(false);
    expect(
      (await matrixEdits()).some((e) => String(e.content['m.new_content']?.body).includes('cancelled')),
    ).toBe(false);
  });

  it('makes no loop with two bridges sharing one conversation (counted after 5 s of quiet)', async () => {
    const second = await me.call('POST', '/api/v1/bridges', { conversations: [conv.matrix, conv.other] });
    expect(second.status).toBe(201);
    const before = {
      irc: ircLines(ian).length,
      other: ircLines(otto).length,
      xmpp: xmppRelayed('y').length,
      matrix: (await relayedOnMatrix()).length,
    };
    await miaSay('to everyone');
    otto.send('PRIVMSG #other :from the other channel');
    await ian.waitFor(/PRIVMSG #bridge :<mia> to everyone$/);
    await otto.waitFor(/PRIVMSG #other :<mia> to everyone$/);
    await eventually(
      async () => (await relayedOnMatrix()).some((e) => e.content.body === 'otto: from the other channel'),
      "otto's message on Matrix",
    );
    await sleep(5000);
    // Mia's message reached each of the three other conversations once; Otto's only the Matrix room
    // (bridges do not chain: #other is not linked to #bridge or the MUC).
    expect(ircLines(ian).length - before.irc).toBe(1);
    expect(ircLines(otto).length - before.other).toBe(1);
    expect(xmppRelayed('y').length - before.xmpp).toBe(1);
    expect((await relayedOnMatrix()).length - before.matrix).toBe(1);
    expect(ircLines(ian).some((l) => l.text.includes('other channel'))).toBe(false);
  });

  it('cuts a relay longer than the target allows, and says so', async () => {
    const before = (ian as unknown as { lines: string[] }).lines.length;
    await miaSay(`long ${'y'.repeat(5000)}`);
    await ian.waitFor(/PRIVMSG #bridge :.*\[\d+ more characters not relayed\]$/);
    // The default 1,200 characters on IRC: a few lines, not the 10+ the whole paste would take.
    const lines = (ian as unknown as { lines: string[] }).lines
      .slice(before)
      .filter((l) => /PRIVMSG #bridge :/.test(l));
    expect(lines.length).toBeLessThanOrEqual(4);
    expect(lines[0]).toMatch(/PRIVMSG #bridge :<mia> long yyy/);
  });

  it('stops relaying when the bridge is removed', async () => {
    expect((await me.call('DELETE', `/api/v1/bridges/${bridgeId}`)).status).toBe(204);
    const before = ircLines(ian).length;
    await miaSay('after the bridge');
    await otto.waitFor(/PRIVMSG #other :<mia> after the bridge$/); // the second bridge still relays
    await sleep(1000);
    expect(ircLines(ian).length).toBe(before);
  });
});
