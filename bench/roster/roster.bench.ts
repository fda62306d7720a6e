// The buddy list at scale, on real servers: a gateway user with 10,000 contacts — an XMPP roster on
// prosody and an IRC watch list (MONITOR) on InspIRCd — and a few contacts that are real connected clients.
//
// Measured, with the gateway spawned as its own process the way production runs it (compiled JS, plain node):
//  1. start → complete buddy list at a WebSocket client. A client signs in as soon as the API answers and
//     follows /api/v1/events from the gateway's start (`?since=`, resuming after `replay.truncated` as any
//     client does). "Complete list" is the moment all 10,000 endpoints are visible to it (each arrived in a
//     `contact.updated` or `presence.changed`); "all presences" the later moment every one of them also has
//     a presence the network reported (prosody answers the login's 6,500 presence probes, MONITOR the
//     3,500 nicks), i.e. every contact can be drawn with its presence dot. Then GET /api/v1/contacts is
//     checked to hold all 10,000 endpoints with a known presence (also timed). Cold (empty database) and
//     warm (restart on the same data) starts.
//  2. Peak RSS of the gateway process (VmHWM from /proc/<pid>/status), through the whole run.
//  3. With 500 WebSocket clients on /api/v1/events, a contact changes presence on the real server (XMPP
//     <presence> with a new status; IRC AWAY, seen through away-notify) → time until each client receives
//     the `presence.changed` frame; p50/p99 over all receipts. The clients live in two worker threads so the
//     thread that writes the changes and stamps their send time never queues behind frame handling.
//
// Setup: prosody's roster store is written directly (build in prosody-roster.ts: no bulk import exists);
// every offline XMPP contact has the gateway user in its own roster, so prosody answers the login's probes
// as for real people. InspIRCd gets `<monitor maxentries>` above the watch list. The XMPP peers are bare
// clients (raw-xmpp.ts), the IRC peers the tests' raw client: each presence change is a real stanza or line.
//
// Run: npm run bench roster (not part of npm test). ROSTER_XMPP / ROSTER_IRC / ROSTER_WS / ROSTER_CHANGES
// shrink it for a quick try; ROSTER_SOURCE=<dir> compiles another copy of src/ and adapters/ (e.g. a
// `git archive HEAD` under .tmp/ when the working tree holds others' unfinished work); ROSTER_PROFILE=<dir>
// writes the gateway's CPU profile, ROSTER_HEAP_PROFILE=<dir> a heap profile; ROSTER_LOG=<level> its log level; ROSTER_TRACE=<file> stamps the spawn.
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import WebSocket from 'ws';
import { stringify } from 'yaml';
import { RawIrcClient } from '../../test/irc/raw-irc-client';
import { startProcess, type ManagedProcess } from '../../test/support/managed-process';
import { freePort } from '../../test/support/ports';
import { startInspircd, type InspircdServer } from '../../test/support/inspircd';
import { startProsody, type ProsodyServer } from '../../test/support/prosody';
import { percentile, report } from '../support';
import { buildGateway } from './build-dist';
import { writeProsodyRoster } from './prosody-roster';
import { RawXmppPeer } from './raw-xmpp';

const root = path.resolve(__dirname, '..', '..');
const envInt = (name: string, dflt: number): number => {
  const v = process.env[name];
  return v && /^\d+$/.test(v) ? Number(v) : dflt;
};

const XMPP_CONTACTS = envInt('ROSTER_XMPP', 6500);
const IRC_CONTACTS = envInt('ROSTER_IRC', 3500);
const TOTAL = XMPP_CONTACTS + IRC_CONTACTS;
const XMPP_PEERS = 5; // of the XMPP contacts, these are registered accounts that log in
const IRC_PEERS = 3; // of the IRC contacts, these are connected clients
const WS_CLIENTS = envInt('ROSTER_WS', 500);
const WORKERS = 2;
const CHANGES = envInt('ROSTER_CHANGES', 200); // per network
const PACE_MS = 50;
const LIST_TIMEOUT_MS = envInt('ROSTER_TIMEOUT_S', 300) * 1000;
const ADMIN_PASSWORD = 'bench-admin-password';
const PEER_PASSWORD = 'peer-password';
const DOMAIN = 'sb.test';
const CHANNEL = '#bench';
const MARKER = 'bench-';
const IRC_OFFSET = 100_000; // change numbers of IRC changes, so one status marker serves both networks

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nowMs = (): number => performance.timeOrigin + performance.now();
const pad = (n: number) => String(n).padStart(5, '0');

interface Servers {
  prosody: ProsodyServer;
  inspircd: InspircdServer;
  xmppPeers: RawXmppPeer[];
  ircPeers: RawIrcClient[];
}

async function startServers(): Promise<Servers> {
  // Plaintext allowed so the bench's bare peers need no TLS stack; the gateway still uses STARTTLS.
  const prosody = await startProsody({ domain: DOMAIN, allowPlaintext: true });
  await prosody.registerUser('gw', 'gw-password');
  const peers = Array.from({ length: XMPP_PEERS }, (_, i) => `peer${i}`);
  for (const p of peers) await prosody.registerUser(p, PEER_PASSWORD);
  const data = path.join(prosody.dir, 'data');
  const gwJid = `gw@${DOMAIN}`;
  const contacts = [...peers, ...Array.from({ length: XMPP_CONTACTS - XMPP_PEERS }, (_, i) => `x${pad(i)}`)];
  writeProsodyRoster(
    data,
    DOMAIN,
    'gw',
    contacts.map((u) => ({ jid: `${u}@${DOMAIN}`, name: `XMPP ${u}`, subscription: 'both' as const })),
  );
  // Every contact has the gateway user in their roster too (mutual subscriptions), so prosody answers the
  // gateway's presence probes as a real server does: `unavailable` for contacts who are offline.
  for (const u of contacts)
    writeProsodyRoster(data, DOMAIN, u, [{ jid: gwJid, name: 'gw', subscription: 'both' }]);

  const inspircd = await startInspircd({ extraConfig: `<monitor maxentries="${IRC_CONTACTS + 100}">` });
  const ircPeers: RawIrcClient[] = [];
  for (let i = 0; i < IRC_PEERS; i++) {
    const c = await RawIrcClient.register(inspircd.host, inspircd.port, `ipeer${i}`);
    c.send(`JOIN ${CHANNEL}`);
    await c.waitFor(new RegExp(`JOIN :?${CHANNEL}`));
    ircPeers.push(c);
  }
  const xmppPeers: RawXmppPeer[] = [];
  for (const p of peers) {
    const c = await RawXmppPeer.login(prosody.host, prosody.port, DOMAIN, p, PEER_PASSWORD);
    c.presence(undefined, 'here');
    xmppPeers.push(c);
  }
  return { prosody, inspircd, xmppPeers, ircPeers };
}

function gatewayConfig(s: Servers, dir: string, port: number): string {
  const watch = [
    ...Array.from({ length: IRC_PEERS }, (_, i) => `ipeer${i}`),
    ...Array.from({ length: IRC_CONTACTS - IRC_PEERS }, (_, i) => `i${pad(i)}`),
  ];
  const file = path.join(dir, 'switchboard.yaml');
  writeFileSync(
    file,
    stringify({
      server: { host: '127.0.0.1', port },
      dataDir: path.join(dir, 'data'),
      adapters: [{ id: 'xmpp' }, { id: 'irc' }],
      log: { level: process.env.ROSTER_LOG ?? 'warn', format: 'json' },
      accounts: [
        {
          owner: 'admin',
          adapter: 'xmpp',
          label: 'xmpp',
          options: {
            jid: `gw@${DOMAIN}`,
            password: 'gw-password',
            host: s.prosody.host,
            port: s.prosody.port,
            trustedCertificate: s.prosody.certificatePem,
          },
        },
        {
          owner: 'admin',
          adapter: 'irc',
          label: 'irc',
          options: {
            host: s.inspircd.host,
            port: s.inspircd.port,
            tls: false,
            nick: 'sbgw',
            channels: [CHANNEL],
            watch,
            // The adapter's default pacing (5 lines, then 2/s) is for public networks; this private server
            // has flood limits off, and at 2 lines/s the ~80 MONITOR lines alone would take 40 s.
            floodBurst: 100,
            floodIntervalMs: 20,
          },
        },
      ],
    }),
  );
  return file;
}

interface Gateway {
  proc: ManagedProcess;
  pid: number;
  base: string;
  startedAt: number; // epoch ms just before spawn
  t0: number; // nowMs() just before spawn
}

function spawnGateway(configFile: string, dir: string, port: number, dist: string): Gateway {
  const entry = path.join(dist, 'src', 'cli', 'main.js');
  const script = `require(${JSON.stringify(entry)}).main(['start']).then((c) => { if (typeof c === 'number') process.exitCode = c; })`;
  const startedAt = Date.now();
  const t0 = nowMs();
  if (process.env.ROSTER_TRACE)
    appendFileSync(process.env.ROSTER_TRACE, `${new Date(startedAt).toISOString()} spawn\n`);
  // ROSTER_PROFILE=<dir>: the gateway writes a V8 CPU profile there when it stops (for finding hot spots).
  const prof = process.env.ROSTER_PROFILE
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.ROSTER_PROFILE}`]
    : [];
  // ROSTER_HEAP_PROFILE=<dir>: a sampling heap profile (where memory is allocated) likewise.
  if (process.env.ROSTER_HEAP_PROFILE)
    prof.push('--heap-prof', `--heap-prof-dir=${process.env.ROSTER_HEAP_PROFILE}`);
  const proc = startProcess('switchboard', process.execPath, [...prof, '-e', script], {
    cwd: dir,
    env: {
      ...process.env,
      SWITCHBOARD_CONFIG: configFile,
      SWITCHBOARD_ADMIN_PASSWORD: ADMIN_PASSWORD,
      NODE_ENV: 'production',
    },
  });
  const pid = proc.child.pid;
  if (pid === undefined) throw new Error('could not spawn the gateway');
  return { proc, pid, base: `http://127.0.0.1:${port}`, startedAt, t0 };
}

function memory(pid: number): { hwmMiB: number; rssMiB: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
  return { hwmMiB: +(kb('VmHWM') / 1024).toFixed(1), rssMiB: +(kb('VmRSS') / 1024).toFixed(1) };
}

async function login(gw: Gateway, deadlineMs: number): Promise<{ token: string; apiUpMs: number }> {
  for (;;) {
    if (!gw.proc.running) throw new Error(`the gateway exited:\n${gw.proc.output.slice(-4000)}`);
    try {
      const res = await fetch(`${gw.base}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
      });
      if (res.status === 200) {
        const apiUpMs = nowMs() - gw.t0;
        return { token: ((await res.json()) as { token: string }).token, apiUpMs };
      }
      throw new Error(`login: ${res.status} ${await res.text()}`);
    } catch (e) {
      if (e instanceof Error && e.message.startsWith('login:')) throw e;
      if (nowMs() > deadlineMs) throw new Error(`the gateway's API did not answer: ${String(e)}`);
      await sleep(10);
    }
  }
}

interface Frame {
  type: string;
  data: Record<string, unknown>;
  at: string;
  seq: number;
}

/**
 * Follows the event stream from `since` (epoch ms), resuming after `replay.truncated` the way a client
 * does, until every expected endpoint has a presence. Two moments: `listedMs`, every endpoint is on the
 * client's list (it arrived in a `contact.updated` or `presence.changed`); `ms`, every endpoint also has
 * a presence the network reported.
 */
function followUntilComplete(gw: Gateway, token: string, timeoutMs: number) {
  const listed = new Set<string>();
  const known = new Set<string>();
  let listedMs = NaN;
  // Per network: when all of its contacts were listed (XMPP addresses are JIDs, IRC ones are not).
  const perNetwork = { xmpp: new Set<string>(), irc: new Set<string>() };
  const listedAt: Record<string, number> = {};
  let frames = 0;
  let reconnects = 0;
  // When the client knew 1, 10 %, 20 % … of the endpoints' presence (ms since spawn): where the time goes.
  const progress: Record<string, number> = {};
  let nextMark = 0;
  return new Promise<{
    listedMs: number;
    listedAt: Record<string, number>;
    ms: number;
    frames: number;
    reconnects: number;
    progress: Record<string, number>;
  }>((resolve, reject) => {
    let since = String(gw.startedAt - 1);
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      reject(
        new Error(
          `after ${timeoutMs} ms the client listed ${listed.size} and knew a presence for ${known.size} ` +
            `of ${TOTAL} endpoints (${frames} frames)`,
        ),
      );
    }, timeoutMs);
    const connect = () => {
      const ws = new WebSocket(
        `${gw.base.replace('http', 'ws')}/api/v1/events?since=${encodeURIComponent(since)}`,
        { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false },
      );
      ws.on('message', (raw: Buffer) => {
        if (done) return;
        frames++;
        const f = JSON.parse(raw.toString('utf8')) as Frame;
        if (f.type === 'replay.truncated') return;
        since = f.at;
        const id = f.data.endpointId;
        if ((f.type !== 'contact.updated' && f.type !== 'presence.changed') || typeof id !== 'string') return;
        listed.add(id);
        if (Number.isNaN(listedMs) && listed.size >= TOTAL) listedMs = nowMs() - gw.t0;
        const network = String(f.data.address).endsWith(`@${DOMAIN}`) ? 'xmpp' : 'irc';
        perNetwork[network].add(id);
        if (
          listedAt[network] === undefined &&
          perNetwork[network].size >= (network === 'xmpp' ? XMPP_CONTACTS : IRC_CONTACTS)
        )
          listedAt[network] = Math.round(nowMs() - gw.t0);
        const p = f.data.presence as { state?: string } | undefined;
        if (f.type === 'presence.changed' && p?.state && p.state !== 'unknown') known.add(id);
        if (known.size >= Math.max(1, (nextMark * TOTAL) / 10)) {
          progress[`${nextMark * 10}%`] = Math.round(nowMs() - gw.t0);
          nextMark++;
        }
        if (known.size >= TOTAL && listed.size >= TOTAL) {
          done = true;
          clearTimeout(timer);
          ws.close(1000);
          resolve({ listedMs, listedAt, ms: nowMs() - gw.t0, frames, reconnects, progress });
        }
      });
      ws.on('close', () => {
        if (done) return;
        reconnects++;
        setTimeout(connect, 10);
      });
      ws.on('error', () => undefined);
    };
    connect();
  });
}

async function checkContacts(gw: Gateway, token: string, explainUnknown = true) {
  const t = nowMs();
  const res = await fetch(`${gw.base}/api/v1/contacts`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await res.json()) as { endpoints: { network: string; presence: { state: string } }[] }[];
  const fetchMs = nowMs() - t;
  const endpoints = body.flatMap((c) => c.endpoints);
  const unknown = endpoints.filter((e) => e.presence.state === 'unknown');
  if (explainUnknown && unknown.length > 0) {
    const accounts = await fetch(`${gw.base}/api/v1/accounts`, {
      headers: { authorization: `Bearer ${token}` },
    });
    console.error(`unknown presence, e.g. ${JSON.stringify(unknown[0])}; accounts: ${await accounts.text()}`);
  }
  return {
    fetchMs,
    atMs: nowMs() - gw.t0,
    people: body.length,
    endpoints: endpoints.length,
    unknown: endpoints.filter((e) => e.presence.state === 'unknown').length,
  };
}

async function startAndList(s: Servers, dir: string, dist: string, label: string) {
  const port = await freePort();
  const config = gatewayConfig(s, dir, port);
  const gw = spawnGateway(config, dir, port, dist);
  try {
    const { token, apiUpMs } = await login(gw, nowMs() + 60_000);
    // What a client signing in does: follow the stream and, meanwhile, fetch the stored list once. At a
    // warm start the stored list already holds every contact (their presence unknown until the accounts
    // are back), at a cold start it is empty.
    const following = followUntilComplete(gw, token, LIST_TIMEOUT_MS);
    const snapshot = await checkContacts(gw, token, false);
    const list = await following;
    const check = await checkContacts(gw, token);
    if (check.endpoints !== TOTAL || check.unknown > 0)
      throw new Error(
        `GET /api/v1/contacts after the stream was complete: ${check.endpoints} endpoints, ${check.unknown} unknown`,
      );
    const mem = memory(gw.pid);
    console.log(
      `${label}: API up ${apiUpMs.toFixed(0)} ms, all ${TOTAL} listed at the client ${list.listedMs.toFixed(0)} ms, ` +
        `all with presence ${list.ms.toFixed(0)} ms (XMPP listed ${list.listedAt.xmpp} ms, IRC ${list.listedAt.irc} ms), ` +
        `GET /contacts ${check.fetchMs.toFixed(0)} ms, peak RSS ${mem.hwmMiB} MiB; presence known at ` +
        Object.entries(list.progress)
          .map(([k, v]) => `${k} ${v}`)
          .join(', '),
    );
    return { gw, token, apiUpMs, list, snapshot, check, mem };
  } catch (e) {
    await gw.proc.stop();
    throw new Error(
      `${label}: ${e instanceof Error ? e.message : String(e)}\n${gw.proc.output.slice(-3000)}`,
    );
  }
}

interface WorkerResult {
  receipts: [number, number[]][];
  frames: number;
  closedEarly: number;
}

async function openReceivers(gw: Gateway, token: string) {
  const url = `${gw.base.replace('http', 'ws')}/api/v1/events?token=${encodeURIComponent(token)}`;
  const file = path.join(__dirname, 'ws-receivers.worker.ts');
  const register = path.join(root, 'test', 'support', 'ts-register.js');
  const workers = Array.from({ length: WORKERS }, (_, i) => {
    const clients = Math.floor(WS_CLIENTS / WORKERS) + (i < WS_CLIENTS % WORKERS ? 1 : 0);
    return new Worker(`require(${JSON.stringify(register)}); require(${JSON.stringify(file)});`, {
      eval: true,
      workerData: { url, clients, marker: MARKER },
    });
  });
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          w.once('error', reject);
          w.on('message', (m: { kind: string; error?: string }) => {
            if (m.kind === 'ready') resolve();
            if (m.kind === 'error') reject(new Error(m.error));
          });
        }),
    ),
  );
  return {
    async collect(): Promise<WorkerResult[]> {
      const results = await Promise.all(
        workers.map(
          (w) =>
            new Promise<WorkerResult>((resolve) => {
              w.on('message', (m: { kind: string } & WorkerResult) => {
                if (m.kind === 'result') resolve(m);
              });
              w.postMessage({ cmd: 'stop' });
            }),
        ),
      );
      await Promise.all(workers.map((w) => w.terminate()));
      return results;
    },
  };
}

function latencyRow(
  network: string,
  sent: Map<number, number>,
  results: WorkerResult[],
  pick: (n: number) => boolean,
) {
  const lat: number[] = [];
  for (const r of results)
    for (const [n, times] of r.receipts) {
      if (!pick(n)) continue;
      const t = sent.get(n);
      if (t !== undefined) for (const x of times) lat.push(x - t);
    }
  lat.sort((a, b) => a - b);
  const changes = [...sent.keys()].filter(pick).length;
  return {
    phase: `presence change → ${WS_CLIENTS} WS clients (${network})`,
    changes,
    receipts: lat.length,
    missing: changes * WS_CLIENTS - lat.length,
    'p50 ms': +percentile(lat, 50).toFixed(1),
    'p99 ms': +percentile(lat, 99).toFixed(1),
    'max ms': +(lat[lat.length - 1] ?? NaN).toFixed(1),
    target: 'p99 < 50 ms',
  };
}

async function presenceLatency(s: Servers, gw: Gateway, token: string) {
  const receivers = await openReceivers(gw, token);
  await sleep(2000); // let the gateway finish anything left from the start (caps, WHOIS answers)
  const sent = new Map<number, number>();
  for (let i = 0; i < CHANGES; i++) {
    const peer = s.xmppPeers[i % s.xmppPeers.length]!;
    sent.set(i, peer.presence(i % 3 === 0 ? 'dnd' : 'away', `${MARKER}${i}`));
    await sleep(PACE_MS);
  }
  for (let i = 0; i < CHANGES; i++) {
    const peer = s.ircPeers[i % s.ircPeers.length]!;
    const n = IRC_OFFSET + i;
    sent.set(n, nowMs());
    peer.send(`AWAY :${MARKER}${n}`);
    await sleep(PACE_MS);
  }
  await sleep(3000);
  const mem = memory(gw.pid);
  const results = await receivers.collect();
  return {
    rows: [
      latencyRow('XMPP', sent, results, (n) => n < IRC_OFFSET),
      latencyRow('IRC', sent, results, (n) => n >= IRC_OFFSET),
    ],
    mem,
    frames: results.reduce((a, r) => a + r.frames, 0),
    closedEarly: results.reduce((a, r) => a + r.closedEarly, 0),
  };
}

async function main() {
  const dist = path.join(root, '.tmp', 'bench-roster-dist');
  let t = nowMs();
  // ROSTER_SOURCE: compile another copy of src/ and adapters/ (e.g. a snapshot of a commit under .tmp/).
  buildGateway(dist, process.env.ROSTER_SOURCE ? path.resolve(process.env.ROSTER_SOURCE) : root);
  console.log(`compiled the gateway to ${path.relative(root, dist)} in ${(nowMs() - t).toFixed(0)} ms`);
  t = nowMs();
  const servers = await startServers();
  console.log(
    `prosody (${XMPP_CONTACTS} roster items) and InspIRCd (${IRC_CONTACTS} watched nicks) ready in ` +
      `${(nowMs() - t).toFixed(0)} ms`,
  );
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sb-bench-roster-'));
  // The machine is shared: its load says how much of the 2 cores the gateway had.
  const loadBefore = os.loadavg().map((x) => +x.toFixed(2));
  const rows: Record<string, unknown>[] = [];
  try {
    const cold = await startAndList(servers, dir, dist, 'cold start');
    let latency;
    try {
      latency = await presenceLatency(servers, cold.gw, cold.token);
    } finally {
      await cold.gw.proc.stop();
    }
    const warm = await startAndList(servers, dir, dist, 'warm start');
    await warm.gw.proc.stop();
    for (const [phase, r] of [
      ['cold start (empty database)', cold],
      ['warm start (restart)', warm],
    ] as const)
      rows.push({
        phase: `${phase} → complete buddy list at a WS client`,
        contacts: TOTAL,
        'API up ms': Math.round(r.apiUpMs),
        'complete list ms': Math.round(r.list.listedMs),
        'XMPP listed ms': r.list.listedAt.xmpp,
        'IRC listed ms': r.list.listedAt.irc,
        'all presences ms': Math.round(r.list.ms),
        'GET /contacts at sign-in': `${r.snapshot.endpoints} endpoints at ${Math.round(r.snapshot.atMs)} ms`,
        'GET /contacts ms': Math.round(r.check.fetchMs),
        frames: r.list.frames,
        resumes: r.list.reconnects,
        target: 'complete list < 2000 ms',
      });
    rows.push(...latency.rows);
    const peak = Math.max(cold.mem.hwmMiB, latency.mem.hwmMiB);
    rows.push({
      phase: `gateway peak RSS (VmHWM), cold start + ${WS_CLIENTS} WS clients`,
      MiB: peak,
      'warm start MiB': warm.mem.hwmMiB,
      target: 'RSS < 300 MB',
    });
    report('roster', rows, {
      gateway: {
        commit: execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim(),
        source: process.env.ROSTER_SOURCE ?? 'the working tree',
      },
      loadAverage: { before: loadBefore, after: os.loadavg().map((x) => +x.toFixed(2)) },
      setup: {
        xmppContacts: XMPP_CONTACTS,
        ircContacts: IRC_CONTACTS,
        xmppPeersOnline: XMPP_PEERS,
        ircPeersOnline: IRC_PEERS,
        wsClients: WS_CLIENTS,
        wsClientThreads: WORKERS,
        changesPerNetwork: CHANGES,
        paceMs: PACE_MS,
        framesAtReceivers: latency.frames,
        receiversClosedEarly: latency.closedEarly,
      },
      raw: {
        cold: {
          apiUpMs: cold.apiUpMs,
          list: cold.list,
          snapshot: cold.snapshot,
          check: cold.check,
          mem: cold.mem,
        },
        warm: {
          apiUpMs: warm.apiUpMs,
          list: warm.list,
          snapshot: warm.snapshot,
          check: warm.check,
          mem: warm.mem,
        },
        latencyMem: latency.mem,
      },
    });
  } finally {
    for (const p of servers.xmppPeers) await p.close();
    for (const p of servers.ircPeers) await p.close();
    await servers.inspircd.stop();
    await servers.prosody.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
