import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SDK_VERSION } from '@switchboard/sdk';
import { stringify } from 'yaml';
import { startProcess, type ManagedProcess } from '../support/managed-process';
import { installFixtures } from '../support/npm-fixtures';
import { freePort } from '../support/ports';

const repo = path.resolve(__dirname, '../..');

/**
 * The README's start command on a tree laid out like a fresh clone (the files git would check out, no
 * dist/, no data/, no config file), sharing only node_modules with this checkout: build (what `npm
 * install` runs as `prepare`), then `npm start`.
 */
function freshClone(dir: string): string {
  const tree = path.join(dir, 'clone');
  mkdirSync(tree);
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: repo,
  })
    .toString('utf8')
    .split('\0')
    .filter((f) => f && existsSync(path.join(repo, f)));
  for (const f of files) {
    mkdirSync(path.dirname(path.join(tree, f)), { recursive: true });
    cpSync(path.join(repo, f), path.join(tree, f));
  }
  symlinkSync(path.join(repo, 'node_modules'), path.join(tree, 'node_modules'), 'dir');
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: tree, stdio: 'pipe' });
  return tree;
}

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env))
    if (k.startsWith('SWITCHBOARD_') || ['PORT', 'HOST', 'DATABASE_URL', 'REDIS_URL'].includes(k))
      delete env[k];
  return { ...env, npm_config_update_notifier: 'false', ...extra };
}

describe('the switchboard command', () => {
  let dir: string;
  let tree: string;
  const running: ManagedProcess[] = [];

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sb-cli-'));
    tree = freshClone(dir);
  });
  afterEach(async () => {
    for (const p of running.splice(0)) await p.stop();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function start(
    env: Record<string, string>,
    cwd = tree,
  ): Promise<{ proc: ManagedProcess; url: string }> {
    const proc = startProcess('switchboard', 'npm', ['start', '--silent'], {
      cwd,
      env: cleanEnv(env),
      detached: true,
    });
    running.push(proc);
    await proc.waitForOutput(/Switchboard is running at (http:\/\/\S+)/, 60000);
    const url = /Switchboard is running at (http:\/\/\S+)/.exec(proc.output)![1]!;
    return { proc, url };
  }

  it('starts on the embedded default with `npm start` and answers /healthz 200', async () => {
    const port = await freePort();
    const { proc, url } = await start({ PORT: String(port), SWITCHBOARD_ADMIN_PASSWORD: 'first-admin-pw' });
    expect(url).toBe(`http://127.0.0.1:${port}`);
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    // The web client is built by the same build and served at / (its own routes fall back to it),
    // without shadowing the API.
    for (const p of ['/', '/people']) {
      const page = await fetch(`${url}${p}`, { headers: { accept: 'text/html' } });
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toContain('text/html');
      expect(page.headers.get('cache-control')).toBe('no-cache');
      expect(await page.text()).toContain('<script');
    }
    const api404 = await fetch(`${url}/api/v1/no-such-thing`, { headers: { accept: 'text/html' } });
    expect(api404.headers.get('content-type')).toContain('application/json');
    // The embedded default: a SQLite file (and the queue's) under ./data, no other service.
    expect(existsSync(path.join(tree, 'data', 'switchboard.sqlite'))).toBe(true);
    expect(existsSync(path.join(tree, 'data', 'queue.sqlite'))).toBe(true);
    // The first admin was created from the environment.
    const login = await fetch(`${url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'first-admin-pw' }),
    });
    expect(login.status).toBe(200);
    // The admin password never reaches the log.
    expect(proc.output).not.toContain('first-admin-pw');
    // SIGTERM to the process group (as a terminal or a service manager sends it) shuts it down cleanly.
    await proc.stop();
    await proc.waitForOutput(/shutting down/).catch(() => undefined);
    const exit = await proc.exited;
    expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  it('migrate and doctor report in words', () => {
    const env = cleanEnv({ SWITCHBOARD_DATA_DIR: path.join(dir, 'doctor-data') });
    const migrate = spawnSync('node', ['bin/switchboard.js', 'migrate'], {
      cwd: tree,
      env,
      encoding: 'utf8',
    });
    expect(migrate.status).toBe(0);
    expect(migrate.stdout).toMatch(/applied \d+ migration|up to date/);
    const doctor = spawnSync('node', ['bin/switchboard.js', 'doctor'], { cwd: tree, env, encoding: 'utf8' });
    expect(doctor.stdout).toContain('[ok]   storage');
    expect(doctor.stdout).toContain('[ok]   queue');
    expect(doctor.stdout).toContain('Everything looks right.');
    expect(doctor.status).toBe(0);
    // A broken setting is named by doctor and by start, with exit code 2.
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, 'server:\n  port: "abc"\n');
    const d2 = spawnSync('node', ['bin/switchboard.js', 'doctor'], {
      cwd: tree,
      env: { ...env, SWITCHBOARD_CONFIG: bad },
      encoding: 'utf8',
    });
    expect(d2.status).toBe(2);
    expect(d2.stdout).toContain('server.port');
    const s2 = spawnSync('node', ['bin/switchboard.js', 'start'], {
      cwd: tree,
      env: { ...env, SWITCHBOARD_CONFIG: bad },
      encoding: 'utf8',
    });
    expect(s2.status).toBe(2);
    expect(s2.stderr).toContain('server.port');
    expect(s2.stderr).toContain(bad);
  });

  describe('an adapter installed as its own npm package and named only in the config file', () => {
    let site: string;
    beforeAll(() => {
      // The operator's folder: config file + node_modules with the adapter packages.
      const siteDir = path.join(dir, 'site');
      mkdirSync(siteDir);
      site = installFixtures(siteDir, ['external-adapter', 'external-adapter-incompatible']);
    });

    function writeConfig(name: string, cfg: object): string {
      const file = path.join(site, name);
      writeFileSync(file, stringify({ dataDir: path.join(site, 'data-' + name), ...cfg }));
      return file;
    }

    it('is loaded and listed by GET /api/v1/adapters', async () => {
      const file = writeConfig('ok.yaml', {
        server: { port: await freePort() },
        adapters: [{ id: 'echo', package: 'switchboard-adapter-echo', options: { prefix: 'echo: ' } }],
      });
      const { url } = await start({ SWITCHBOARD_CONFIG: file, SWITCHBOARD_ADMIN_PASSWORD: 'first-admin-pw' });
      const login = (await (
        await fetch(`${url}/api/v1/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'admin', password: 'first-admin-pw' }),
        })
      ).json()) as { token: string };
      const res = await fetch(`${url}/api/v1/adapters`, {
        headers: { authorization: `Bearer ${login.token}` },
      });
      expect(res.status).toBe(200);
      const list = (await res.json()) as { id: string; version: string; source: { kind: string } }[];
      expect(list).toEqual([
        expect.objectContaining({
          id: 'echo',
          version: '1.2.3',
          source: expect.objectContaining({ kind: 'package' }),
        }),
      ]);
    });

    it.each([
      [
        'an incompatible SDK range',
        { adapters: [{ id: 'echo2', package: 'switchboard-adapter-echo2' }] },
        new RegExp(
          `echo2.*needs SDK \\^2\\.0\\.0 but this gateway provides ${SDK_VERSION.replace(/\./g, '\\.')}`,
        ),
      ],
      [
        'invalid adapter options',
        { adapters: [{ id: 'echo', package: 'switchboard-adapter-echo', options: { prefix: 42 } }] },
        /echo/,
      ],
      [
        'an account with invalid options',
        {
          adapters: [{ id: 'echo', package: 'switchboard-adapter-echo' }],
          accounts: [{ owner: 'admin', adapter: 'echo', label: 'broken', options: { nope: true } }],
        },
        /accounts\[0\].*echo/,
      ],
    ])('refuses to boot with %s, naming it (exit 2)', (name, cfg, pattern) => {
      const file = writeConfig(`bad-${name.replace(/\W+/g, '-')}.yaml`, cfg);
      const r = spawnSync('node', [path.join(tree, 'bin/switchboard.js'), 'start'], {
        cwd: site,
        env: cleanEnv({ SWITCHBOARD_CONFIG: file, PORT: '1' }),
        encoding: 'utf8',
        timeout: 60000,
      });
      expect(r.stderr).toMatch(pattern);
      expect(r.status).toBe(2);
    });
  });
});
