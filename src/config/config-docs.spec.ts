import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configJsonSchema, configKeys } from './config-keys';
import { renderExampleYaml, renderKeyTable, renderEnvTable } from './config-docs';
import { buildConfig, loadConfig } from './config.loader';

const root = join(__dirname, '..', '..');

describe('the schema annotations', () => {
  it('describe every key', () => {
    for (const k of configKeys()) expect([k.path, k.description.length > 10]).toEqual([k.path, true]);
  });

  it('name exactly the documented environment variables', () => {
    const env = Object.fromEntries(
      configKeys().flatMap((k) => (k.env !== undefined ? [[k.env, k.path]] : [])),
    );
    expect(env).toEqual({
      HOST: 'server.host',
      PORT: 'server.port',
      SWITCHBOARD_DATA_DIR: 'dataDir',
      DATABASE_URL: 'database.url',
      REDIS_URL: 'queue.redisUrl',
      SWITCHBOARD_SECRET_KEY: 'security.secretKey',
      SWITCHBOARD_ADMIN_USER: 'admin.username',
      SWITCHBOARD_ADMIN_PASSWORD: 'admin.password',
      SWITCHBOARD_LOG_LEVEL: 'log.level',
      SWITCHBOARD_LOG_FORMAT: 'log.format',
    });
  });

  it('mark the secrets', () => {
    const sensitive = Object.fromEntries(
      configKeys().flatMap((k) => (k.sensitive !== undefined ? [[k.path, k.sensitive]] : [])),
    );
    expect(sensitive).toEqual({
      'database.url': 'url-credentials',
      'queue.redisUrl': 'url-credentials',
      'security.secretKey': 'secret',
      'admin.password': 'secret',
      'calls.turnSecret': 'secret',
      'calls.turnPassword': 'secret',
    });
  });

  it('give every optional key without a fixed default an example or a default in words', () => {
    const bare = configKeys().filter(
      (k) => !k.required && !k.hasDefault && k.example === undefined && k.defaultText === undefined,
    );
    // Keys of list entries are documented in their list's example instead.
    expect(bare.filter((k) => !k.path.includes('[]')).map((k) => k.path)).toEqual([]);
  });

  it('make the JSON schema refuse unknown keys everywhere', () => {
    const objects: unknown[] = [];
    const walk = (n: unknown): void => {
      if (typeof n !== 'object' || n === null) return;
      const node = n as Record<string, unknown>;
      if (node.type === 'object' && node.properties !== undefined) objects.push(node.additionalProperties);
      Object.values(node).forEach(walk);
    };
    walk(configJsonSchema());
    expect(objects.length).toBeGreaterThan(10);
    expect(new Set(objects)).toEqual(new Set([false]));
  });
});

describe('config/switchboard.example.yaml', () => {
  const file = join(root, 'config', 'switchboard.example.yaml');
  const text = readFileSync(file, 'utf8');

  it('is valid and states the defaults', () => {
    const opts = { cwd: '/srv/sb', env: {}, adaptersDir: '/nonexistent', stdoutIsTTY: false };
    const { configFile, ...fromExample } = loadConfig({ ...opts, file });
    const { configFile: none, ...fromDefaults } = loadConfig(opts);
    expect(configFile).toBe(file);
    expect(none).toBeUndefined();
    expect(fromExample).toEqual(fromDefaults);
  });

  it('documents every key and every environment variable', () => {
    for (const k of configKeys()) {
      const name = k.segments[k.segments.length - 1]!;
      const inEntry = k.path.includes('[]');
      const pattern = inEntry
        ? new RegExp(`^#\\s+- ${name} \\(`, 'm')
        : new RegExp(`^${'  '.repeat(k.segments.length - 1)}(# )?${name}:`, 'm');
      expect([k.path, pattern.test(text)]).toEqual([k.path, true]);
      if (k.env !== undefined) expect(text).toContain(`Environment: ${k.env}.`);
      if (!inEntry) expect(text).toContain(k.description.split(' ').slice(0, 6).join(' '));
    }
  });

  it('shows examples that are themselves valid configuration', () => {
    // Every example value from the schema, set at its key, with a real key for the placeholder.
    const dir = mkdtempSync(join(tmpdir(), 'sb-config-example-'));
    try {
      mkdirSync(join(dir, 'bundled', 'irc'), { recursive: true });
      writeFileSync(join(dir, 'bundled', 'irc', 'index.ts'), '');
      mkdirSync(join(dir, 'local-adapters', 'my-net'), { recursive: true });
      const raw: Record<string, unknown> = {};
      for (const k of configKeys().filter((x) => x.example !== undefined && !x.path.includes('[]'))) {
        let target = raw;
        for (const seg of k.segments.slice(0, -1)) target = (target[seg] ??= {}) as Record<string, unknown>;
        target[k.segments[k.segments.length - 1]!] =
          k.path === 'security.secretKey' ? Buffer.alloc(32).toString('base64') : k.example;
      }
      expect(Object.keys(raw).sort()).toEqual([
        'accounts',
        'adapters',
        'admin',
        'bridges',
        'calls',
        'database',
        'log',
        'queue',
        'security',
        'server',
      ]);
      const config = buildConfig(raw, { cwd: dir, adaptersDir: join(dir, 'bundled') });
      expect(config.mode).toBe('cluster');
      expect(config.adapters.map((a) => a.kind)).toEqual(['folder', 'folder', 'path', 'package']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('matches what the schema renders (regenerate: node scripts/gen-config-schema.js)', () => {
    expect(text).toBe(renderExampleYaml());
  });
});

describe('docs/configuration.md', () => {
  const text = readFileSync(join(root, 'docs', 'configuration.md'), 'utf8');

  it('holds the current key and environment tables (regenerate: node scripts/gen-config-schema.js)', () => {
    expect(text).toContain(renderKeyTable());
    expect(text).toContain(renderEnvTable());
  });
});
