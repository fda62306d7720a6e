import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from './ports';
import { requireBinary, startProcess } from './managed-process';

export interface PostgresServer {
  /** postgres://postgres@127.0.0.1:<port>/switchboard_test (trust auth, loopback only). */
  url: string;
  port: number;
  /** Stops the cluster (`pg_ctl stop -m fast`) and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
  /** Stops the server (`pg_ctl stop -m fast`) but keeps the cluster, for outage tests; `up()` starts it again. */
  down(): Promise<void>;
  /** Starts a cluster stopped by `down()` again on the same port, with its data. */
  up(): Promise<void>;
}

const DATABASE = 'switchboard_test';
const SUPERUSER = 'postgres';

/**
 * A throwaway PostgreSQL cluster: initdb into a temp dir, pg_ctl start on a free loopback port with the
 * unix socket inside that dir, trust auth, one database. initdb refuses to run as root, so as root every
 * command runs as the `postgres` user (which the Debian package creates) through runuser.
 */
export async function startPostgres(): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const asRoot = process.getuid?.() === 0;
  const runAs = asRoot ? postgresOsUser() : undefined;
  const runuser = asRoot
    ? requireBinary('runuser', ['/usr/sbin/runuser', '/sbin/runuser', '/usr/bin/runuser'], 'util-linux')
    : '';

  const root = mkdtempSync(join(tmpdir(), 'sb-pg-'));
  const dataDir = join(root, 'data');
  const socketDir = join(root, 'sock');
  const logFile = join(root, 'server.log');
  mkdirSync(socketDir);
  if (runAs) {
    chownSync(root, runAs.uid, runAs.gid);
    chownSync(socketDir, runAs.uid, runAs.gid);
  }

  const run = async (tool: string, args: string[]): Promise<string> => {
    const cmd = join(bin, tool);
    const [command, argv] = runAs ? [runuser, ['-u', runAs.name, '--', cmd, ...args]] : [cmd, args];
    // cwd inside the cluster dir: the postgres user may not be allowed into the test's cwd.
    const p = startProcess(tool, command, argv, {
      cwd: root,
      env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
    });
    const { code, signal } = await p.exited;
    if (code !== 0)
      throw new Error(
        `${tool} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${p.output.slice(-4000)}`,
      );
    return p.output;
  };

  let started = false;
  const stop = async (): Promise<void> => {
    if (started) {
      started = false;
      try {
        await run('pg_ctl', ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '30']);
      } catch (err) {
        killPostmaster(dataDir);
        rmSync(root, { recursive: true, force: true });
        throw err;
      }
    }
    rmSync(root, { recursive: true, force: true });
  };

  try {
    await run('initdb', [
      '-D',
      dataDir,
      '-U',
      SUPERUSER,
      '--auth=trust',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    let port = 0;
    let options = '';
    // freePort() releases the port before postgres binds it; another process may take it meanwhile.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      options = [
        `-p ${port}`,
        `-h 127.0.0.1`,
        `-k ${socketDir}`,
        // A test cluster is thrown away: durability costs time and buys nothing.
        '-c fsync=off',
        '-c synchronous_commit=off',
        '-c full_page_writes=off',
      ].join(' ');
      try {
        await run('pg_ctl', ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', options]);
        started = true;
        break;
      } catch (err) {
        if (attempt >= 3) throw new Error(`${(err as Error).message}\nserver log:\n${readLog(logFile)}`);
      }
    }
    await run('createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', SUPERUSER, DATABASE]);
    const down = async (): Promise<void> => {
      if (!started) return;
      await run('pg_ctl', ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '30']);
      started = false;
    };
    const up = async (): Promise<void> => {
      if (started) return;
      await run('pg_ctl', ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', options]);
      started = true;
    };
    return { url: `postgres://${SUPERUSER}@127.0.0.1:${port}/${DATABASE}`, port, stop, down, up };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

/** The newest /usr/lib/postgresql/<version>/bin, or the folder of an initdb on PATH. */
function postgresBinDir(): string {
  const candidates: string[] = [];
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) candidates.push(join(base, v, 'bin', 'initdb'));
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir) candidates.push(join(dir, 'initdb'));
  const initdb = requireBinary(
    'PostgreSQL (initdb)',
    candidates.length ? candidates : [join(base, '<version>', 'bin', 'initdb')],
    'postgresql',
  );
  return join(initdb, '..');
}

function postgresOsUser(): { name: string; uid: number; gid: number } {
  const name = 'postgres';
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
    return { name, uid, gid };
  } catch {
    throw new Error(
      "The tests run as root and initdb refuses root, so PostgreSQL runs as the 'postgres' user, which does not exist. " +
        "Install the Debian package 'postgresql' (it creates that user) or run the tests as a normal user.",
    );
  }
}

function killPostmaster(dataDir: string): void {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (pid > 0) process.kill(pid, 'SIGKILL');
  } catch {
    // Not running (no pid file, or the process is gone).
  }
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-4000);
  } catch {
    return '(no server log)';
  }
}
