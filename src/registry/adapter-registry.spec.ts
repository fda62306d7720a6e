import { defineAdapter, type NetworkClient, z } from '../sdk';
import { AdapterRegistry } from './adapter-registry';
import { UnknownAdapterError } from './registry-errors';

const manifest = defineAdapter({
  id: 'demo',
  displayName: 'Demo',
  version: '2.3.4',
  sdk: '^1.0.0',
  capabilities: { presence: true, maxMessageBytes: 400 },
  optionsSchema: z.object({
    host: z.string(),
    port: z.number().int().default(6667),
    password: z.string().optional(),
  }),
  secretOptions: ['password'],
  createClient: (): NetworkClient => {
    throw new Error('not used here');
  },
});
const registry = new AdapterRegistry([
  { manifest, source: { kind: 'folder', location: '/x/adapters/demo' } },
]);

describe('AdapterRegistry', () => {
  it('lists what GET /api/v1/adapters shows', () => {
    expect(registry.list()).toEqual([
      {
        id: 'demo',
        displayName: 'Demo',
        version: '2.3.4',
        sdk: '^1.0.0',
        capabilities: { presence: true, maxMessageBytes: 400 },
        source: { kind: 'folder', location: '/x/adapters/demo' },
      },
    ]);
    expect(registry.get('demo')?.manifest).toBe(manifest);
    expect(registry.get('nope')).toBeUndefined();
  });

  it('validates account options and returns the parsed value', async () => {
    await expect(registry.validateAccountOptions('demo', { host: 'h' })).resolves.toEqual({
      ok: true,
      value: { host: 'h', port: 6667 },
    });
    const bad = await registry.validateAccountOptions('demo', { host: 1, port: 'x' });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.issues.map((i) => i.path).sort()).toEqual(['host', 'port']);
  });

  it('answers an unknown adapter with an issue, not a throw', async () => {
    const r = await registry.validateAccountOptions('nope', {});
    expect(r).toEqual({
      ok: false,
      issues: [{ path: 'adapter', message: 'unknown adapter "nope" (loaded: demo)' }],
    });
    expect(() => registry.splitSecrets('nope', {})).toThrow(UnknownAdapterError);
  });

  it('splits, merges and masks secrets by the manifest paths', () => {
    const opts = { host: 'h', port: 1, password: 's3cret' };
    const split = registry.splitSecrets('demo', opts);
    expect(split).toEqual({ public: { host: 'h', port: 1 }, secrets: { password: 's3cret' } });
    expect(registry.mergeSecrets('demo', split.public, split.secrets)).toEqual(opts);
    expect(registry.maskSecrets('demo', opts)).toEqual({ host: 'h', port: 1, password: '********' });
  });

  it('refuses two adapters with one id', () => {
    expect(
      () =>
        new AdapterRegistry([
          { manifest, source: { kind: 'folder', location: 'a' } },
          { manifest, source: { kind: 'path', location: 'b' } },
        ]),
    ).toThrow('adapter "demo" is registered twice');
  });
});

describe('AdapterRegistry.loginKeyOf', () => {
  const withKey = (loginKey: (o: { host: string }) => string) =>
    new AdapterRegistry([
      {
        manifest: defineAdapter({
          ...manifest,
          id: 'keyed',
          optionsSchema: z.object({ host: z.string() }),
          loginKey,
        }),
        source: { kind: 'folder', location: '/x/adapters/keyed' },
      },
    ]);

  it("is the adapter's key, or null when it names none, throws or answers an empty one", () => {
    expect(withKey((o) => `me at ${o.host}`).loginKeyOf('keyed', { host: 'h' })).toBe('me at h');
    expect(registry.loginKeyOf('demo', { host: 'h' })).toBeNull();
    const throwing = withKey(() => {
      throw new Error('adapter bug');
    });
    expect(throwing.loginKeyOf('keyed', { host: 'h' })).toBeNull();
    expect(withKey(() => '').loginKeyOf('keyed', { host: 'h' })).toBeNull();
  });

  it('is checked by the manifest shape check', () => {
    expect(() => defineAdapter({ ...manifest, loginKey: 'host' as never })).toThrow(
      /loginKey, when given, must be a function/,
    );
  });
});
