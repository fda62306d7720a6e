import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary, startProcess, type ManagedProcess } from './managed-process';
import { freePort } from './ports';

export interface RedisServer {
  url: string;
  port: number;
  /** Stops the server and removes its data directory. */
  stop(): Promise<void>;
  /**
   * Stops the server (SIGTERM, or SIGKILL with `kill: true`), keeps it down for `downMs`, and starts it again
   * on the same port and data: with `appendfsync always` every acknowledged write is back.
   */
  restart(opts?: { downMs?: number; kill?: boolean }): Promise<void>;
}

/**
 * A private redis-server for one test file: loopback only, a free port, a temp dir, AOF with fsync on every
 * write (so a restart keeps the jobs), no RDB snapshots, not daemonized. Never the system's redis.
 */
export async function startRedis(): Promise<RedisServer> {
  const bin = requireBinary(
    'redis-server',
    ['/usr/bin/redis-server', '/usr/local/bin/redis-server'],
    'redis-server',
  );
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sb-redis-'));
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--save', '',
    '--appendonly', 'yes',
    '--appendfsync', 'always',
    '--daemonize', 'no',
    '--logfile', '',
    '--maxmemory-policy', 'noeviction',
  ]; // prettier-ignore

  const launch = async (): Promise<ManagedProcess> => {
    const p = startProcess('redis-server', bin, args, { cwd: dir });
    try {
      await p.waitForOutput(/Ready to accept connections/, 15000);
    } catch (err) {
      await p.kill9();
      throw err;
    }
    return p;
  };

  let proc: ManagedProcess;
  try {
    proc = await launch();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
    async restart({ downMs = 0, kill = false } = {}) {
      if (kill) await proc.kill9();
      else await proc.stop();
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      proc = await launch();
    },
  };
}
