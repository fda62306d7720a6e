import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// The real entry point in a real child process: what an operator sees, and the exit code a service
// manager sees, when the configuration is bad.

const root = resolve(__dirname, '..', '..');
const entry = join(root, 'src', 'config', 'check-config.ts');
const register = join(root, 'test', 'support', 'ts-register.js');
const SECRET_KEY = Buffer.alloc(32, 0x5a).toString('base64');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sb-config-exit-'));
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Runs check-config in `dir` with a config file holding `yaml`, and only the environment given. */
async function checkConfig(yaml: string | undefined, env: Record<string, string> = {}): Promise<Run> {
  if (yaml !== undefined) writeFileSync(join(dir, 'switchboard.yaml'), yaml);
  const child = spawn(process.execPath, ['-r', register, entry], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      ...(yaml !== undefined && { SWITCHBOARD_CONFIG: 'switchboard.yaml' }),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const code = await new Promise<number | null>((done) => child.once('close', (c) => done(c)));
  return { code, stdout, stderr };
}

describe('check-config as a process', () => {
  it('exits 0 and prints the effective configuration for a valid file', async () => {
    const run = await checkConfig('server:\n  port: 9123\nadapters: []\n');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const printed = JSON.parse(run.stdout);
    expect(printed).toMatchObject({ mode: 'embedded', server: { port: 9123 }, dataDir: join(dir, 'data') });
  });

  it('exits 2 naming the file and the key for a missing required key', async () => {
    const run = await checkConfig('adapters: []\naccounts:\n  - owner: alice\n    options: {}\n');
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'switchboard.yaml: accounts[0].adapter (line 3): required key is missing (expected an adapter id)\n',
    );
    expect(run.stdout).toBe('');
  });

  it('exits 2 naming the file and the key for a wrong type', async () => {
    const run = await checkConfig('server:\n  port: "abc"\n');
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'switchboard.yaml: server.port (line 2): expected an integer from 1 to 65535, got "abc"\n',
    );
  });

  it('exits 2 naming the file, the key and the line for a YAML syntax error', async () => {
    const run = await checkConfig('server:\n  host: 127.0.0.1\n  port: [8080\nlog:\n  level: info\n');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^switchboard\.yaml: server\.port \(line 3\): YAML syntax error: .+\n$/);
    const line = Number(/\(line (\d+)\)/.exec(run.stderr)?.[1]);
    expect(line).toBeGreaterThanOrEqual(3);
  });

  it('exits 2 naming the file and the key for an unknown key', async () => {
    const run = await checkConfig('server:\n  prot: 8080\n');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      'switchboard.yaml: server.prot (line 2): unknown key "prot" (did you mean "port"?)',
    );
  });

  it('exits 2 naming the variable for an environment value of the wrong type', async () => {
    const run = await checkConfig(undefined, { PORT: 'abc' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('PORT: expected an integer from 1 to 65535, got "abc"');
  });

  it('exits 2 when SWITCHBOARD_CONFIG names a missing file', async () => {
    const run = await checkConfig(undefined, { SWITCHBOARD_CONFIG: 'absent.yaml' });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('SWITCHBOARD_CONFIG: absent.yaml: the config file does not exist\n');
  });

  it('exits 2 in cluster mode without a secret key, naming the key', async () => {
    const run = await checkConfig('adapters: []\n', {
      DATABASE_URL: 'postgres://sb:pg-pass-771@127.0.0.1:5432/sb',
      REDIS_URL: 'redis://127.0.0.1:6379',
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('security.secretKey');
    expect(run.stderr).not.toContain('pg-pass-771');
  });

  describe('never prints a secret', () => {
    const secrets = [
      'admin-pw-4412',
      SECRET_KEY,
      'pg-pass-9931',
      'redis-pass-5521',
      'irc-pass-6630',
      'tok-8812',
    ];
    const file = [
      'database:',
      '  url: postgres://sb:pg-pass-9931@127.0.0.1:5432/sb',
      'queue:',
      '  redisUrl: redis://:redis-pass-5521@127.0.0.1:6379',
      'security:',
      `  secretKey: ${SECRET_KEY}`,
      'admin:',
      '  password: admin-pw-4412',
      'adapters:',
      '  - id: acme',
      '    package: acme-adapter',
      'accounts:',
      '  - owner: admin',
      '    adapter: acme',
      '    options: { nick: me, password: irc-pass-6630, sasl: { accessToken: tok-8812 } }',
    ].join('\n');

    function expectNoSecret(run: Run): void {
      for (const s of secrets) {
        expect(run.stdout).not.toContain(s);
        expect(run.stderr).not.toContain(s);
      }
    }

    it('when the file is valid', async () => {
      const run = await checkConfig(`${file}\n`);
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({
        mode: 'cluster',
        admin: { password: '***' },
        security: { secretKey: '***' },
        database: { url: 'postgres://sb:***@127.0.0.1:5432/sb' },
        accounts: [{ options: { nick: 'me', password: '***', sasl: { accessToken: '***' } } }],
      });
      expectNoSecret(run);
    });

    it('when the file has problems next to the secrets', async () => {
      const run = await checkConfig(`${file}\nserver:\n  port: 0\n`);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('server.port');
      expectNoSecret(run);
    });

    it('when a secret itself is invalid or breaks the YAML', async () => {
      const badKey = await checkConfig('security:\n  secretKey: admin-pw-4412\n');
      expect(badKey.code).toBe(2);
      expect(badKey.stderr).toContain('security.secretKey (line 2)');
      const broken = await checkConfig('admin:\n  password: "admin-pw-4412\n');
      expect(broken.code).toBe(2);
      expect(broken.stderr).toContain('admin.password');
      const fromEnv = await checkConfig(undefined, { SWITCHBOARD_SECRET_KEY: 'admin-pw-4412' });
      expect(fromEnv.code).toBe(2);
      expect(fromEnv.stderr).toContain('SWITCHBOARD_SECRET_KEY');
      for (const run of [badKey, broken, fromEnv]) expectNoSecret(run);
    });
  });
});
