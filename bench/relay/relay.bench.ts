// IRC channel → XMPP MUC relay throughput and latency, on real servers (InspIRCd, prosody), four ways:
//   ceiling    an XMPP client sends groupchat messages straight to a prosody MUC, another client reads them
//              (the servers alone: no gateway in between; what any gateway's XMPP side can at best reach);
//   biboumi    an IRC client says them in a channel; Debian's biboumi (an XMPP component of the same prosody,
//              connected to the same InspIRCd) delivers them to an XMPP client in the channel's room;
//   forwarder  an IRC client says them in a channel; bench/relay/forwarder.ts (its own process: one IRC and
//              one plaintext XMPP connection, each line written to a prosody MUC in the turn it arrived,
//              nothing stored) relays them: the floor for any gateway whose path is Switchboard's, IRC
//              server → gateway → prosody MUC (biboumi hosts its rooms itself and skips the MUC);
//   switchboard an IRC client says them in a channel; the gateway (spawned as its own process, compiled JS,
//              plain node, as production runs it) relays them through a bridge into a prosody MUC, where an
//              XMPP client reads them.
// At each offered rate one sender sends COUNT messages paced evenly; the receiver stamps each on arrival. The
// sender and the receiver share this process's clock: latency = arrival - send. "Sustained" is messages
// delivered / (last arrival - first send). Rates run outer, paths inner, so a drift in machine load touches
// the three paths alike. CPU % of prosody, biboumi and the gateway over each run say what was busy.
//
// The one IRC sender is subject to the test InspIRCd's flood limits (relaxed by the harness, not off): a
// burst of ~1,300 lines at 400/s gets it closed for Excess Flood, so runs stay at 500 lines.
//
// Run: npm run bench relay (not part of npm test). RELAY_RATES=25,50 RELAY_COUNT=200 for a quick try;
// RELAY_PATHS=switchboard for one path (no ratios, results file untouched); RELAY_NODE_ARGS='--cpu-prof
// --cpu-prof-dir=/tmp/p' to profile the gateway; RELAY_SOURCE=.tmp/copy to build another copy of src/;
// RELAY_TRACE=1 for arrival progress; RELAY_QUIET_MS for the drain window; RELAY_PAUSE_MS between runs;
// RELAY_REPEAT=1 for one run per path and rate (default 3: the report shows each one's median, since a
// single run on a shared VM swings by tens of percent with the host's load);
// RELAY_SQLITE_SYNC=normal to run the gateway with database.sqliteSynchronous: normal, RELAY_XMPP_TLS=none for
// its XMPP account in plaintext (neither written to results); RELAY_DUMP=<dir> writes each message's send time
// and latency per run. Switchboard rows also show the gateway's own share (switchboard_relay_latency_seconds).
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { RawIrcClient } from '../../test/irc/raw-irc-client';
import { nowMs, RawXmppClient, type GroupchatMessage } from '../../test/bench-harness/raw-xmpp-client';
import { biboumiComponent, startBiboumi, type BiboumiGateway } from '../../test/support/biboumi';
import { startInspircd, type InspircdServer } from '../../test/support/inspircd';
import { startProcess, type ManagedProcess } from '../../test/support/managed-process';
import { freePort } from '../../test/support/ports';
import { startProsody, type ProsodyServer } from '../../test/support/prosody';
import { buildGateway } from '../roster/build-dist';
import { percentile, report } from '../support';

const root = path.resolve(__dirname, '..', '..');
const RATES = (process.env.RELAY_RATES ?? '25,50,100,200,400,800')
  .split(',')
  .map(Number)
  .filter((n) => Number.isFinite(n) && n > 0);
const COUNT = Number(process.env.RELAY_COUNT ?? 500);
const REPEAT = Math.max(1, Math.floor(Number(process.env.RELAY_REPEAT ?? 3)));
const PAUSE_MS = Number(process.env.RELAY_PAUSE_MS ?? 5000); // between runs
const QUIET_MS = Number(process.env.RELAY_QUIET_MS ?? 10_000); // a run ends when all arrived, or nothing arrived for this long after the last send
const DOMAIN = 'sb.test';
const ADMIN_PASSWORD = 'bench-admin-password';
// A chat-sized line; the marker R<run>#<seq> is what the receiver matches (copies carry a "src: " prefix).
const FILLER = 'the quick brown fox jumps over the lazy dog, again and again';

type PathName = 'ceiling' | 'biboumi' | 'forwarder' | 'switchboard';
const ALL_PATHS: PathName[] = ['ceiling', 'biboumi', 'forwarder', 'switchboard'];
// RELAY_PATHS=switchboard runs one path (for profiling); the ratios need all three.
const PATHS = ALL_PATHS.filter((p) =>
  (process.env.RELAY_PATHS ?? ALL_PATHS.join(',')).split(',').includes(p),
);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What to stop at the end, pushed as each piece starts: a failed setup still stops what it started. */
const teardown: (() => Promise<unknown>)[] = [];

interface Env {
  prosody: ProsodyServer;
  inspircd: InspircdServer;
  biboumi: BiboumiGateway;
  forwarder: ManagedProcess;
  gateway: Gateway;
  ircSender: RawIrcClient;
  /** In both channels, to tell when the IRC server passed the sender's lines on. */
  ircObserver: RawIrcClient;
  xmppSender: RawXmppClient;
  receiver: RawXmppClient;
  rooms: Record<PathName, string>;
}

interface Gateway {
  proc: ManagedProcess;
  pid: number;
  base: string;
  token: string;
  dir: string;
}

// ---- CPU time of a process, from /proc (utime + stime, in clock ticks of 1/100 s) ----

function cpuTicks(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
  } catch {
    return NaN;
  }
}

/** prosody runs with mod_posix off (no pid file): find it by its config path on its command line. */
function prosodyPid(p: ProsodyServer): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.includes(p.dir) && cmd.includes('prosody')) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

// ---- the gateway, as its own process ----

async function api(base: string, token: string | undefined, method: string, p: string, body?: unknown) {
  const res = await fetch(base + p, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  const json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return json;
}

async function startSwitchboard(): Promise<Gateway> {
  const dist = path.join(root, '.tmp', 'bench-relay-dist');
  const t = nowMs();
  // RELAY_SOURCE: compile another copy of src/ and adapters/ (a folder inside this tree, e.g. under .tmp/).
  buildGateway(dist, process.env.RELAY_SOURCE ? path.resolve(process.env.RELAY_SOURCE) : root);
  console.log(`compiled the gateway to ${path.relative(root, dist)} in ${(nowMs() - t).toFixed(0)} ms`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sb-bench-relay-'));
  const port = await freePort();
  const configFile = path.join(dir, 'switchboard.yaml');
  // The defaults an operator gets: embedded queue and SQLite in dataDir, default queue concurrency.
  writeFileSync(
    configFile,
    stringify({
      server: { host: '127.0.0.1', port },
      dataDir: path.join(dir, 'data'),
      adapters: [{ id: 'xmpp' }, { id: 'irc' }],
      log: { level: 'warn', format: 'json' },
      // RELAY_SQLITE_SYNC=normal: commits that do not wait for the disk (database.sqliteSynchronous).
      ...(process.env.RELAY_SQLITE_SYNC
        ? { database: { sqliteSynchronous: process.env.RELAY_SQLITE_SYNC } }
        : {}),
    }),
  );
  const entry = path.join(dist, 'src', 'cli', 'main.js');
  const script = `require(${JSON.stringify(entry)}).main(['start']).then((c) => { if (typeof c === 'number') process.exitCode = c; })`;
  // RELAY_NODE_ARGS: node flags for the gateway only (e.g. --cpu-prof --cpu-prof-dir=/tmp/prof).
  const nodeArgs = (process.env.RELAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const proc = startProcess('switchboard', process.execPath, [...nodeArgs, '-e', script], {
    cwd: dir,
    env: {
      ...process.env,
      SWITCHBOARD_CONFIG: configFile,
      SWITCHBOARD_ADMIN_PASSWORD: ADMIN_PASSWORD,
      NODE_ENV: 'production',
    },
  });
  teardown.push(async () => {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const pid = proc.child.pid;
  if (pid === undefined) throw new Error('could not spawn the gateway');
  const base = `http://127.0.0.1:${port}`;
  let token = '';
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (!proc.running) throw new Error(`the gateway exited:\n${proc.output.slice(-4000)}`);
    try {
      token = (
        await api(base, undefined, 'POST', '/api/v1/auth/login', {
          username: 'admin',
          password: ADMIN_PASSWORD,
        })
      ).token as string;
      break;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`the gateway's API did not answer: ${String(e)}`);
      await sleep(100);
    }
  }
  return { proc, pid, base, token, dir };
}

/** bench/relay/forwarder.ts as its own process, in #fwd and in the forwarder's MUC room. */
async function startForwarder(
  prosody: ProsodyServer,
  inspircd: InspircdServer,
  room: string,
): Promise<ManagedProcess> {
  const config = {
    irc: { host: inspircd.host, port: inspircd.port, nick: 'fwd', channel: '#fwd' },
    xmpp: {
      host: prosody.host,
      port: prosody.port,
      domain: DOMAIN,
      user: 'forwarder',
      password: 'forwarder-password',
      room,
    },
  };
  const proc = startProcess(
    'forwarder',
    process.execPath,
    [
      '-r',
      './test/support/ts-register.js',
      path.join('bench', 'relay', 'forwarder.ts'),
      JSON.stringify(config),
    ],
    { cwd: root, env: { ...process.env, NODE_ENV: 'production' } },
  );
  teardown.push(() => proc.stop());
  await proc.waitForOutput(/forwarder ready/, 30_000);
  return proc;
}

async function addAccount(gw: Gateway, adapter: string, options: object): Promise<string> {
  const r = await api(gw.base, gw.token, 'POST', '/api/v1/accounts', { adapter, options });
  const id = r.id as string;
  const deadline = Date.now() + 30_000;
  while ((await api(gw.base, gw.token, 'GET', `/api/v1/accounts/${id}`)).state !== 'connected') {
    if (Date.now() > deadline) throw new Error(`${adapter} account did not connect`);
    await sleep(100);
  }
  return id;
}

async function join(gw: Gateway, accountId: string, address: string): Promise<string> {
  return (await api(gw.base, gw.token, 'POST', '/api/v1/conversations', { accountId, address })).id as string;
}

// ---- setup ----

async function setup(): Promise<Env> {
  const component = biboumiComponent(DOMAIN);
  // Plaintext c2s so the bench's raw clients need no TLS stack; the gateway's XMPP account uses STARTTLS.
  const prosody = await startProsody({ domain: DOMAIN, allowPlaintext: true, components: [component] });
  teardown.push(() => prosody.stop());
  // The sender posts up to 800 lines a second, run after run: never closed for flooding half-way.
  const inspircd = await startInspircd({ commandsPerSecond: 100_000 });
  teardown.push(() => inspircd.stop());
  for (const u of ['relay', 'watcher', 'talker', 'forwarder']) await prosody.registerUser(u, `${u}-password`);
  const biboumi = await startBiboumi({ prosody, component, irc: inspircd });
  teardown.push(() => biboumi.stop());
  const gateway = await startSwitchboard();

  const rooms: Record<PathName, string> = {
    ceiling: `ceiling@${prosody.mucDomain}`,
    biboumi: biboumi.roomJid('#bib'),
    forwarder: `forwarded@${prosody.mucDomain}`,
    switchboard: `bridged@${prosody.mucDomain}`,
  };

  const ircSender = await RawIrcClient.register(inspircd.host, inspircd.port, 'src');
  teardown.push(() => ircSender.close());
  ircSender.send('JOIN #bib');
  ircSender.send('JOIN #fwd');
  ircSender.send('JOIN #sb');
  await ircSender.waitFor(/:src!\S+ JOIN :?#sb/);
  const ircObserver = await RawIrcClient.register(inspircd.host, inspircd.port, 'obs');
  teardown.push(() => ircObserver.close());
  ircObserver.send('JOIN #bib');
  ircObserver.send('JOIN #fwd');
  ircObserver.send('JOIN #sb');
  await ircObserver.waitFor(/:obs!\S+ JOIN :?#sb/);

  const receiver = await RawXmppClient.login(
    prosody.host,
    prosody.port,
    DOMAIN,
    'watcher',
    'watcher-password',
  );
  teardown.push(() => receiver.close());
  const xmppSender = await RawXmppClient.login(
    prosody.host,
    prosody.port,
    DOMAIN,
    'talker',
    'talker-password',
  );
  teardown.push(() => xmppSender.close());
  await receiver.joinRoom(rooms.ceiling, 'watcher');
  await xmppSender.joinRoom(rooms.ceiling, 'talker');
  await biboumi.configureUser(receiver);
  await receiver.joinRoom(rooms.biboumi, 'watcher');
  await ircSender.waitFor(/:watcher!\S+ JOIN :?#bib/, 20_000);

  const forwarder = await startForwarder(prosody, inspircd, rooms.forwarder);
  await ircSender.waitFor(/:fwd!\S+ JOIN :?#fwd/, 20_000);
  await receiver.joinRoom(rooms.forwarder, 'watcher');

  // The gateway user's accounts, one in each room, and the bridge between them.
  const ircAccount = await addAccount(gateway, 'irc', {
    host: inspircd.host,
    port: inspircd.port,
    tls: false,
    nick: 'sbgw',
  });
  const xmppAccount = await addAccount(gateway, 'xmpp', {
    jid: `relay@${DOMAIN}`,
    password: 'relay-password',
    host: prosody.host,
    port: prosody.port,
    trustedCertificate: prosody.certificatePem,
    // RELAY_XMPP_TLS=none: the gateway's XMPP account in plaintext, as biboumi's component link is.
    ...(process.env.RELAY_XMPP_TLS === 'none' ? { tls: 'none', allowPlaintext: true } : {}),
  });
  const ircConv = await join(gateway, ircAccount, '#sb');
  const xmppConv = await join(gateway, xmppAccount, `${rooms.switchboard}/relay`);
  await ircSender.waitFor(/:sbgw!\S+ JOIN :?#sb/, 20_000);
  await receiver.joinRoom(rooms.switchboard, 'watcher');
  await api(gateway.base, gateway.token, 'POST', '/api/v1/bridges', {
    name: 'bench',
    conversations: [ircConv, xmppConv],
  });
  return {
    prosody,
    inspircd,
    biboumi,
    forwarder,
    gateway,
    ircSender,
    ircObserver,
    xmppSender,
    receiver,
    rooms,
  };
}

// ---- one run: COUNT messages at `rate` through one path ----

let runSeq = 0;
/** The receiver's listener for the run in progress. */
let active: ((m: GroupchatMessage) => void) | undefined;
const MARK = /\bR(\d+)#(\d+)\b/;
/** The IRC channel each relayed path's sender speaks in. */
const CHANNEL: Record<PathName, string> = {
  ceiling: '',
  biboumi: '#bib',
  forwarder: '#fwd',
  switchboard: '#sb',
};

interface RunResult {
  path: PathName;
  rate: number;
  sent: number;
  delivered: number;
  duplicates: number;
  offeredPerS: number;
  sustainedPerS: number;
  p50: number;
  p99: number;
  max: number;
  cpu: Record<string, number>;
  /** Switchboard only: the gateway's own share (switchboard_relay_latency_seconds, IRC line in → XMPP write). */
  gateway?: { p50: number; p99: number };
}

/** The gateway's relay-latency histogram toward XMPP: cumulative counts by upper bound (seconds). */
async function relayHistogram(gw: Gateway): Promise<Map<number, number>> {
  const res = await fetch(`${gw.base}/metrics`);
  const text = await res.text();
  const out = new Map<number, number>();
  for (const m of text.matchAll(/^switchboard_relay_latency_seconds_bucket\{([^}]*)\} (\S+)$/gm)) {
    const labels = m[1]!;
    if (!/\badapter="xmpp"/.test(labels)) continue;
    const le = /\ble="([^"]+)"/.exec(labels)?.[1];
    if (le !== undefined) out.set(le === '+Inf' ? Infinity : Number(le), Number(m[2]));
  }
  return out;
}

/** A quantile (ms) of what was observed between two histogram readings, interpolated inside its bucket. */
function histogramQuantile(before: Map<number, number>, after: Map<number, number>, q: number): number {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const cum = bounds.map((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0));
  const total = cum[cum.length - 1] ?? 0;
  if (total === 0) return NaN;
  const want = q * total;
  for (let i = 0; i < bounds.length; i++) {
    if (cum[i]! < want) continue;
    const lo = i === 0 ? 0 : bounds[i - 1]!;
    const hi = Number.isFinite(bounds[i]!) ? bounds[i]! : lo;
    const below = i === 0 ? 0 : cum[i - 1]!;
    const inBucket = cum[i]! - below;
    return +((lo + ((hi - lo) * (want - below)) / (inBucket || 1)) * 1000).toFixed(2);
  }
  return NaN;
}

async function run(env: Env, p: PathName, rate: number, count: number): Promise<RunResult> {
  const id = ++runSeq;
  const sentAt = new Float64Array(count).fill(NaN);
  const arrivedAt = new Float64Array(count).fill(NaN);
  let delivered = 0;
  let duplicates = 0;
  let lastArrival = 0;
  const room = env.rooms[p];
  const listener = (m: GroupchatMessage) => {
    if (!m.from.startsWith(`${room}/`)) return;
    const k = MARK.exec(m.body);
    if (!k || Number(k[1]) !== id) return;
    const seq = Number(k[2]);
    if (!(seq < count)) return;
    if (!Number.isNaN(arrivedAt[seq]!)) {
      duplicates++;
      return;
    }
    arrivedAt[seq] = m.at;
    delivered++;
    lastArrival = m.at;
    if (process.env.RELAY_TRACE && delivered % 100 === 0)
      console.log(`  ${p} R${id}: ${delivered} arrived, ${((m.at - sentAt[0]!) / 1000).toFixed(1)} s`);
  };
  active = listener;

  const send =
    p === 'ceiling'
      ? (text: string) => env.xmppSender.say(room, text)
      : (text: string) => env.ircSender.send(`PRIVMSG ${CHANNEL[p]} :${text}`);
  const pids = {
    prosody: prosodyPid(env.prosody),
    biboumi: env.biboumi.pid,
    forwarder: env.forwarder.child.pid,
    switchboard: env.gateway.pid,
  };
  const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuTicks(pid)]));
  const hist0 = p === 'switchboard' ? await relayHistogram(env.gateway) : undefined;

  // Paced sending: every message goes out at (or as soon as the event loop allows after) t0 + i/rate.
  const t0 = nowMs();
  let i = 0;
  while (i < count) {
    const due = Math.min(count, Math.floor(((nowMs() - t0) * rate) / 1000) + 1);
    while (i < due) {
      sentAt[i] = nowMs();
      send(`R${id}#${i} ${FILLER}`);
      i++;
    }
    if (i < count) await sleep(Math.max(0, t0 + (i * 1000) / rate - nowMs()));
  }
  const lastSend = nowMs();
  if (process.env.RELAY_TRACE && p !== 'ceiling') {
    // When the IRC server passed the first and last lines on (seen by an observer in the channel).
    const obs = env.ircObserver;
    const first = await obs.waitFor(new RegExp(`PRIVMSG #\\S+ :R${id}#0 `), 60_000).catch(() => '');
    const t1 = nowMs();
    const last = await obs.waitFor(new RegExp(`PRIVMSG #\\S+ :R${id}#${count - 1} `), 60_000).catch(() => '');
    console.log(
      `  IRC observer: first ${first ? 'seen' : 'not seen'} by ${((t1 - t0) / 1000).toFixed(1)} s, last ${last ? 'seen' : 'not seen'} by ${((nowMs() - t0) / 1000).toFixed(1)} s`,
    );
  }
  // Drain: until everything arrived, or nothing more arrived for QUIET_MS.
  for (;;) {
    if (delivered >= count) break;
    const idleSince = Math.max(lastSend, lastArrival);
    if (nowMs() - idleSince > QUIET_MS) break;
    await sleep(20);
  }
  const end = delivered >= count ? lastArrival : nowMs();
  const cpu = Object.fromEntries(
    Object.entries(pids).map(([k, pid]) => [
      k,
      +((((cpuTicks(pid) - cpu0[k]!) * 10) / (end - t0)) * 100).toFixed(0), // ticks are 10 ms
    ]),
  );
  active = undefined;
  const hist1 = hist0 ? await relayHistogram(env.gateway) : undefined;

  const lat: number[] = [];
  for (let s = 0; s < count; s++) if (!Number.isNaN(arrivedAt[s]!)) lat.push(arrivedAt[s]! - sentAt[s]!);
  // RELAY_DUMP=dir: each message's send time and latency, for lining up slow ones with the gateway's traces.
  if (process.env.RELAY_DUMP) {
    const rows: string[] = [];
    for (let s = 0; s < count; s++)
      rows.push(`${sentAt[s]!.toFixed(3)} ${(arrivedAt[s]! - sentAt[s]!).toFixed(3)}`);
    writeFileSync(path.join(process.env.RELAY_DUMP, `${p}-${rate}-R${id}.txt`), rows.join('\n') + '\n');
  }
  lat.sort((a, b) => a - b);
  const firstSend = sentAt[0]!;
  if (delivered < count) {
    const missing: string[] = [];
    for (let s = 0; s < count; s++) {
      if (!Number.isNaN(arrivedAt[s]!)) continue;
      let e = s;
      while (e + 1 < count && Number.isNaN(arrivedAt[e + 1]!)) e++;
      missing.push(s === e ? `${s}` : `${s}-${e}`);
      s = e;
    }
    console.log(
      `${p} at ${rate}/s: missing ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? ' …' : ''}`,
    );
  }
  return {
    path: p,
    rate,
    sent: count,
    delivered,
    duplicates,
    offeredPerS: +(count / ((lastSend - firstSend) / 1000)).toFixed(1),
    sustainedPerS: delivered ? +(delivered / ((lastArrival - firstSend) / 1000)).toFixed(1) : 0,
    p50: +percentile(lat, 50).toFixed(1),
    p99: +percentile(lat, 99).toFixed(1),
    max: +(lat[lat.length - 1] ?? NaN).toFixed(1),
    cpu,
    ...(hist0 && hist1
      ? {
          gateway: {
            p50: histogramQuantile(hist0, hist1, 0.5),
            p99: histogramQuantile(hist0, hist1, 0.99),
          },
        }
      : {}),
  };
}

async function warmUp(env: Env): Promise<void> {
  // Each path carries a message end to end before anything is measured (joins settled, caches warm).
  for (const p of PATHS) {
    const r = await run(env, p, 10, 20);
    if (r.delivered < 20)
      throw new Error(
        `warm-up through ${p}: ${r.delivered}/20 arrived\n` +
          (p === 'switchboard'
            ? env.gateway.proc.output.slice(-3000)
            : p === 'biboumi'
              ? env.biboumi.output().slice(-3000)
              : p === 'forwarder'
                ? env.forwarder.output.slice(-3000)
                : ''),
      );
  }
}

/** A Switchboard run lost messages: where they are (stored from IRC? copied? sent?) and what IRC said. */
function diagnose(env: Env): void {
  console.log(`gateway output (tail):\n${env.gateway.proc.output.slice(-3000)}`);
  console.log(`the IRC sender's last lines:\n${env.ircSender.lines.slice(-5).join('\n')}`);
  const db = new Database(path.join(env.gateway.dir, 'data', 'switchboard.sqlite'), { readonly: true });
  try {
    console.table(
      db
        .prepare(
          `SELECT conversationId, status, origin IS NOT NULL AS copy, COUNT(*) AS n FROM messages
           WHERE text LIKE ? GROUP BY 1, 2, 3`,
        )
        .all(`%R${runSeq}#%`),
    );
  } finally {
    db.close();
  }
}

async function main() {
  const runs: RunResult[] = [];
  try {
    const env = await setup();
    env.receiver.onGroupchat((m) => active?.(m));
    await warmUp(env);
    // Repetitions inside each rate, paths interleaved: the three paths of one repetition see the same host.
    for (const rate of RATES)
      for (let rep = 0; rep < REPEAT; rep++)
        for (const p of PATHS) {
          const r = await run(env, p, rate, COUNT);
          runs.push(r);
          console.log(
            `${p.padEnd(11)} offered ${String(rate).padStart(4)}/s: delivered ${r.delivered}/${r.sent}, ` +
              `sustained ${r.sustainedPerS}/s, p50 ${r.p50} ms, p99 ${r.p99} ms, cpu ${JSON.stringify(r.cpu)}` +
              (r.gateway ? `, inside the gateway p50 ${r.gateway.p50} ms, p99 ${r.gateway.p99} ms` : ''),
          );
          if (p === 'switchboard' && r.delivered < r.sent) diagnose(env);
          // The one IRC sender's flood penalty at InspIRCd decays meanwhile (else the third 800/s run in a
          // row gets it closed for Excess Flood).
          await sleep(PAUSE_MS);
        }
  } finally {
    for (const stop of teardown.reverse()) await stop().catch((e: unknown) => console.error(e));
  }

  // One row per path and rate: each figure is the median of the repetitions (their p99 range is shown);
  // delivered is the worst repetition's and dup the most any had.
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const mid = s.length >> 1;
    return s.length % 2 ? s[mid]! : +((s[mid - 1]! + s[mid]!) / 2).toFixed(2);
  };
  const results: (RunResult & { p99Range: string })[] = [];
  for (const rate of RATES)
    for (const p of PATHS) {
      const of = runs.filter((r) => r.path === p && r.rate === rate);
      const m = (f: (r: RunResult) => number) => median(of.map(f));
      const p99s = of.map((r) => r.p99);
      results.push({
        path: p,
        rate,
        // Not medians: one repetition that lost a message shows.
        sent: Math.max(...of.map((r) => r.sent)),
        delivered: Math.min(...of.map((r) => r.delivered)),
        duplicates: Math.max(...of.map((r) => r.duplicates)),
        offeredPerS: m((r) => r.offeredPerS),
        sustainedPerS: m((r) => r.sustainedPerS),
        p50: m((r) => r.p50),
        p99: m((r) => r.p99),
        max: m((r) => r.max),
        cpu: Object.fromEntries(Object.keys(of[0]!.cpu).map((k) => [k, m((r) => r.cpu[k] ?? 0)])),
        ...(of[0]!.gateway
          ? { gateway: { p50: m((r) => r.gateway?.p50 ?? NaN), p99: m((r) => r.gateway?.p99 ?? NaN) } }
          : {}),
        p99Range: `${Math.min(...p99s)}–${Math.max(...p99s)}`,
      });
    }

  const rows = results.map((r) => ({
    path: r.path,
    'offered /s': r.rate,
    sent: r.sent,
    delivered: r.delivered,
    dup: r.duplicates,
    'sustained /s': r.sustainedPerS,
    'p50 ms': r.p50,
    'p99 ms': r.p99,
    'p99 range ms': r.p99Range,
    'max ms': r.max,
    'cpu% prosody': r.cpu.prosody,
    'cpu% biboumi': r.cpu.biboumi,
    'cpu% forwarder': r.cpu.forwarder,
    'cpu% gateway': r.cpu.switchboard,
    // The gateway's own share of p50 / p99 (its metric: IRC line in → XMPP stanza written).
    'in gateway p50/p99 ms': r.gateway ? `${r.gateway.p50} / ${r.gateway.p99}` : '',
  }));
  if (PATHS.length < ALL_PATHS.length || process.env.RELAY_SQLITE_SYNC || process.env.RELAY_XMPP_TLS) {
    console.table(rows);
    console.log('not the default run: no ratios, bench/results/relay.json left as it was');
    return;
  }
  const at = (p: PathName, rate: number) => results.find((r) => r.path === p && r.rate === rate)!;
  const ratio = (a: number, b: number) => (b > 0 ? +(a / b).toFixed(2) : NaN);
  const ratios = RATES.map((rate) => {
    const sb = at('switchboard', rate);
    const bb = at('biboumi', rate);
    const ce = at('ceiling', rate);
    const fw = at('forwarder', rate);
    return {
      'offered /s': rate,
      'sb/biboumi throughput': ratio(sb.sustainedPerS, bb.sustainedPerS),
      'sb/biboumi p99': ratio(sb.p99, bb.p99),
      'sb/ceiling throughput': ratio(sb.sustainedPerS, ce.sustainedPerS),
      'biboumi/ceiling throughput': ratio(bb.sustainedPerS, ce.sustainedPerS),
      'sb/ceiling p99': ratio(sb.p99, ce.p99),
      'biboumi/ceiling p99': ratio(bb.p99, ce.p99),
      // The floor of Switchboard's path against biboumi's whole path, and how far Switchboard is above it.
      'forwarder/biboumi p99': ratio(fw.p99, bb.p99),
      'sb/forwarder p99': ratio(sb.p99, fw.p99),
      'target met':
        sb.sustainedPerS >= bb.sustainedPerS * 0.98 && sb.delivered === sb.sent && sb.p99 <= bb.p99,
    };
  });
  const best = (p: PathName) => Math.max(...results.filter((r) => r.path === p).map((r) => r.sustainedPerS));
  console.log('\nratios (throughput: sustained msg/s; p99: relay latency; lower p99 ratio is better)');
  console.table(ratios);
  console.log(
    `peak sustained: ceiling ${best('ceiling')}/s, biboumi ${best('biboumi')}/s, forwarder ${best('forwarder')}/s, ` +
      `switchboard ${best('switchboard')}/s`,
  );
  report('relay', rows, {
    setup: {
      rates: RATES,
      messagesPerRun: COUNT,
      repetitions: `${REPEAT} per path and rate, paths interleaved; each figure is the median (dup: the most)`,
      quietMs: QUIET_MS,
      order: 'rates outer, paths inner',
      gateway: 'own process, compiled JS, embedded queue + SQLite (defaults), IRC → bridge → XMPP MUC',
      biboumi:
        'Debian biboumi, component of the same prosody, defaults (history recorded in its SQLite); its rooms ' +
        "are its own (prosody only routes the component's stanzas), where the others' go through prosody's MUC",
      ceiling: 'XMPP client → prosody MUC → XMPP client',
      forwarder:
        'bench/relay/forwarder.ts, own process: IRC line in → groupchat stanza written to the prosody MUC in the ' +
        'same turn (plaintext c2s), nothing stored: the floor of the path Switchboard takes',
    },
    ratios,
    peakSustained: {
      ceiling: best('ceiling'),
      biboumi: best('biboumi'),
      forwarder: best('forwarder'),
      switchboard: best('switchboard'),
    },
  });
}

void main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
