import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AdapterBootError, loadAdapters } from '../../src/registry';
import { silentLogger } from './registry-harness';

/** Small JavaScript adapters written to a temp adapters/ folder, one per failure the loader must name. */
const manifest = (id: string, extra = '') => `{
  id: '${id}', displayName: '${id}', version: '1.0.0', sdk: '^1.0.0', capabilities: {},
  optionsSchema: { '~standard': { version: 1, vendor: 't', validate: (value) => ({ value }) } },
  createClient() { throw new Error('not used'); },
  ${extra}
}`;

const adapters: Record<string, string> = {
  esm: `Object.defineProperty(exports, '__esModule', { value: true }); exports.default = ${manifest('esm')};`,
  cjs: `module.exports = ${manifest('cjs', "init: async (o) => { if (o.level !== 3) throw new Error('bad level'); },")};`,
  shapeless: `module.exports = { id: 'shapeless', version: 1 };`,
  badrange: `module.exports = Object.assign(${manifest('badrange')}, { sdk: 'one point oh' });`,
  initfails: `module.exports = ${manifest('initfails', "init: async () => { throw new Error('no database'); },")};`,
  inithangs: `module.exports = ${manifest('inithangs', 'init: () => new Promise(() => {}),')};`,
  syntax: `module.exports = {;`,
  schemaopts: `module.exports = ${manifest(
    'schemaopts',
    "adapterOptionsSchema: { '~standard': { version: 1, vendor: 't', validate: (v) => typeof v.level === 'number' ? { value: v } : { issues: [{ path: ['level'], message: 'level must be a number' }] } } },",
  )};`,
};

describe('loadAdapters', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sb-loader-'));
    for (const [id, code] of Object.entries(adapters)) {
      mkdirSync(path.join(dir, id));
      writeFileSync(path.join(dir, id, 'index.js'), code);
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const load = (specs: Parameters<typeof loadAdapters>[0]) =>
    loadAdapters(specs, { logger: silentLogger, adaptersDir: dir, initTimeoutMs: 200 });

  it('takes a default export or module.exports, validates adapter options and runs init', async () => {
    const loaded = await load([{ id: 'esm' }, { id: 'schemaopts', options: { level: 3 } }]);
    expect(loaded.map((l) => l.manifest.id)).toEqual(['esm', 'schemaopts']);
  });

  it('refuses each broken adapter with a reason, all in one error', async () => {
    const err = (await load([
      { id: 'esm' },
      { id: 'cjs', options: { level: 3 } },
      { id: 'shapeless' },
      { id: 'badrange' },
      { id: 'initfails' },
      { id: 'inithangs' },
      { id: 'syntax' },
      { id: 'schemaopts', options: { level: 'high' } },
    ]).catch((e: unknown) => e)) as AdapterBootError;
    expect(err).toBeInstanceOf(AdapterBootError);
    const reasons = Object.fromEntries(err.failures.map((f) => [f.adapterId, f.reason]));
    expect(Object.keys(reasons)).toEqual([
      'cjs',
      'shapeless',
      'badrange',
      'initfails',
      'inithangs',
      'syntax',
      'schemaopts',
    ]);
    expect(reasons.cjs).toBe('takes no adapter options, but config gives some');
    expect(reasons.shapeless).toMatch(
      /^does not export a valid adapter manifest: .*displayName must be a non-empty string/,
    );
    expect(reasons.badrange).toBe('declares an invalid SDK range "one point oh"');
    expect(reasons.initfails).toBe('failed to initialise: no database');
    expect(reasons.inithangs).toBe('failed to initialise: init() did not finish within 200 ms');
    expect(reasons.syntax).toMatch(/^failed to load: /);
    expect(reasons.schemaopts).toBe('has invalid options: level: level must be a number');
    expect(err.failures[0]?.message).toBe(
      `adapter "cjs" (folder ${path.join(dir, 'cjs')}) takes no adapter options, but config gives some`,
    );
  });

  it('skips a disabled adapter without looking for it', async () => {
    await expect(load([{ id: 'missing', enabled: false }])).resolves.toEqual([]);
  });

  it('resolves a relative path against baseDir', async () => {
    const loaded = await loadAdapters([{ id: 'esm', path: './esm' }], { logger: silentLogger, baseDir: dir });
    expect(loaded[0]?.source).toEqual({ kind: 'path', location: path.join(dir, 'esm') });
    const err = (await loadAdapters([{ id: 'esm', path: './nowhere' }], {
      logger: silentLogger,
      baseDir: dir,
    }).catch((e: unknown) => e)) as AdapterBootError;
    expect(err.failures[0]?.message).toBe(`adapter "esm" (path ${path.join(dir, 'nowhere')}) does not exist`);
  });
});
