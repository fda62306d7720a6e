import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from './config.error';
import { buildConfig, loadConfig, type LoadConfigOptions } from './config.loader';

const KEY = Buffer.alloc(32, 7).toString('base64');

let dir: string;
let adaptersDir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sb-config-'));
  adaptersDir = join(dir, 'bundled');
  for (const id of ['irc', 'xmpp']) {
    mkdirSync(join(adaptersDir, id), { recursive: true });
    writeFileSync(join(adaptersDir, id, 'index.ts'), 'export default {};\n');
  }
  // A folder without an entry point is not an adapter.
  mkdirSync(join(adaptersDir, 'notes'));
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = join(dir, name);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, text);
  return file;
}

function load(opts: LoadConfigOptions = {}) {
  return loadConfig({ cwd: dir, env: {}, adaptersDir, stdoutIsTTY: false, ...opts });
}

function loadError(opts: LoadConfigOptions = {}): ConfigError {
  try {
    load(opts);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('defaults', () => {
  it('needs no file and no environment', () => {
    const c = load();
    expect(c.mode).toBe('embedded');
    expect(c.configFile).toBeUndefined();
    expect(c.server).toEqual({
      host: '127.0.0.1',
      port: 8080,
      bodyLimitBytes: 1024 * 1024,
      trustProxy: false,
    });
    expect(c.dataDir).toBe(join(dir, 'data'));
    expect(c.database).toEqual({
      sqlitePath: join(dir, 'data', 'switchboard.sqlite'),
      sqliteSynchronous: 'full',
    });
    expect(c.queue).toEqual({
      embeddedPath: join(dir, 'data', 'queue.sqlite'),
      concurrency: 4,
      maxAttempts: 10,
      backoffBaseMs: 1000,
      backoffMaxMs: 300000,
    });
    expect(c.security).toEqual({
      secretKeyFile: join(dir, 'data', 'secret.key'),
      tokenTtlHours: 720,
      loginRateLimit: { maxAttempts: 10, windowSeconds: 60 },
    });
    expect(c.admin).toEqual({ username: 'admin' });
    expect(c.events).toEqual({ replayLimit: 1000, retentionHours: 24, clientBufferBytes: 4 * 1024 * 1024 });
    expect(c.log).toEqual({ level: 'info', format: 'json' });
    expect(c.accounts).toEqual([]);
    expect(c.bridges).toEqual([]);
    expect(c.envOverrides).toEqual([]);
  });

  it('loads every bundled adapter folder that has an entry point when adapters is left out', () => {
    expect(load().adapters).toEqual([
      { id: 'irc', kind: 'folder', enabled: true, options: {} },
      { id: 'xmpp', kind: 'folder', enabled: true, options: {} },
    ]);
    write('config/switchboard.yaml', 'adapters: []\n');
    expect(load().adapters).toEqual([]);
  });

  it('logs pretty on a terminal and json otherwise', () => {
    expect(load({ stdoutIsTTY: true }).log.format).toBe('pretty');
    expect(load({ stdoutIsTTY: false }).log.format).toBe('json');
    write('config/switchboard.yaml', 'log:\n  format: json\n');
    expect(load({ stdoutIsTTY: true }).log.format).toBe('json');
  });

  it('treats a section whose keys are all commented out as unset', () => {
    write('config/switchboard.yaml', 'server:\n  # port: 9000\ndatabase:\nlog:\n');
    expect(load().server.port).toBe(8080);
  });

  it('returns a frozen configuration', () => {
    const c = load();
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.server)).toBe(true);
    expect(() => {
      (c.server as { port: number }).port = 1;
    }).toThrow(TypeError);
  });
});

describe('which file', () => {
  it('reads config/switchboard.yaml from the working directory when present', () => {
    const file = write('config/switchboard.yaml', 'server:\n  port: 9001\n');
    const c = load();
    expect(c.server.port).toBe(9001);
    expect(c.configFile).toBe(file);
  });

  it('prefers SWITCHBOARD_CONFIG, and an explicit file over both', () => {
    write('config/switchboard.yaml', 'server:\n  port: 9001\n');
    write('other.yaml', 'server:\n  port: 9002\n');
    write('third.yaml', 'server:\n  port: 9003\n');
    expect(load({ env: { SWITCHBOARD_CONFIG: 'other.yaml' } }).server.port).toBe(9002);
    expect(load({ env: { SWITCHBOARD_CONFIG: 'other.yaml' }, file: 'third.yaml' }).server.port).toBe(9003);
  });

  it('refuses a SWITCHBOARD_CONFIG that names a missing file, naming the variable', () => {
    const e = loadError({ env: { SWITCHBOARD_CONFIG: 'nope.yaml' } });
    expect(e.key).toBe('SWITCHBOARD_CONFIG');
    expect(e.message).toBe('SWITCHBOARD_CONFIG: nope.yaml: the config file does not exist');
  });

  it('refuses an explicit file that is missing or a folder', () => {
    expect(loadError({ file: 'missing.yaml' }).message).toBe('missing.yaml: the config file does not exist');
    mkdirSync(join(dir, 'adir'));
    expect(loadError({ file: 'adir' }).message).toBe('adir: the config file is a folder, not a file');
  });

  it('shows a file outside the working directory by its absolute path', () => {
    const other = mkdtempSync(join(tmpdir(), 'sb-config-other-'));
    try {
      writeFileSync(join(other, 'c.yaml'), 'server:\n  port: 0\n');
      const e = loadError({ file: join(other, 'c.yaml') });
      expect(e.file).toBe(join(other, 'c.yaml'));
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});

describe('environment overrides', () => {
  it('overrides the file key by key, with the documented names', () => {
    write(
      'config/switchboard.yaml',
      'server:\n  host: 0.0.0.0\n  port: 9000\nlog:\n  level: debug\nadmin:\n  username: root\n',
    );
    const c = load({
      env: {
        HOST: '::1',
        PORT: '9100',
        SWITCHBOARD_DATA_DIR: 'state',
        SWITCHBOARD_ADMIN_USER: 'boss',
        SWITCHBOARD_ADMIN_PASSWORD: 'pw-123456',
        SWITCHBOARD_LOG_LEVEL: 'warn',
        SWITCHBOARD_LOG_FORMAT: 'pretty',
        SWITCHBOARD_SECRET_KEY: KEY,
        REDIS_URL: 'redis://127.0.0.1:6379',
      },
    });
    expect(c.server.host).toBe('::1');
    expect(c.server.port).toBe(9100);
    expect(c.dataDir).toBe(join(dir, 'state'));
    expect(c.database.sqlitePath).toBe(join(dir, 'state', 'switchboard.sqlite'));
    expect(c.admin).toEqual({ username: 'boss', password: 'pw-123456' });
    expect(c.log).toEqual({ level: 'warn', format: 'pretty' });
    expect(c.security.secretKey).toBe(KEY);
    expect(c.queue.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(c.mode).toBe('embedded');
    expect([...c.envOverrides].sort()).toEqual(
      [
        'HOST',
        'PORT',
        'SWITCHBOARD_DATA_DIR',
        'SWITCHBOARD_ADMIN_USER',
        'SWITCHBOARD_ADMIN_PASSWORD',
        'SWITCHBOARD_LOG_LEVEL',
        'SWITCHBOARD_LOG_FORMAT',
        'SWITCHBOARD_SECRET_KEY',
        'REDIS_URL',
      ].sort(),
    );
  });

  it('ignores empty variables', () => {
    expect(load({ env: { PORT: '', DATABASE_URL: '' } })).toMatchObject({
      mode: 'embedded',
      server: { port: 8080 },
    });
  });

  it('names the variable when its value has the wrong type', () => {
    const e = loadError({ env: { PORT: 'abc' } });
    expect(e.key).toBe('PORT');
    expect(e.file).toBeUndefined();
    expect(e.message).toBe(
      'PORT: expected an integer from 1 to 65535, got "abc" (the environment variable overrides server.port)',
    );
    expect(loadError({ env: { PORT: '70000' } }).message).toContain(
      'PORT: expected an integer from 1 to 65535, got 70000',
    );
    expect(loadError({ env: { SWITCHBOARD_LOG_LEVEL: 'loud' } }).message).toBe(
      'SWITCHBOARD_LOG_LEVEL: expected one of: debug, info, warn, error, got "loud" ' +
        '(the environment variable overrides log.level)',
    );
  });

  it('names the variable, not the file, even when the file also sets the key', () => {
    write('config/switchboard.yaml', 'server:\n  port: 9000\n');
    const e = loadError({ env: { PORT: '-1' } });
    expect(e.key).toBe('PORT');
    expect(e.line).toBeUndefined();
  });
});

describe('cluster mode', () => {
  const cluster = {
    DATABASE_URL: 'postgres://sb:db-pass@127.0.0.1:5432/sb',
    REDIS_URL: 'redis://127.0.0.1:6379',
  };

  it('is chosen by a PostgreSQL URL', () => {
    const c = load({ env: { ...cluster, SWITCHBOARD_SECRET_KEY: KEY } });
    expect(c.mode).toBe('cluster');
    expect(c.database.url).toBe(cluster.DATABASE_URL);
    const c2 = load({ env: { ...cluster, DATABASE_URL: 'postgresql://h/db', SWITCHBOARD_SECRET_KEY: KEY } });
    expect(c2.mode).toBe('cluster');
  });

  it('requires the secret key, naming it and the variable that set cluster mode', () => {
    const e = loadError({ env: cluster });
    expect(e.key).toBe('security.secretKey');
    expect(e.message).toContain('security.secretKey: required in cluster mode (DATABASE_URL is set)');
    expect(e.message).toContain('SWITCHBOARD_SECRET_KEY');
  });

  it('requires Redis', () => {
    const e = loadError({ env: { DATABASE_URL: cluster.DATABASE_URL, SWITCHBOARD_SECRET_KEY: KEY } });
    expect(e.key).toBe('queue.redisUrl');
    expect(e.message).toContain('REDIS_URL');
  });

  it('names the file when the file set cluster mode', () => {
    write(
      'config/switchboard.yaml',
      `database:\n  url: ${cluster.DATABASE_URL}\nqueue:\n  redisUrl: redis://h\n`,
    );
    const e = loadError();
    expect(e.message).toBe(
      'config/switchboard.yaml: security.secretKey: required in cluster mode (database.url is set): every ' +
        'instance must use the same key. Set SWITCHBOARD_SECRET_KEY or security.secretKey to base64 of 32 ' +
        'random bytes (openssl rand -base64 32)',
    );
  });

  it('accepts only PostgreSQL URLs, masking their password in the message', () => {
    const e = loadError({ env: { DATABASE_URL: 'mysql://u:hunter2@h/db' } });
    expect(e.key).toBe('DATABASE_URL');
    expect(e.message).toContain('got "mysql://u:***@h/db"');
    expect(e.message).not.toContain('hunter2');
  });
});

describe('problems in the file', () => {
  it('a wrong type names the file, the key and the line', () => {
    write('config/switchboard.yaml', 'server:\n  host: 0.0.0.0\n  port: "abc"\n');
    const e = loadError();
    expect(e).toMatchObject({ file: 'config/switchboard.yaml', key: 'server.port', line: 3, column: 3 });
    expect(e.message).toBe(
      'config/switchboard.yaml: server.port (line 3): expected an integer from 1 to 65535, got "abc"',
    );
  });

  it('a missing required key names the key and the line of its entry', () => {
    write('config/switchboard.yaml', 'accounts:\n  - owner: alice\n    label: x\n');
    const e = loadError();
    expect(e.message).toBe(
      'config/switchboard.yaml: accounts[0].adapter (line 2): required key is missing (expected an adapter id)',
    );
  });

  it('an unknown key names it, suggests the near one and lists the allowed keys', () => {
    write('config/switchboard.yaml', 'server:\n  prot: 80\n');
    expect(loadError().message).toBe(
      'config/switchboard.yaml: server.prot (line 2): unknown key "prot" (did you mean "port"?); ' +
        'allowed here: host, port, bodyLimitBytes, publicUrl, trustProxy',
    );
    write('config/switchboard.yaml', 'logging:\n  level: info\n');
    const e = loadError();
    expect(e.key).toBe('logging');
    expect(e.message).toContain('allowed here: server, dataDir, database, queue, security, admin, adapters');
    write('config/switchboard.yaml', 'adapters:\n  - id: irc\n    pakage: x\n');
    expect(loadError().message).toContain(
      'adapters[0].pakage (line 3): unknown key "pakage" (did you mean "package"?)',
    );
  });

  it('a YAML syntax error names the key it is in and its line, without quoting the text', () => {
    write('config/switchboard.yaml', 'server:\n  port: 8080\nadmin:\n  password: "hunter2\n');
    const e = loadError();
    expect(e.key).toBe('admin.password');
    expect(e.line).toBe(4);
    expect(e.message).toBe(
      'config/switchboard.yaml: admin.password (line 4): YAML syntax error: Missing closing "quote (noticed at line 5)',
    );
    expect(e.message).not.toContain('hunter2');

    write('config/switchboard.yaml', 'server:\n  port: 1\n  port: 2\n');
    expect(loadError().message).toBe(
      'config/switchboard.yaml: server.port (line 3): YAML syntax error: Map keys must be unique',
    );
    write('config/switchboard.yaml', 'server:\n  port: [8080\n  host: x\nlog:\n  level: info\n');
    expect(loadError()).toMatchObject({ key: 'server.port', line: 2 });
    write('config/switchboard.yaml', 'server:\n\tport: 8080\n');
    expect(loadError()).toMatchObject({ key: 'server', line: 2 });
  });

  it('lists every problem, in file order, not only the first', () => {
    write(
      'config/switchboard.yaml',
      [
        'server:',
        '  port: 0',
        '  bodyLimitBytes: 10',
        'queue:',
        '  concurrency: 2.5',
        'log:',
        '  level: loud',
        'events: 3',
      ].join('\n'),
    );
    const e = loadError();
    expect(e.problems.map((p) => [p.key, p.line])).toEqual([
      ['server.port', 2],
      ['server.bodyLimitBytes', 3],
      ['queue.concurrency', 5],
      ['log.level', 7],
      ['events', 8],
    ]);
    expect(e.message.split('\n')[0]).toBe('invalid configuration (5 problems):');
    expect(e.message).toContain(
      'config/switchboard.yaml: events (line 8): expected a mapping of keys, got 3',
    );
    expect(e.message).toContain('queue.concurrency (line 5): expected an integer of at least 1, got 2.5');
  });

  it('refuses a file that is not a mapping', () => {
    write('config/switchboard.yaml', '- a\n- b\n');
    expect(loadError().message).toBe(
      'config/switchboard.yaml: expected a mapping of keys (server:, log: …) at the top level, got a list of 2 entries',
    );
  });

  it('checks URLs, trustProxy and backoff ordering', () => {
    write('config/switchboard.yaml', 'server:\n  publicUrl: ftp://x\n  trustProxy: -1\n');
    const e = loadError();
    expect(e.problems.map((p) => p.problem)).toEqual([
      'expected an http:// or https:// URL, got "ftp://x"',
      'expected an integer of at least 0, got -1',
    ]);
    write('config/switchboard.yaml', 'server:\n  trustProxy: { a: 1 }\n');
    expect(loadError().problems[0]!.problem).toBe(
      'expected true or false, a number of proxy hops, or addresses of trusted proxies, got a mapping',
    );
    write('config/switchboard.yaml', 'queue:\n  backoffBaseMs: 5000\n  backoffMaxMs: 100\n');
    expect(loadError().message).toBe(
      'config/switchboard.yaml: queue.backoffMaxMs (line 3): must be at least backoffBaseMs (5000), got 100',
    );
    write(
      'config/switchboard.yaml',
      'server:\n  trustProxy: [loopback, 10.0.0.0/8]\n  publicUrl: https://x.org\n',
    );
    expect(load().server).toMatchObject({
      trustProxy: ['loopback', '10.0.0.0/8'],
      publicUrl: 'https://x.org',
    });
  });

  it('never shows the value of a secret in a message', () => {
    write(
      'config/switchboard.yaml',
      [
        'security:',
        '  secretKey: not-a-real-key-hunter2',
        'admin:',
        '  password: 123456789',
        'accounts:',
        '  - owner: a',
        '    adapter: irc',
        '    options: hunter2-in-options',
      ].join('\n'),
    );
    const e = loadError();
    expect(e.problems.map((p) => p.key)).toEqual([
      'security.secretKey',
      'admin.password',
      'accounts[0].options',
    ]);
    expect(e.message).not.toMatch(/hunter2|123456789/);
    expect(e.message).toContain('security.secretKey (line 2): expected base64 of exactly 32 bytes');
    expect(loadError({ env: { SWITCHBOARD_SECRET_KEY: 'short-hunter2' } }).message).not.toContain('hunter2');
  });
});

describe('adapters and accounts', () => {
  it('resolves the three kinds of adapter entry', () => {
    mkdirSync(join(dir, 'mine', 'foo'), { recursive: true });
    write(
      'config/switchboard.yaml',
      [
        'adapters:',
        '  - id: irc',
        '    options: { motd: false }',
        '  - id: foo',
        '    path: mine/foo',
        '  - id: acme',
        '    package: "@acme/sb-adapter"',
        '    enabled: false',
      ].join('\n'),
    );
    expect(load().adapters).toEqual([
      { id: 'irc', kind: 'folder', enabled: true, options: { motd: false } },
      { id: 'foo', kind: 'path', path: join(dir, 'mine', 'foo'), enabled: true, options: {} },
      { id: 'acme', kind: 'package', package: '@acme/sb-adapter', enabled: false, options: {} },
    ]);
  });

  it('names both entries of a duplicate id', () => {
    write(
      'config/switchboard.yaml',
      'adapters:\n  - id: irc\n  - id: xmpp\n  - id: irc\n    enabled: false\n',
    );
    expect(loadError().message).toBe(
      'config/switchboard.yaml: adapters[2].id (line 4): duplicate adapter id "irc": adapters[0] and adapters[2] both use it',
    );
  });

  it('refuses a bundled id without a folder, a missing path, and path with package', () => {
    write(
      'config/switchboard.yaml',
      'adapters:\n  - id: irk\n  - id: foo\n    path: nowhere\n  - id: bar\n    path: x\n    package: y\n',
    );
    const e = loadError();
    expect(e.problems.map((p) => [p.key, p.problem.split(';')[0]])).toEqual([
      ['adapters[0].id', `no bundled adapter "irk" (no folder ${join(adaptersDir, 'irk')})`],
      ['adapters[1].path', `no folder at ${join(dir, 'nowhere')}`],
      ['adapters[2]', 'give either path or package, not both'],
    ]);
    expect(e.problems[0]!.problem).toContain('bundled: irc, xmpp');
  });

  it('does not look for the code of a disabled adapter', () => {
    write('config/switchboard.yaml', 'adapters:\n  - id: gone\n    enabled: false\n');
    expect(load().adapters).toEqual([{ id: 'gone', kind: 'folder', enabled: false, options: {} }]);
  });

  it('refuses an account whose adapter is not configured', () => {
    write(
      'config/switchboard.yaml',
      'adapters:\n  - id: irc\naccounts:\n  - owner: alice\n    adapter: xmpp\n    options: { jid: a@b }\n',
    );
    expect(loadError().message).toBe(
      'config/switchboard.yaml: accounts[0].adapter (line 5): unknown adapter "xmpp": it must appear in adapters (configured: irc)',
    );
  });

  it('keeps accounts and bridges as written, options unchecked', () => {
    write(
      'config/switchboard.yaml',
      [
        'accounts:',
        '  - owner: alice',
        '    adapter: irc',
        '    label: libera',
        '    options: { host: irc.example.org, password: p }',
        'bridges:',
        '  - conversations:',
        '      - { account: libera, room: "#a" }',
        '      - { account: libera, room: "#b" }',
      ].join('\n'),
    );
    const c = load();
    expect(c.accounts).toEqual([
      {
        owner: 'alice',
        adapter: 'irc',
        label: 'libera',
        options: { host: 'irc.example.org', password: 'p' },
      },
    ]);
    expect(c.bridges).toEqual([
      {
        conversations: [
          { account: 'libera', room: '#a' },
          { account: 'libera', room: '#b' },
        ],
        options: {},
      },
    ]);
  });

  it('a bridge links at least two conversations', () => {
    write('config/switchboard.yaml', 'bridges:\n  - conversations:\n      - { account: a, room: b }\n');
    expect(loadError().message).toBe(
      'config/switchboard.yaml: bridges[0].conversations (line 2): expected at least two conversations to link, got a list of 1 entry',
    );
  });
});

describe('paths', () => {
  it('resolves relative paths against the working directory', () => {
    write(
      'config/switchboard.yaml',
      'dataDir: var/sb\ndatabase:\n  sqlitePath: db/main.sqlite\nqueue:\n  embeddedPath: /abs/q.sqlite\n',
    );
    const c = load();
    expect(c.dataDir).toBe(join(dir, 'var', 'sb'));
    expect(c.database.sqlitePath).toBe(join(dir, 'db', 'main.sqlite'));
    expect(c.queue.embeddedPath).toBe('/abs/q.sqlite');
    expect(c.security.secretKeyFile).toBe(join(dir, 'var', 'sb', 'secret.key'));
  });
});

describe('buildConfig', () => {
  it('builds from an object, ignoring the process environment unless given one', () => {
    const c = buildConfig({ server: { port: 9999 } }, { cwd: dir, adaptersDir, stdoutIsTTY: false });
    expect(c.server.port).toBe(9999);
    expect(buildConfig({}, { cwd: dir, adaptersDir, env: { PORT: '7000' } }).server.port).toBe(7000);
  });

  it('reports problems by key, without a file', () => {
    expect(() => buildConfig({ server: { port: 'x' } }, { cwd: dir, adaptersDir })).toThrow(
      new ConfigError([{ key: 'server.port', problem: 'expected an integer from 1 to 65535, got "x"' }]),
    );
  });
});
