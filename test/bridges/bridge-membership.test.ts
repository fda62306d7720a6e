import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import type { XmppClient } from '../../adapters/xmpp';
import { createLogger } from '../../src/common/logger';
import { loadConfig } from '../../src/config';
import { startGateway, type RunningGateway } from '../../src/main';
import { RemoteRoomId, TransactionId, type RemoteEvent } from '../../src/sdk';
import { RawIrcClient } from '../irc/raw-irc-client';
import {
  addAccount,
  BRIDGE_ADAPTERS,
  BRIDGE_QUEUE,
  ircMessages,
  ircRelayOptions,
  joinConversation,
  matrixCall,
  matrixRelayOptions,
  relayMessagesInMuc,
  relayMessagesOnMatrix,
  startBridgeServers,
  startXmppPeople,
  xmppRelayOptions,
  type BridgeServers,
  type XmppPeople,
} from '../support/bridge-env';
import { ADMIN_PASSWORD, Api, eventually } from '../support/gateway';
import type { InspircdServer } from '../support/inspircd';
import type { MatrixHomeserver, RegisteredUser } from '../support/matrix-homeserver';
import { freePort } from '../support/ports';
import type { ProsodyServer } from '../support/prosody';

/** Longer than a membership burst's quiet window (1 s): what would be announced has been by then. */
const QUIET_PERIOD_MS = 2500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type MemberEvent = Extract<RemoteEvent, { type: 'room.member' }>;

/**
 * The `relayMembership` bridge option between an IRC channel (InspIRCd), an XMPP MUC (prosody) and a Matrix
 * room (the test homeserver): live joins, parts (with the reason) and nick changes on one side are
 * announced once on the others; the listings a network sends when the gateway (re)joins (IRC NAMES, the
 * MUC's occupant presences, Matrix's initial and catch-up syncs) are not, so a restart announces nothing;
 * with the option off nothing is announced at all.
 */
describe('a bridge relaying membership', () => {
  let servers: BridgeServers<'mia' | 'max'>;
  let irc: InspircdServer;
  let xmpp: ProsodyServer;
  let hs: MatrixHomeserver;
  let mia: RegisteredUser;
  let max: RegisteredUser;
  let matrixRoom: string;
  let dir: string;
  let gw: RunningGateway | undefined;
  let me: Api;
  let ian: RawIrcClient;
  const actors: RawIrcClient[] = [];
  let people: XmppPeople<'x' | 'y'>;
  let xena: XmppClient;
  let yann: XmppClient;
  const muc = () => `members@${xmpp.mucDomain}`;
  const conv = { irc: '', xmpp: '', matrix: '' };

  const mx = (who: RegisteredUser, method: string, p: string, body?: object) =>
    matrixCall(hs, who, method, p, body);
  const room = () => encodeURIComponent(matrixRoom);
  let matrixNotices: string[] = [];
  /** The relay's notices in the Matrix room, as Mia sees them (read again on each call). */
  const readMatrixNotices = async () =>
    (matrixNotices = (await relayMessagesOnMatrix<{ body?: string }>(hs, mia, matrixRoom, 1000))
      .map((e) => e.content.body ?? '')
      .filter((t) => t.startsWith('* ')));
  const onMatrix = async (line: string) => (await readMatrixNotices()).includes(line);

  /** The gateway in this process on a data folder that survives a restart (unlike startTestGateway's). */
  async function start(): Promise<void> {
    const file = path.join(dir, 'switchboard.yaml');
    writeFileSync(
      file,
      stringify({
        server: { host: '127.0.0.1', port: await freePort() },
        dataDir: path.join(dir, 'data'),
        adapters: BRIDGE_ADAPTERS,
        queue: BRIDGE_QUEUE,
        log: { level: 'warn', format: 'json' },
      }),
    );
    const config = loadConfig({
      file,
      cwd: dir,
      env: { SWITCHBOARD_ADMIN_PASSWORD: ADMIN_PASSWORD },
      stdoutIsTTY: false,
    });
    gw = await startGateway(config, { logger: createLogger(config.log, {}, () => undefined) });
    me = await new Api(gw.url).login('admin', ADMIN_PASSWORD);
  }

  /** NOTICEs the relay wrote in the IRC channel, as Ian saw them. */
  const ircNotices = () =>
    ircMessages(ian)
      .filter((m) => m.nick === 'relay' && m.command === 'NOTICE' && m.target === '#members')
      .map((m) => m.text);
  /** Everything the relay said in the MUC, as Xena saw it. */
  const xmppRelayed = () => relayMessagesInMuc(people, 'x', muc()).map((e) => e.text);
  const xmppNotices = () => xmppRelayed().filter((t) => t.startsWith('* '));
  /** How often Xena saw the relay's occupant join the MUC. */
  const relayJoinsOnXmpp = () =>
    (people.host.eventsOf('x') as MemberEvent[]).filter(
      (e) => e.type === 'room.member' && e.userId === `${muc()}/relay` && e.membership === 'join',
    ).length;
  const relayJoinsOnIrc = () =>
    ian.lines.filter((l) => /^(?:@\S+ )?:relay!\S+ JOIN :?#members/.test(l)).length;
  const count = (list: string[], line: string) => list.filter((t) => t === line).length;

  async function ircActor(nick: string): Promise<RawIrcClient> {
    const c = await RawIrcClient.register(irc.host, irc.port, nick);
    actors.push(c);
    return c;
  }

  /** Both the gateway's accounts are in their rooms (after a start or a restart: the n-th time). */
  async function inRooms(n: number): Promise<void> {
    await eventually(async () => relayJoinsOnIrc() >= n, 'the relay in the IRC channel', 30_000);
    await eventually(async () => relayJoinsOnXmpp() >= n, 'the relay in the MUC', 30_000);
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sb-bridge-members-'));
    servers = await startBridgeServers({
      xmppUsers: ['xena', 'yann'],
      matrixUsers: { mia: 'mia', max: 'max' },
    });
    ({ irc, xmpp, hs } = servers);
    ({ mia, max } = servers.matrix);
    matrixRoom = (
      await mx(mia, 'POST', '/createRoom', {
        name: 'members',
        preset: 'public_chat',
        invite: ['@relay:hs.test'],
      })
    ).room_id as string;
    ian = await RawIrcClient.register(irc.host, irc.port, 'ian');
    ian.send('JOIN #members');
    people = await startXmppPeople(xmpp, { x: 'xena', y: 'yann' });
    xena = people.clients.x;
    yann = people.clients.y;
    await xena.joinRoom(`${muc()}/xena`);

    await start();
    conv.irc = await joinConversation(me, await addAccount(me, 'irc', ircRelayOptions(irc)), '#members');
    conv.xmpp = await joinConversation(
      me,
      await addAccount(me, 'xmpp', xmppRelayOptions(xmpp)),
      `${muc()}/relay`,
    );
    conv.matrix = await joinConversation(
      me,
      await addAccount(me, 'matrix', matrixRelayOptions(hs)),
      matrixRoom,
    );
    await inRooms(1);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([ian, ...actors].map((c) => c?.close()));
    await people?.stop();
    await gw?.close();
    await servers?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a relayMembership that is not a boolean', async () => {
    const r = await me.call('POST', '/api/v1/bridges', {
      conversations: [conv.irc, conv.xmpp, conv.matrix],
      options: { relayMembership: 'yes' },
    });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toContain('options.relayMembership');
  });

  it('announces joins, parts with their reason and nick changes once each on the other networks', async () => {
    const r = await me.call('POST', '/api/v1/bridges', {
      conversations: [conv.irc, conv.xmpp, conv.matrix],
      options: { relayMembership: true },
    });
    expect(r.status).toBe(201);

    const alice = await ircActor('alice');
    alice.send('JOIN #members');
    await eventually(async () => xmppNotices().includes('* alice joined #members (IRC)'), 'join on XMPP');
    alice.send('NICK alice_');
    await eventually(async () => xmppNotices().includes('* alice is now known as alice_'), 'nick on XMPP');
    alice.send('PART #members :see you');
    const part = '* alice_ left #members (IRC): see you';
    await eventually(async () => xmppNotices().includes(part), 'part on XMPP');

    await yann.joinRoom(`${muc()}/yann`);
    const joined = `* yann joined ${muc()} (XMPP)`;
    await eventually(async () => ircNotices().includes(joined), 'MUC join on IRC');
    await yann.leaveRoom(RemoteRoomId(muc()));
    const left = `* yann left ${muc()} (XMPP)`;
    await eventually(async () => ircNotices().includes(left), 'MUC leave on IRC');

    // Matrix: a join, a display-name change and a leave.
    await mx(max, 'POST', `/join/${room()}`, {});
    const mJoined = '* max joined members (Matrix)';
    await eventually(async () => ircNotices().includes(mJoined), 'Matrix join on IRC');
    await mx(max, 'PUT', `/profile/${encodeURIComponent(max.userId)}/displayname`, { displayname: 'Maxi' });
    const mRenamed = '* max is now known as Maxi';
    await eventually(async () => ircNotices().includes(mRenamed), 'Matrix rename on IRC');
    await mx(max, 'POST', `/rooms/${room()}/leave`, { reason: 'lunch' });
    const mLeft = '* Maxi left members (Matrix): lunch';
    await eventually(async () => xmppNotices().includes(mLeft), 'Matrix leave on XMPP');
    await eventually(async () => onMatrix(left), 'MUC leave on Matrix');

    // Once each, and nothing else (the gateway's own joins, Ian, Xena and Mia already there: never).
    await sleep(QUIET_PERIOD_MS);
    const fromIrc = ['* alice joined #members (IRC)', '* alice is now known as alice_', part];
    const fromMatrix = [mJoined, mRenamed, mLeft];
    expect(xmppNotices()).toEqual([...fromIrc, ...fromMatrix]);
    expect(ircNotices()).toEqual([joined, left, ...fromMatrix]);
    expect(await readMatrixNotices()).toEqual([...fromIrc, joined, left]);
    expect(count(xmppRelayed(), part)).toBe(1);
  });

  it('announces nothing when the gateway restarts and rejoins, and live changes after it again', async () => {
    const before = {
      irc: ircNotices().length,
      xmpp: xmppNotices().length,
      matrix: (await readMatrixNotices()).length,
    };
    // Someone is in each room when the gateway comes back: they are in the listings it receives.
    const bob = await ircActor('bob');
    bob.send('JOIN #members');
    await eventually(async () => xmppNotices().includes('* bob joined #members (IRC)'), 'bob on XMPP');
    await yann.joinRoom(`${muc()}/yann`);
    await eventually(
      async () => count(ircNotices(), `* yann joined ${muc()} (XMPP)`) === 2,
      'yann again on IRC',
    );

    await gw!.close();
    gw = undefined;
    await eventually(
      async () => (await readMatrixNotices()).length === before.matrix + 2,
      'bob and yann on Matrix',
    );
    const seen = { irc: ircNotices().length, xmpp: xmppNotices().length, matrix: matrixNotices.length };
    expect(seen).toEqual({ irc: before.irc + 1, xmpp: before.xmpp + 1, matrix: before.matrix + 2 });
    await start();
    await inRooms(2);

    // A live change after the rejoin is announced; the listings before it were not.
    const carol = await ircActor('carol');
    carol.send('JOIN #members');
    await eventually(async () => xmppNotices().includes('* carol joined #members (IRC)'), 'carol on XMPP');
    await xena.send({ roomId: RemoteRoomId(muc()), transactionId: TransactionId('x-1'), text: 'still here' });
    await eventually(
      async () => ian.lines.some((l) => / PRIVMSG #members :<xena> still here$/.test(l)),
      'a message after the restart',
    );
    await eventually(async () => onMatrix('* carol joined #members (IRC)'), 'carol on Matrix');
    await sleep(QUIET_PERIOD_MS);
    expect(xmppNotices().slice(seen.xmpp)).toEqual(['* carol joined #members (IRC)']);
    expect(ircNotices().slice(seen.irc)).toEqual([]);
    expect((await readMatrixNotices()).slice(seen.matrix)).toEqual(['* carol joined #members (IRC)']);
  });

  it('announces nothing with the option off', async () => {
    const bridges = (await me.call('GET', '/api/v1/bridges')).json as { id: string }[];
    for (const b of bridges) expect((await me.call('DELETE', `/api/v1/bridges/${b.id}`)).status).toBe(204);
    const r = await me.call('POST', '/api/v1/bridges', {
      conversations: [conv.irc, conv.xmpp, conv.matrix],
    });
    expect(r.status).toBe(201);
    const seen = {
      irc: ircNotices().length,
      xmpp: xmppNotices().length,
      matrix: (await readMatrixNotices()).length,
    };

    const dave = await ircActor('dave');
    dave.send('JOIN #members');
    dave.send('NICK dave_');
    dave.send('PART #members :gone');
    await yann.leaveRoom(RemoteRoomId(muc()));
    await mx(max, 'POST', `/join/${room()}`, {});
    await mx(max, 'PUT', `/profile/${encodeURIComponent(max.userId)}/displayname`, { displayname: 'max' });
    await eventually(
      async () => ian.lines.some((l) => / PART #members :gone$/.test(l)),
      'dave gone (seen on IRC)',
    );
    // The bridge itself still relays: messages said after the changes arrive, and nothing about them.
    ian.send('PRIVMSG #members :after the changes');
    await eventually(async () => xmppRelayed().includes('ian: after the changes'), 'a relay to XMPP');
    await xena.send({ roomId: RemoteRoomId(muc()), transactionId: TransactionId('x-2'), text: 'me too' });
    await eventually(
      async () => ian.lines.some((l) => / PRIVMSG #members :<xena> me too$/.test(l)),
      'a relay to IRC',
    );
    await eventually(
      async () =>
        (
          (await mx(mia, 'GET', `/rooms/${room()}/messages?dir=b&limit=20`)).chunk as {
            content: { body?: string };
          }[]
        ).some((e) => e.content.body === 'ian: after the changes'),
      'a relay to Matrix',
    );
    await sleep(QUIET_PERIOD_MS);
    expect(xmppNotices().slice(seen.xmpp)).toEqual([]);
    expect(ircNotices().slice(seen.irc)).toEqual([]);
    expect((await readMatrixNotices()).slice(seen.matrix)).toEqual([]);
  });
});
