import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RemoteRoomId, TransactionId } from '@switchboard/sdk';
import { RawIrcClient } from '../irc/raw-irc-client';
import { ADMIN_PASSWORD, Api, eventually, startGatewayProcess } from '../support/gateway';
import { startInspircd, type InspircdServer } from '../support/inspircd';
import type { ManagedProcess } from '../support/managed-process';
import {
  startMatrixHomeserver,
  type MatrixHomeserver,
  type RegisteredUser,
} from '../support/matrix-homeserver';
import { freePort } from '../support/ports';
import { startProsody, type ProsodyServer } from '../support/prosody';
import { accountOptions, connectedClient, startXmppGateway } from '../xmpp/xmpp-harness';
import { isOut } from './fault-helpers';
import { matrixCall } from '../support/bridge-env';

const repo = path.resolve(__dirname, '../..');
const TOTAL = Number(process.env.FAULTS_MESSAGES ?? 10_000);
const KILLS = 3;

interface Target {
  name: string;
  network: 'irc' | 'xmpp' | 'matrix';
  conversationId: string;
  accepted: string[];
  /** Texts in order of arrival at the observer, repeats included. */
  arrived(): string[];
}

/**
 * The gateway (a real process, embedded mode) is killed with SIGKILL three times while it relays a stream of
 * 10,000 messages to six conversations on three real networks: two InspIRCd channels, two XMPP direct chats
 * (prosody), two Matrix rooms (the test homeserver). Clients retry a request that got no answer with the same
 * clientId, as the API asks. Observers outside the gateway record what the networks delivered.
 *
 * Promises checked (docs/reliability.md): no accepted message lost; per conversation, first arrivals in the
 * order of acceptance; Matrix (transaction ids deduplicated by the homeserver) and XMPP (the same stanza id on
 * a resend, recognised by the receiving client) exactly once; IRC, which cannot tell whether a line written
 * just before the crash arrived, at most one repeat per kill per channel (the one send in flight).
 */
describe(`gateway killed with SIGKILL ${KILLS} times during a ${TOTAL}-message mixed-network stream`, () => {
  let dir: string;
  let irc: InspircdServer;
  let xmpp: ProsodyServer;
  let hs: MatrixHomeserver;
  let observers: Awaited<ReturnType<typeof startXmppGateway>>;
  let watcher: RawIrcClient;
  let proc: ManagedProcess | undefined;
  let port: number;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sb-mixed-kill9-'));
    [irc, xmpp, hs] = await Promise.all([
      startInspircd(),
      startProsody(),
      startMatrixHomeserver({ serverName: 'hs.test' }),
    ]);
    await Promise.all(['me', 'bob', 'carol'].map((u) => xmpp.registerUser(u, `${u}-pw`)));
    await hs.registerUser('me', 'me-password');
    observers = await startXmppGateway();
    for (const u of ['bob', 'carol'])
      await observers.supervisor.start({
        accountId: u,
        adapterId: 'xmpp',
        options: accountOptions(xmpp, u, `${u}-pw`),
      });
    watcher = await RawIrcClient.register(irc.host, irc.port, 'watcher');
    port = await freePort();
  }, 60_000);
  afterAll(async () => {
    await proc?.stop();
    await watcher?.close();
    await observers?.stop();
    await Promise.all([irc?.stop(), xmpp?.stop(), hs?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  const startGateway = (): Promise<ManagedProcess> =>
    startGatewayProcess(dir, {
      server: { host: '127.0.0.1', port },
      adapters: [
        { id: 'irc', path: path.join(repo, 'adapters/irc') },
        { id: 'xmpp', path: path.join(repo, 'adapters/xmpp') },
        { id: 'matrix', path: path.join(repo, 'adapters/matrix') },
      ],
      queue: { backoffBaseMs: 50, backoffMaxMs: 1000, concurrency: 6 },
      log: { level: 'warn', format: 'json' },
    });

  it('loses nothing, keeps per-conversation order, and repeats only what IRC could not confirm', async () => {
    proc = await startGateway();
    const base = `http://127.0.0.1:${port}`;
    const api = await new Api(base).login('admin', ADMIN_PASSWORD);

    const create = async (adapter: string, options: object): Promise<string> => {
      const r = await api.call('POST', '/api/v1/accounts', { adapter, options });
      expect(r.status).toBe(201);
      const id = r.json.id as string;
      await eventually(
        async () => (await api.call('GET', `/api/v1/accounts/${id}`)).json.state === 'connected',
        `${adapter} connected`,
        30_000,
      );
      return id;
    };
    const ircAccount = await create('irc', {
      host: irc.host,
      port: irc.port,
      tls: false,
      nick: 'sbme',
      // The server's flood limits are relaxed for tests; the adapter's own bucket would pace 10,000 lines to hours.
      floodBurst: 100,
      floodIntervalMs: 0,
    });
    const xmppAccount = await create('xmpp', accountOptions(xmpp, 'me', 'me-pw'));
    const matrixAccount = await create('matrix', {
      homeserverUrl: hs.url,
      userId: '@me:hs.test',
      password: 'me-password',
      syncTimeoutMs: 1000,
    });

    const targets: Target[] = [];
    // IRC: two channels the watcher sits in.
    for (const ch of ['#kill-a', '#kill-b']) {
      const r = await api.call('POST', '/api/v1/conversations', { accountId: ircAccount, address: ch });
      expect(r.status).toBe(201);
      watcher.send(`JOIN ${ch}`);
      await watcher.waitFor(new RegExp(` 366 watcher ${ch} `));
      const re = new RegExp(`^(?:@\\S+ )?:\\S+ PRIVMSG ${ch} :(.*)$`, 'i');
      targets.push({
        name: `irc ${ch}`,
        network: 'irc',
        conversationId: r.json.id as string,
        accepted: [],
        arrived: () => watcher.lines.map((l) => re.exec(l)?.[1]).filter((t): t is string => t !== undefined),
      });
    }
    // XMPP: bob and carol each open a direct chat with me.
    for (const u of ['bob', 'carol']) {
      const client = await connectedClient(observers.supervisor, u);
      await client.send({
        roomId: RemoteRoomId(`me@${xmpp.domain}`),
        transactionId: TransactionId(`hello-${u}`),
        text: `hello from ${u}`,
      });
      const jid = `${u}@${xmpp.domain}`;
      const conv = await eventually(async () => {
        const list = (await api.call('GET', '/api/v1/conversations')).json as {
          id: string;
          accountId: string;
          address: string;
        }[];
        return list.find((c) => c.accountId === xmppAccount && c.address === jid)?.id;
      }, `the XMPP conversation with ${u}`);
      targets.push({
        name: `xmpp ${u}`,
        network: 'xmpp',
        conversationId: conv,
        accepted: [],
        arrived: () =>
          (observers.host.eventsOf(u) as { type: string; text?: string }[])
            .filter((e) => e.type === 'message' && e.text?.startsWith('t'))
            .map((e) => e.text!),
      });
    }
    // Matrix: two rooms made by bob, read back from the homeserver at the end.
    const bob = await hs.registerUser('bob', 'bob-password');
    const matrixRooms: { target: Target; roomId: string; seen: string[] }[] = [];
    for (const name of ['room-a', 'room-b']) {
      const room = await matrixCall(hs, bob, 'POST', '/createRoom', { name, invite: ['@me:hs.test'] });
      const roomId = room.room_id as string;
      const conv = await eventually(
        async () => {
          const r = await api.call('POST', '/api/v1/conversations', {
            accountId: matrixAccount,
            address: roomId,
          });
          return r.status === 201 && (r.json.id as string);
        },
        `the Matrix ${name} joined`,
        20_000,
      );
      const entry = { roomId, seen: [] as string[] } as { target: Target; roomId: string; seen: string[] };
      entry.target = {
        name: `matrix ${name}`,
        network: 'matrix',
        conversationId: conv,
        accepted: [],
        arrived: () => entry.seen,
      };
      matrixRooms.push(entry);
      targets.push(entry.target);
    }

    // The stream: one sequential client per conversation (so acceptance order is defined), six at once.
    let acceptedTotal = 0;
    let requests = 0;
    let retries = 0;
    const perTarget = Math.ceil(TOTAL / targets.length);
    const stream = async (t: Target, k: number) => {
      for (let i = 0; i < perTarget && k * perTarget + i < TOTAL; i++) {
        const text = `t${k}-${i}`;
        for (;;) {
          requests++;
          let status = 0;
          try {
            status = (
              await api.call('POST', `/api/v1/conversations/${t.conversationId}/messages`, {
                text,
                clientId: text,
              })
            ).status;
          } catch {
            status = 0; // no answer: the gateway is down; retry with the same clientId
          }
          if (status === 202) break;
          if (status !== 0 && status !== 503) throw new Error(`${t.name}: ${text} answered ${status}`);
          retries++;
          await new Promise((r) => setTimeout(r, 100));
        }
        t.accepted.push(text);
        acceptedTotal++;
      }
    };
    const streams = Promise.all(targets.map((t, k) => stream(t, k)));
    let streamError: Error | undefined;
    streams.catch((e: unknown) => (streamError = e instanceof Error ? e : new Error(String(e))));

    for (let kill = 1; kill <= KILLS; kill++) {
      await eventually(
        async () => {
          if (streamError) throw streamError;
          return acceptedTotal >= (kill * TOTAL) / (KILLS + 1);
        },
        `${(kill * TOTAL) / (KILLS + 1)} accepted`,
        600_000,
      );
      await proc.kill9();
      proc = await startGateway();
    }
    await streams;
    expect(acceptedTotal).toBe(TOTAL);

    // Everything out: the observers have every accepted message.
    const readMatrix = async () => {
      for (const m of matrixRooms) m.seen = await matrixTimeline(hs, bob, m.roomId);
    };
    await eventually(
      async () => {
        await readMatrix();
        return targets.every((t) => {
          const got = new Set(t.arrived());
          return t.accepted.every((a) => got.has(a));
        });
      },
      'every accepted message at its network',
      600_000,
    ).catch((e: Error) => {
      const missing = targets.map((t) => {
        const got = new Set(t.arrived());
        return `${t.name}: ${t.accepted.filter((a) => !got.has(a)).length} missing`;
      });
      throw new Error(`${e.message}: ${missing.join('; ')}`);
    });
    // And the gateway says so: the newest of each conversation are out of the outbox.
    for (const t of targets) {
      const list = (await api.call('GET', `/api/v1/conversations/${t.conversationId}/messages?limit=500`))
        .json as { text: string; status: string }[];
      expect(list.filter((m) => !isOut(m.status)).map((m) => `${m.text}:${m.status}`)).toEqual([]);
    }
    // Late repeats (a resend after the last restart) would arrive after the originals: one more message per
    // conversation, and when it has arrived everything before it has.
    for (const t of targets) {
      const r = await api.call('POST', `/api/v1/conversations/${t.conversationId}/messages`, {
        text: `tend-${t.name}`,
      });
      expect(r.status).toBe(202);
    }
    await eventually(
      async () => {
        await readMatrix();
        return targets.every((t) => t.arrived().includes(`tend-${t.name}`));
      },
      'the closing messages',
      60_000,
    );

    const report: string[] = [];
    for (const t of targets) {
      const arrived = t.arrived().filter((x) => !x.startsWith('tend-'));
      const counts = new Map<string, number>();
      for (const a of arrived) counts.set(a, (counts.get(a) ?? 0) + 1);
      const repeats = [...counts].filter(([, n]) => n > 1);
      const extra = arrived.length - counts.size;
      report.push(`${t.name}: ${t.accepted.length} accepted, ${arrived.length} arrived, ${extra} repeats`);
      // Nothing lost, nothing invented.
      expect([...counts.keys()].filter((a) => !t.accepted.includes(a))).toEqual([]);
      expect(t.accepted.filter((a) => !counts.has(a))).toEqual([]);
      // Order of first arrival = order of acceptance.
      expect([...counts.keys()]).toEqual(t.accepted);
      if (t.network === 'irc') {
        // One send in flight per conversation at a time: a kill can repeat at most that one, once.
        expect(repeats.every(([, n]) => n === 2)).toBe(true);
        expect(extra).toBeLessThanOrEqual(KILLS);
      } else {
        expect(repeats).toEqual([]);
      }
    }
    console.log(
      `mixed kill -9: ${TOTAL} messages, ${KILLS} kills, ${requests} requests (${retries} retried)\n` +
        report.join('\n'),
    );
  }, 1_800_000);
});

/** Bodies of @me's messages in the room, oldest first, the whole timeline (paginated). */
async function matrixTimeline(hs: MatrixHomeserver, user: RegisteredUser, roomId: string): Promise<string[]> {
  const out: string[] = [];
  let from: string | undefined;
  for (;;) {
    const q = `dir=f&limit=1000${from ? `&from=${encodeURIComponent(from)}` : ''}`;
    const page = await matrixCall(hs, user, 'GET', `/rooms/${encodeURIComponent(roomId)}/messages?${q}`);
    const chunk = page.chunk as { type: string; sender: string; content: { body?: string } }[];
    for (const e of chunk)
      if (e.type === 'm.room.message' && e.sender === '@me:hs.test' && e.content.body?.startsWith('t'))
        out.push(e.content.body);
    if (chunk.length === 0 || typeof page.end !== 'string' || page.end === from) return out;
    from = page.end;
  }
}
