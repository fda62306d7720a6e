import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import {
  ADAPTER_ID_PATTERN,
  type AdapterContext,
  type AdapterLogger,
  type AnyNetworkAdapter,
  describeManifestProblems,
  SDK_VERSION,
  validateWith,
} from '../sdk';
import {
  AdapterBootError,
  AdapterLoadError,
  type AdapterSource,
  describeDuration,
  errorMessage,
} from './registry-errors';
import { exposeSdkToAdapters } from './sdk-alias';

/** One adapter as the config names it: a folder under adapters/ (default), an explicit path, or a package. */
export interface AdapterSpec {
  id: string;
  path?: string;
  package?: string;
  /** The adapter's per-process options, validated with its `adapterOptionsSchema`. */
  options?: unknown;
  /** `false` leaves the adapter out entirely. */
  enabled?: boolean;
}

export interface LoadedAdapter {
  manifest: AnyNetworkAdapter;
  source: AdapterSource;
}

export interface LoadAdaptersOptions {
  /** Where folder adapters live. Default: the repository's adapters/ (dist/adapters/ when compiled). */
  adaptersDir?: string;
  /** Directories npm packages are resolved from. Default: the working directory and the project root. */
  resolvePaths?: string[];
  /** Relative `path` specs are resolved against this. Default: the working directory. */
  baseDir?: string;
  /** How long an adapter's `init` may take before boot gives up on it. */
  initTimeoutMs?: number;
  logger: AdapterLogger;
}

/** The nearest ancestor of this file holding a package.json: the project root from src/ and from dist/src/. */
function projectRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

export function defaultAdaptersDir(): string {
  return path.resolve(__dirname, '../../adapters');
}

/** Node says "Cannot find module 'x'" (code MODULE_NOT_FOUND); Jest's resolver says "Cannot resolve module 'x'". */
function isModuleNotFound(e: unknown, request: string): boolean {
  const m = errorMessage(e);
  return /Cannot (find|resolve) module/.test(m) && m.includes(`'${request}'`);
}

/** The version of the package `name` that owns `file`, found by walking up to its package.json. */
function packageVersionOf(file: string, name: string): string | undefined {
  let dir = path.dirname(file);
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        const parsed = JSON.parse(readFileSync(pj, 'utf8')) as { name?: unknown; version?: unknown };
        if (parsed.name === name) return typeof parsed.version === 'string' ? parsed.version : undefined;
      } catch {
        // An unreadable package.json on the way up is not ours; keep looking.
      }
    }
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** A package's default export (ES module or transpiled) or its CommonJS `module.exports`. */
function pickManifest(mod: unknown): unknown {
  if (typeof mod === 'object' && mod !== null && 'default' in mod) {
    const d = mod.default;
    if (describeManifestProblems(d).length === 0 || describeManifestProblems(mod).length > 0) return d;
  }
  return mod;
}

async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${describeDuration(ms)}`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function prefixedLogger(logger: AdapterLogger, adapterId: string): AdapterLogger {
  const f = (fields?: Record<string, unknown>): Record<string, unknown> => ({
    adapter: adapterId,
    ...fields,
  });
  return {
    debug: (m, x) => logger.debug(m, f(x)),
    info: (m, x) => logger.info(m, f(x)),
    warn: (m, x) => logger.warn(m, f(x)),
    error: (m, x) => logger.error(m, f(x)),
  };
}

function isEmptyOptions(v: unknown): boolean {
  return (
    v === undefined ||
    v === null ||
    (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0)
  );
}

interface Resolved {
  source: AdapterSource;
  entry: string;
}

function resolveSpec(spec: AdapterSpec, opts: Required<Omit<LoadAdaptersOptions, 'logger'>>): Resolved {
  if (spec.path !== undefined && spec.package !== undefined) {
    const source: AdapterSource = { kind: 'package', location: spec.package };
    throw new AdapterLoadError(spec.id, source, 'names both "path" and "package"; give one of them');
  }
  if (spec.package !== undefined) {
    const source: AdapterSource = { kind: 'package', location: spec.package };
    if (spec.package.startsWith('.') || path.isAbsolute(spec.package))
      throw new AdapterLoadError(
        spec.id,
        source,
        'names a file path as "package"; use "path" for a local adapter',
      );
    let entry: string;
    try {
      entry = require.resolve(spec.package, { paths: opts.resolvePaths });
    } catch (e) {
      if (isModuleNotFound(e, spec.package))
        throw new AdapterLoadError(
          spec.id,
          source,
          `is not installed (looked in node_modules from ${opts.resolvePaths.join(', ')}); install it with \`npm install ${spec.package}\``,
        );
      throw new AdapterLoadError(spec.id, source, `could not be resolved: ${errorMessage(e)}`, { cause: e });
    }
    const version = packageVersionOf(entry, spec.package);
    return { source: version ? { ...source, packageVersion: version } : source, entry };
  }
  const source: AdapterSource =
    spec.path !== undefined
      ? { kind: 'path', location: path.resolve(opts.baseDir, spec.path) }
      : { kind: 'folder', location: path.join(opts.adaptersDir, spec.id) };
  if (!existsSync(source.location))
    throw new AdapterLoadError(
      spec.id,
      source,
      source.kind === 'folder'
        ? 'has no folder there; create it with an index.ts, or name a "package" or "path" in config'
        : 'does not exist',
    );
  try {
    return { source, entry: require.resolve(source.location) };
  } catch (e) {
    const what = statSync(source.location).isDirectory()
      ? 'has no index (index.ts / index.js or package.json main)'
      : 'cannot be loaded';
    throw new AdapterLoadError(spec.id, source, `${what}: ${errorMessage(e)}`, { cause: e });
  }
}

async function loadOne(
  spec: AdapterSpec,
  opts: Required<Omit<LoadAdaptersOptions, 'logger'>>,
  logger: AdapterLogger,
): Promise<LoadedAdapter> {
  const { source, entry } = resolveSpec(spec, opts);
  const fail = (reason: string, cause?: unknown): AdapterLoadError =>
    new AdapterLoadError(spec.id, source, reason, cause === undefined ? undefined : { cause });

  let mod: unknown;
  try {
    exposeSdkToAdapters();
    // Adapters are named in config, so the module is only known at run time.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require(entry);
  } catch (e) {
    throw fail(`failed to load: ${errorMessage(e)}`, e);
  }

  const candidate = pickManifest(mod);
  const problems = describeManifestProblems(candidate);
  if (problems.length > 0) throw fail(`does not export a valid adapter manifest: ${problems.join('; ')}`);
  const manifest = candidate as AnyNetworkAdapter;

  if (manifest.id !== spec.id)
    throw fail(`declares id "${manifest.id}" but config names it "${spec.id}"; the two must match`);

  if (semver.validRange(manifest.sdk) === null) throw fail(`declares an invalid SDK range "${manifest.sdk}"`);
  if (!semver.satisfies(SDK_VERSION, manifest.sdk))
    throw fail(`needs SDK ${manifest.sdk} but this gateway provides ${SDK_VERSION}`);

  let adapterOptions: unknown = spec.options;
  if (manifest.adapterOptionsSchema) {
    let result: Awaited<ReturnType<typeof validateWith>>;
    try {
      result = await validateWith(manifest.adapterOptionsSchema, spec.options ?? {});
    } catch (e) {
      throw fail(`options schema threw: ${errorMessage(e)}`, e);
    }
    if (!result.ok)
      throw fail(`has invalid options: ${result.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    adapterOptions = result.value;
  } else if (!isEmptyOptions(spec.options)) {
    throw fail('takes no adapter options, but config gives some');
  }

  if (manifest.init) {
    const ctx: AdapterContext = { logger: prefixedLogger(logger, spec.id) };
    try {
      await withTimeout(Promise.resolve(manifest.init(adapterOptions, ctx)), opts.initTimeoutMs, 'init()');
    } catch (e) {
      throw fail(`failed to initialise: ${errorMessage(e)}`, e);
    }
  }
  return { manifest, source };
}

/**
 * Loads every enabled adapter the config names, checks each one (manifest shape, id, SDK range,
 * options) and initialises it. Any failure refuses the boot: all failures are collected and thrown
 * together as one `AdapterBootError`, after disposing of the adapters that did initialise.
 */
export async function loadAdapters(
  specs: readonly AdapterSpec[],
  options: LoadAdaptersOptions,
): Promise<LoadedAdapter[]> {
  const opts: Required<Omit<LoadAdaptersOptions, 'logger'>> = {
    adaptersDir: options.adaptersDir ?? defaultAdaptersDir(),
    resolvePaths: options.resolvePaths ?? [...new Set([process.cwd(), projectRoot()])],
    baseDir: options.baseDir ?? process.cwd(),
    initTimeoutMs: options.initTimeoutMs ?? 30_000,
  };
  const logger = options.logger;
  const loaded: LoadedAdapter[] = [];
  const failures: AdapterLoadError[] = [];
  const seen = new Set<string>();

  for (const spec of specs) {
    if (spec.enabled === false) {
      logger.info(`adapter "${spec.id}" is disabled in config`, { adapter: spec.id });
      continue;
    }
    const nominal: AdapterSource = spec.package
      ? { kind: 'package', location: spec.package }
      : spec.path
        ? { kind: 'path', location: path.resolve(opts.baseDir, spec.path) }
        : { kind: 'folder', location: path.join(opts.adaptersDir, String(spec.id)) };
    if (typeof spec.id !== 'string' || !ADAPTER_ID_PATTERN.test(spec.id)) {
      failures.push(
        new AdapterLoadError(
          String(spec.id),
          nominal,
          'has an invalid id: use lowercase letters, digits and dashes (at most 32)',
        ),
      );
      continue;
    }
    if (seen.has(spec.id)) {
      failures.push(new AdapterLoadError(spec.id, nominal, 'is named twice in config'));
      continue;
    }
    seen.add(spec.id);
    try {
      const one = await loadOne(spec, opts, logger);
      loaded.push(one);
      logger.info(`adapter "${one.manifest.id}" ${one.manifest.version} loaded`, {
        adapter: one.manifest.id,
        source: one.source,
      });
    } catch (e) {
      failures.push(
        e instanceof AdapterLoadError
          ? e
          : new AdapterLoadError(spec.id, nominal, errorMessage(e), { cause: e }),
      );
    }
  }

  if (failures.length > 0) {
    for (const { manifest } of loaded) {
      try {
        await manifest.dispose?.();
      } catch (e) {
        logger.warn(`adapter "${manifest.id}" failed to dispose: ${errorMessage(e)}`, {
          adapter: manifest.id,
        });
      }
    }
    throw new AdapterBootError(failures);
  }
  return loaded;
}
