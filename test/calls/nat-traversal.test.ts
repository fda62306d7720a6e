import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { type CoturnServer, startCoturn } from '../support/coturn';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../support/gateway';
import { createNatLab, type NatKind, type NatLab } from './nat/nat-lab';

const ROOT = path.resolve(__dirname, '../..');
const SECRET = 'nat-test-secret';

interface PeerMsg {
  sdp?: string;
  state?: string;
  pair?: { local: string; remote: string };
  received?: number;
  error?: string;
}

class PeerProcess {
  readonly msgs: PeerMsg[] = [];
  private readonly child: ChildProcess;
  private stderr = '';

  constructor(netns: string, iceServers: unknown[]) {
    this.child = spawn(
      'ip',
      [
        'netns',
        'exec',
        netns,
        process.execPath,
        '-r',
        path.join(ROOT, 'test/support/ts-register.js'),
        path.join(ROOT, 'test/calls/nat/ice-peer.ts'),
        JSON.stringify(iceServers),
      ],
      { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    createInterface({ input: this.child.stdout! }).on('line', (l) => {
      try {
        this.msgs.push(JSON.parse(l) as PeerMsg);
      } catch {
        // not ours (a library's console output)
      }
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  send(m: unknown): void {
    this.child.stdin!.write(JSON.stringify(m) + '\n');
  }

  async sdp(): Promise<string> {
    const got = await eventually(async () => this.msgs.find((m) => m.sdp || m.error), 'an SDP', 20_000);
    if (got.error) throw new Error(`peer failed: ${got.error}\n${this.stderr}`);
    this.msgs.splice(this.msgs.indexOf(got), 1);
    return got.sdp!;
  }

  state(s: string): PeerMsg | undefined {
    return this.msgs.find((m) => m.state === s);
  }

  get receivedPackets(): number {
    return Math.max(0, ...this.msgs.map((m) => m.received ?? 0));
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGKILL');
    await exited;
  }
}

interface Outcome {
  nat: string;
  servers: string;
  outcome: 'connected' | 'failed';
  pair: string;
  packets: string;
}

/**
 * The two call ends behind simulated NATs in network namespaces (198.18.0.0/15), coturn on the
 * "internet" between them, werift as the WebRTC stack: port-restricted cone NATs connect through STUN
 * alone (no relay); symmetric NATs do not, and do through coturn's TURN relay.
 */
describe('NAT traversal: ICE with STUN and TURN (coturn) across namespaced NATs', () => {
  const results: Outcome[] = [];
  // The gateway hands clients their ICE servers; its TURN credentials are the time-limited REST kind
  // that coturn checks against the same shared secret.
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let api: Api;

  beforeAll(async () => {
    env = await startTestGateway({
      calls: {
        stunUrls: ['stun:198.18.0.1:3478'],
        turnUrls: ['turn:198.18.0.1:3478?transport=udp'],
        turnSecret: SECRET,
        turnTtlSeconds: 600,
      },
    });
    api = await new Api(env.gw.url).login('admin', ADMIN_PASSWORD);
  });

  afterAll(async () => {
    await env?.stop();
  });
  let lab: NatLab | undefined;
  let turn: CoturnServer | undefined;
  const peers: PeerProcess[] = [];

  afterEach(async () => {
    for (const p of peers.splice(0)) await p.stop();
    await turn?.stop();
    turn = undefined;
    lab?.destroy();
    lab = undefined;
  });

  afterAll(() => {
    // The matrix of NAT kinds × servers × outcome × candidate pair, for the log.
    console.log(
      'NAT traversal results:\n' +
        results
          .map(
            (r) =>
              `  ${r.nat.padEnd(36)} ${r.servers.padEnd(11)} ${r.outcome.padEnd(10)} ${r.pair.padEnd(16)} ${r.packets}`,
          )
          .join('\n'),
    );
  });

  async function attempt(
    kinds: [NatKind, NatKind],
    withTurn: boolean,
    failAfterMs: number,
  ): Promise<Outcome> {
    lab = createNatLab(kinds);
    turn = await startCoturn({
      host: lab.serverIp,
      secret: SECRET,
      allowedPeers: ['198.18.0.0-198.18.255.255'],
      deniedPeers: ['198.19.0.0-198.19.255.255'],
      netns: lab.inet,
    });
    const fromGateway = (await api.call('GET', '/api/v1/calls/ice-servers')).json as {
      iceServers: { urls: string[]; username?: string; credential?: string }[];
    };
    // Without TURN: the STUN entry only. werift takes one URL per entry.
    const servers = fromGateway.iceServers
      .filter((x) => withTurn || x.username === undefined)
      .map((x) => ({ ...x, urls: x.urls[0]! }));
    expect(servers.some((x) => x.urls.startsWith('turn:'))).toBe(withTurn);
    const a = new PeerProcess(lab.sites[0].host, servers);
    const b = new PeerProcess(lab.sites[1].host, servers);
    peers.push(a, b);
    a.send({ cmd: 'offer' });
    const offer = await a.sdp();
    // The private addresses are in the SDP as host candidates, but they are unreachable from the other site.
    expect(offer).toContain(lab.sites[0].privateIp);
    b.send({ cmd: 'answer', sdp: offer });
    a.send({ cmd: 'accept', sdp: await b.sdp() });
    const deadline = Date.now() + failAfterMs;
    let connected = false;
    while (Date.now() < deadline) {
      if (a.state('ice-failed') && b.state('ice-failed')) break;
      if (a.state('connected') && b.state('connected') && a.receivedPackets > 5 && b.receivedPackets > 5) {
        connected = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const pairOf = (p: PeerProcess) => {
      const x = p.state('connected')?.pair;
      return x ? `${x.local} ↔ ${x.remote}` : '-';
    };
    const r: Outcome = {
      nat: `${kinds[0]} × ${kinds[1]}`,
      servers: withTurn ? 'STUN+TURN' : 'STUN',
      outcome: connected ? 'connected' : 'failed',
      pair: `${pairOf(a)} / ${pairOf(b)}`,
      packets: `${a.receivedPackets}/${b.receivedPackets}`,
    };
    results.push(r);
    return r;
  }

  it('port-restricted cone on both sides connects through STUN, without a relay', async () => {
    const r = await attempt(['port-restricted', 'port-restricted'], false, 30_000);
    expect(r.outcome).toBe('connected');
    expect(r.pair).not.toContain('relay');
    expect(r.pair).toContain('srflx');
  });

  it('symmetric NAT on both sides does not connect with STUN alone', async () => {
    // werift keeps checking (it never declares the session failed), so "fails" is: no connection in 15 s,
    // ten times what the same NATs need with TURN, and no media either way.
    const r = await attempt(['symmetric', 'symmetric'], false, 15_000);
    expect(r.outcome).toBe('failed');
    expect(r.packets).toBe('0/0');
  });

  it('symmetric NAT on both sides connects through the TURN relay', async () => {
    const r = await attempt(['symmetric', 'symmetric'], true, 30_000);
    expect(r.outcome).toBe('connected');
    expect(r.pair).toContain('relay');
  });
});
