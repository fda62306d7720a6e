import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary, startProcess, type ManagedProcess } from './managed-process';

export interface CoturnServer {
  readonly host: string;
  readonly port: number;
  /** The TURN REST shared secret (time-limited credentials: `username = expiry:user`, HMAC-SHA1). */
  readonly secret: string;
  output(): string;
  stop(): Promise<void>;
}

/**
 * coturn as the STUN/TURN server: UDP only, no TLS, TURN REST API credentials with a shared secret, and
 * peers allowed in the given ranges (loopback needs `--allow-loopback-peers`). Denying the private
 * ranges matters beyond security: werift's TURN client stalls on stale-nonce retries when permissions
 * for unreachable private peers are granted. `netns` runs it inside a network namespace (`ip netns exec`).
 */
export async function startCoturn(o: {
  host: string;
  port?: number;
  secret: string;
  allowedPeers: string[];
  /** Ranges never relayed to (private networks behind the NATs: a TURN server must not reach into them). */
  deniedPeers?: string[];
  netns?: string;
}): Promise<CoturnServer> {
  const bin = requireBinary('turnserver', ['/usr/bin/turnserver'], 'coturn');
  const dir = mkdtempSync(join(tmpdir(), 'sb-coturn-'));
  const port = o.port ?? 3478;
  const args = [
    '-n',
    `--listening-ip=${o.host}`,
    `--relay-ip=${o.host}`,
    `--listening-port=${port}`,
    '--min-port=49160',
    '--max-port=49260',
    '--realm=switchboard.test',
    '--fingerprint',
    '--use-auth-secret',
    `--static-auth-secret=${o.secret}`,
    '--no-cli',
    '--no-tls',
    '--no-dtls',
    '--no-tcp-relay',
    '--log-file=stdout',
    '--simple-log',
    `--pidfile=${join(dir, 'turnserver.pid')}`,
    ...(o.host.startsWith('127.') ? ['--allow-loopback-peers'] : []),
    ...o.allowedPeers.map((r) => `--allowed-peer-ip=${r}`),
    ...(o.deniedPeers ?? []).map((r) => `--denied-peer-ip=${r}`),
  ];
  let proc: ManagedProcess | undefined;
  try {
    proc = o.netns
      ? startProcess('coturn', 'ip', ['netns', 'exec', o.netns, bin, ...args], { cwd: dir })
      : startProcess('coturn', bin, args, { cwd: dir });
    const p = proc;
    await p.waitForOutput(/Total General servers/, 15_000);
    return {
      host: o.host,
      port,
      secret: o.secret,
      output: () => p.output,
      async stop() {
        await p.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await proc?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
