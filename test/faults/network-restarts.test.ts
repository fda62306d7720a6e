import path from 'node:path';
import WebSocket from 'ws';
import { RemoteRoomId, TransactionId } from '@switchboard/sdk';
import { AccountsService } from '../../src/accounts/accounts.service';
import type { ReconnectPolicy } from '../../src/registry/reconnect-backoff';
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
import { isOut } from './fault-helpers';
import { matrixCall } from '../support/bridge-env';

const root = path.resolve(__dirname, '../..');
const DOWN_MS = 10_000;
const PER_NETWORK = 5;

interface StateFrame {
  type: string;
  data: { accountId: string; state: string };
}

/**
 * Each network server (InspIRCd, prosody, the Matrix test homeserver) is stopped for 10 s and started
 * again, all three at once under one gateway. Each account must report `transient_disconnect`, then
 * `connected` (as account.state events on the WebSocket), and the messages sent through the API while its
 * server was down must arrive on the server once each, in order, after it is back. The observers are
 * outside the gateway: a raw IRC client (the channel replays its history, m_chanhistory), bob's own XMPP
 * client (offline storage / archive), and the homeserver's room timeline read with bob's token.
 */
describe('network servers stopped for 10 s and restarted', () => {
  let irc: InspircdServer;
  let xmpp: ProsodyServer;
  let hs: MatrixHomeserver;
  let bobXmpp: Awaited<ReturnType<typeof startXmppGateway>>;
  let bobMatrix: RegisteredUser;
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let ws: WebSocket | undefined;
  const watchers: RawIrcClient[] = [];

  beforeAll(async () => {
    [irc, xmpp, hs] = await Promise.all([
      startInspircd({ channelHistory: true }),
      startProsody(),
      startMatrixHomeserver({ serverName: 'hs.test' }),
    ]);
    await Promise.all([xmpp.registerUser('me', 'me-pw'), xmpp.registerUser('bob', 'bob-pw')]);
    await hs.registerUser('me', 'me-password');
    bobMatrix = await hs.registerUser('bob', 'bob-password');
    bobXmpp = await startXmppGateway();
    await bobXmpp.supervisor.start({
      accountId: 'bob',
      adapterId: 'xmpp',
      options: accountOptions(xmpp, 'bob', 'bob-pw'),
    });
    env = await startTestGateway({
      adapters: [
        { id: 'irc', path: path.join(root, 'adapters/irc') },
        { id: 'xmpp', path: path.join(root, 'adapters/xmpp') },
        { id: 'matrix', path: path.join(root, 'adapters/matrix') },
      ],
    });
  }, 60_000);
  afterAll(async () => {
    ws?.close();
    for (const w of watchers) await w.close();
    await env?.stop();
    await bobXmpp?.stop();
    await Promise.all([irc?.stop(), xmpp?.stop(), hs?.stop()]);
  });

  it('each account goes transient_disconnect then connected, and what was sent meanwhile arrives once', async () => {
    // Reconnect pacing: the default backoff (full jitter, doubling to 5 min) may wait up to a minute after a
    // 10 s outage; the test caps it at 3 s so its duration does not depend on the dice. Recovery is the
    // subject here, not the pacing (covered by src/registry's own tests).
    const supervisor = env.gw.app.get(AccountsService).supervisor as unknown as { policy: ReconnectPolicy };
    supervisor.policy.maxDelayMs = 3000;
    const me = await new Api(env.gw.url).login('admin', ADMIN_PASSWORD);
    const frames: StateFrame[] = [];
    ws = new WebSocket(`${env.gw.url.replace('http', 'ws')}/api/v1/events?token=${me.token}`);
    ws.on('message', (d) => {
      const f = JSON.parse(String(d)) as StateFrame;
      if (f.type === 'account.state') frames.push(f);
    });
    await new Promise((r, j) => ws!.once('open', r).once('error', j));

    const create = async (adapter: string, options: object): Promise<string> => {
      const r = await me.call('POST', '/api/v1/accounts', { adapter, options });
      expect(r.status).toBe(201);
      const id = r.json.id as string;
      await eventually(
        async () => (await me.call('GET', `/api/v1/accounts/${id}`)).json.state === 'connected',
        `${adapter} connected`,
        30_000,
      );
      return id;
    };
    const ircAccount = await create('irc', { host: irc.host, port: irc.port, tls: false, nick: 'sbme' });
    const xmppAccount = await create('xmpp', accountOptions(xmpp, 'me', 'me-pw'));
    const matrixAccount = await create('matrix', {
      homeserverUrl: hs.url,
      userId: '@me:hs.test',
      password: 'me-password',
      syncTimeoutMs: 1000,
    });

    // The three conversations: an IRC channel, a direct chat bob opened on XMPP, a Matrix room bob made.
    const open = async (body: object) => {
      const r = await me.call('POST', '/api/v1/conversations', body);
      expect(r.status).toBe(201);
      return r.json.id as string;
    };
    const ircConv = await open({ accountId: ircAccount, address: '#faults' });
    const bobClient = await connectedClient(bobXmpp.supervisor, 'bob');
    await bobClient.send({
      roomId: RemoteRoomId(`me@${xmpp.domain}`),
      transactionId: TransactionId('hello-from-bob'),
      text: 'hello',
    });
    const xmppConv = await eventually(async () => {
      const list = (await me.call('GET', '/api/v1/conversations')).json as {
        id: string;
        accountId: string;
      }[];
      return list.find((c) => c.accountId === xmppAccount)?.id;
    }, 'the XMPP conversation with bob');
    const room = await matrixCall(hs, bobMatrix, 'POST', '/createRoom', { invite: ['@me:hs.test'] });
    const roomId = room.room_id as string;
    const matrixConv = await eventually(
      async () => {
        const r = await me.call('POST', '/api/v1/conversations', {
          accountId: matrixAccount,
          address: roomId,
        });
        return r.status === 201 && (r.json.id as string);
      },
      'the Matrix room joined',
      20_000,
    );

    // Down for 10 s, all three at once.
    const since = frames.length;
    const restarts = Promise.all([
      irc.restart({ downMs: DOWN_MS }),
      xmpp.restart({ downMs: DOWN_MS }),
      hs.restart({ downMs: DOWN_MS }),
    ]);
    const accounts = { irc: ircAccount, xmpp: xmppAccount, matrix: matrixAccount };
    const stateOf = (id: string) => frames.slice(since).filter((f) => f.data.accountId === id);
    for (const [name, id] of Object.entries(accounts))
      await eventually(
        async () => stateOf(id).some((f) => f.data.state === 'transient_disconnect'),
        `${name}: transient_disconnect`,
        DOWN_MS,
      );

    // Sent while the servers are down: accepted (202) and held in the outbox.
    const texts = (net: string) => Array.from({ length: PER_NETWORK }, (_, i) => `${net}-down-${i}`);
    const convs = { irc: ircConv, xmpp: xmppConv, matrix: matrixConv };
    for (const [net, conv] of Object.entries(convs))
      for (const text of texts(net)) {
        const r = await me.call('POST', `/api/v1/conversations/${conv}/messages`, { text, clientId: text });
        expect(r.status).toBe(202);
      }
    await restarts;

    for (const [name, id] of Object.entries(accounts)) {
      await eventually(
        async () => {
          const s = stateOf(id).map((f) => f.data.state);
          return s.lastIndexOf('connected') > s.indexOf('transient_disconnect');
        },
        `${name}: connected again (states: ${stateOf(id)
          .map((f) => f.data.state)
          .join(', ')})`,
        45_000,
      );
      expect((await me.call('GET', `/api/v1/accounts/${id}`)).json.state).toBe('connected');
    }
    let lastSeen = '';
    for (const [net, conv] of Object.entries(convs))
      await eventually(
        async () => {
          const list = (await me.call('GET', `/api/v1/conversations/${conv}/messages?limit=50`)).json as {
            text: string;
            status: string;
          }[];
          const mine = list.filter((m) => m.text.startsWith(`${net}-down-`));
          lastSeen = JSON.stringify(mine);
          return mine.length === PER_NETWORK && mine.every((m) => isOut(m.status));
        },
        `${net}: the held messages sent`,
        45_000,
      ).catch((e: Error) => {
        throw new Error(`${e.message}; last seen ${lastSeen}; states ${JSON.stringify(frames.slice(since))}`);
      });

    // IRC: a fresh client joins; the channel replays what it was sent since the restart.
    const watcher = await RawIrcClient.register(irc.host, irc.port, 'watcher');
    watchers.push(watcher);
    watcher.send('JOIN #faults');
    await watcher.waitFor(/ 366 watcher #faults /);
    watcher.send('PING :after-replay');
    await watcher.waitFor(/PONG .*after-replay/);
    const ircSeen = watcher.lines
      .map((l) => / PRIVMSG #faults :(irc-down-\d+)$/.exec(l)?.[1])
      .filter((t): t is string => t !== undefined);
    expect(ircSeen).toEqual(texts('irc'));

    // XMPP: bob's client, reconnected, got each message once (live, offline storage or archive).
    const bobGot = () =>
      (bobXmpp.host.eventsOf('bob') as { type: string; text?: string }[])
        .filter((e) => e.type === 'message' && e.text?.startsWith('xmpp-down-'))
        .map((e) => e.text);
    await eventually(async () => bobGot().length >= PER_NETWORK, 'bob gets the XMPP messages', 30_000);
    // A last message after them: once bob has it, anything repeated before it has arrived too.
    const last = await me.call('POST', `/api/v1/conversations/${xmppConv}/messages`, { text: 'xmpp-last' });
    expect(last.status).toBe(202);
    await eventually(
      async () =>
        (bobXmpp.host.eventsOf('bob') as { type: string; text?: string }[]).some(
          (e) => e.type === 'message' && e.text === 'xmpp-last',
        ),
      'bob gets the last XMPP message',
      30_000,
    );
    expect(bobGot()).toEqual(texts('xmpp'));

    // Matrix: the room's timeline on the homeserver, read with bob's token.
    const timeline = await matrixCall(
      hs,
      bobMatrix,
      'GET',
      `/rooms/${encodeURIComponent(roomId)}/messages?dir=f&limit=100`,
    );
    const bodies = (timeline.chunk as { type: string; sender: string; content: { body?: string } }[])
      .filter((e) => e.type === 'm.room.message' && e.sender === '@me:hs.test')
      .map((e) => e.content.body)
      .filter((b) => b?.startsWith('matrix-down-'));
    expect(bodies).toEqual(texts('matrix'));
  }, 150_000);
});
