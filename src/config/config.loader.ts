import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { configKeys, allowedKeysAt, keyAt, schemaPathOf } from './config-keys';
import { ConfigError, type ConfigProblem } from './config.error';
import { maskUrlCredentials } from './config.redact';
import { ADAPTER_ID, configSchema, type ParsedConfig } from './config.schema';
import type { AdapterSpec, AppConfig } from './config.types';

export interface LoadConfigOptions {
  /** The config file. Default: $SWITCHBOARD_CONFIG, else config/switchboard.yaml when it exists, else none. */
  file?: string;
  /** Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Relative paths (the file, dataDir, …) resolve against it. Default: process.cwd(). */
  cwd?: string;
  /** Where bundled adapters live. Default: the adapters/ folder of this installation. */
  adaptersDir?: string;
  /** Picks the default log format (pretty on a terminal). Default: process.stdout.isTTY. */
  stdoutIsTTY?: boolean;
}

export interface BuildConfigOptions extends Omit<LoadConfigOptions, 'file' | 'env'> {
  /** Default: no overrides at all (unlike loadConfig), so a test's config does not depend on the shell. */
  env?: NodeJS.ProcessEnv;
}

export const DEFAULT_CONFIG_FILE = 'config/switchboard.yaml';
export const CONFIG_FILE_ENV = 'SWITCHBOARD_CONFIG';
const KEY_FILE_NAME = 'secret.key';

type Path = readonly (string | number)[];
interface PathProblem {
  path: Path;
  problem: string;
}

/** Where the values came from, to point each problem at a line of the file or at a variable. */
interface Origin {
  file?: { absolute: string; shown: string; doc: Document; lines: LineCounter };
  /** `server.port` → `PORT` for every key an environment variable set. */
  envByPath: Map<string, string>;
}

/**
 * Reads the config file (if any) and the environment, validates them and returns the resolved,
 * frozen configuration. Throws ConfigError listing every problem found.
 */
export function loadConfig(opts: LoadConfigOptions = {}): AppConfig {
  const cwd = resolve(opts.cwd ?? process.cwd());
  const env = opts.env ?? process.env;
  const file = pickFile(opts.file, env, cwd);
  if (file === undefined) return validate({}, { envByPath: new Map() }, env, cwd, opts);

  const shown = showPath(file.absolute, cwd);
  let text: string;
  try {
    text = readFileSync(file.absolute, 'utf8');
  } catch (e) {
    const problem = `the config file ${readFailure(e)}`;
    throw new ConfigError([
      file.via === 'env'
        ? { key: CONFIG_FILE_ENV, problem: `${shown}: ${problem}` }
        : { file: shown, problem },
    ]);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // One problem per line: a single slip often makes yaml report the same spot twice.
    const onePerLine = doc.errors.filter(
      (err, i) => doc.errors.findIndex((other) => other.linePos?.[0].line === err.linePos?.[0].line) === i,
    );
    throw new ConfigError(
      onePerLine.slice(0, 10).map((err) => {
        // An unclosed quote or bracket is noticed later (often at the next key or the end of the
        // file); the key it belongs to is the one before that point.
        const unclosed = err.code === 'MISSING_CHAR' || /end with a/.test(err.message);
        const at = unclosed ? lastContentBefore(text, err.pos[0]) : err.pos[0];
        const path = keyPathAtOffset(doc.contents, at);
        // Name a key, not a list position inside its value.
        while (typeof path[path.length - 1] === 'number') path.pop();
        const noticed = lines.linePos(err.pos[0]);
        const keyPos = unclosed && path.length > 0 ? locate(doc, lines, path) : undefined;
        const pos = keyPos ?? noticed;
        const later = pos.line !== noticed.line ? ` (noticed at line ${noticed.line})` : '';
        return {
          file: shown,
          ...(path.length > 0 && { key: formatPath(path) }),
          line: pos.line,
          column: pos.col,
          problem: `YAML syntax error: ${yamlErrorText(err.message)}${later}`,
        };
      }),
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    throw new ConfigError([{ file: shown, problem: `YAML error: ${yamlErrorText(errorMessage(e))}` }]);
  }
  return validate(
    raw,
    { file: { absolute: file.absolute, shown, doc, lines }, envByPath: new Map() },
    env,
    cwd,
    opts,
  );
}

/**
 * Builds the configuration from an object shaped like the file: for tests and tools. Environment
 * overrides apply only when `env` is given.
 */
export function buildConfig(raw: unknown, opts: BuildConfigOptions = {}): AppConfig {
  const cwd = resolve(opts.cwd ?? process.cwd());
  return validate(structuredClone(raw ?? {}), { envByPath: new Map() }, opts.env ?? {}, cwd, opts);
}

function pickFile(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv,
  cwd: string,
): { absolute: string; via: 'option' | 'env' | 'default' } | undefined {
  if (explicit !== undefined) return { absolute: resolve(cwd, explicit), via: 'option' };
  const fromEnv = env[CONFIG_FILE_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return { absolute: resolve(cwd, fromEnv), via: 'env' };
  const fallback = resolve(cwd, DEFAULT_CONFIG_FILE);
  return existsSync(fallback) ? { absolute: fallback, via: 'default' } : undefined;
}

function validate(
  input: unknown,
  origin: Origin,
  env: NodeJS.ProcessEnv,
  cwd: string,
  opts: Omit<LoadConfigOptions, 'file' | 'env'>,
): AppConfig {
  const shown = origin.file?.shown;
  if (input !== null && input !== undefined && !isPlainObject(input)) {
    throw new ConfigError([
      {
        ...(shown !== undefined && { file: shown }),
        problem: `expected a mapping of keys (server:, log: …) at the top level, got ${describeValue(input, true)}`,
      },
    ]);
  }
  const raw = dropNulls(input ?? {}) as Record<string, unknown>;
  applyEnv(raw, env, origin.envByPath);

  const adaptersDir = resolve(cwd, opts.adaptersDir ?? defaultAdaptersDir());
  const problems: PathProblem[] = [];
  const parsed = configSchema.safeParse(raw, { error: genericMessage });
  if (!parsed.success) problems.push(...parsed.error.issues.flatMap((i) => fromIssue(i, raw)));
  problems.push(...crossCheck(raw, origin, cwd, adaptersDir));
  if (problems.length > 0 || !parsed.success) throw new ConfigError(toConfigProblems(problems, origin));

  return deepFreeze(resolveConfig(parsed.data, origin, cwd, adaptersDir, opts));
}

// ---------------------------------------------------------------------------------------------------
// Environment overrides

/** Sets each key that has an environment variable; remembers which, so problems name the variable. */
function applyEnv(
  raw: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  envByPath: Map<string, string>,
): void {
  for (const k of configKeys()) {
    if (k.env === undefined) continue;
    const value = env[k.env];
    // An empty variable counts as unset, as compose files and shells often leave them.
    if (value === undefined || value === '') continue;
    let target: Record<string, unknown> = raw;
    let reachable = true;
    for (const seg of k.segments.slice(0, -1)) {
      target[seg] ??= {};
      const next = target[seg];
      // A section of the wrong type is reported by validation; the variable cannot be applied to it.
      if (!isPlainObject(next)) {
        reachable = false;
        break;
      }
      target = next;
    }
    if (!reachable) continue;
    target[k.segments[k.segments.length - 1]!] = coerceEnv(value, k.kind);
    envByPath.set(k.path, k.env);
  }
}

function coerceEnv(value: string, kind: string): unknown {
  const t = value.trim();
  if ((kind === 'integer' || kind === 'number') && /^[+-]?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (kind === 'boolean' && /^(true|false)$/i.test(t)) return t.toLowerCase() === 'true';
  if (kind === 'enum') return t;
  return value;
}

// ---------------------------------------------------------------------------------------------------
// Problems

/** Messages for checks whose schema gave none of its own (sections, lists). */
const genericMessage: z.core.$ZodErrorMap = (issue) => {
  if (issue.code === 'invalid_type') return `expected ${typeWord(issue.expected)}`;
  if (issue.code === 'invalid_value') return `expected one of: ${issue.values.map(String).join(', ')}`;
  if (issue.code === 'too_small' && issue.origin === 'array')
    return `expected at least ${String(issue.minimum)} entries`;
  return undefined;
};

function typeWord(expected: string): string {
  switch (expected) {
    case 'object':
    case 'record':
      return 'a mapping of keys';
    case 'array':
      return 'a list';
    case 'boolean':
      return 'true or false';
    case 'number':
    case 'int':
      return 'a number';
    default:
      return `a ${expected}`;
  }
}

function fromIssue(issue: z.core.$ZodIssue, raw: unknown): PathProblem[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeysAt(schemaPathOf(path));
    return issue.keys.map((k) => ({ path: [...path, k], problem: unknownKeyText(k, allowed) }));
  }
  const value = getAt(raw, path);
  if (value === undefined) return [{ path, problem: `required key is missing (${issue.message})` }];
  return [{ path, problem: `${issue.message}, got ${describeValue(value, showable(path))}` }];
}

function unknownKeyText(k: string, allowed: readonly string[]): string {
  const guess = closest(k, allowed);
  return (
    `unknown key "${k}"${guess !== undefined ? ` (did you mean "${guess}"?)` : ''}; ` +
    `allowed here: ${allowed.join(', ')}`
  );
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const d = c.toLowerCase() === word.toLowerCase() ? 0 : editDistance(word.toLowerCase(), c.toLowerCase());
    if (d <= Math.max(1, Math.floor(c.length / 3)) && (best === undefined || d < best.d)) best = { c, d };
  }
  return best?.c;
}

/** Edit distance counting a swap of neighbours as one edit (prot → port), as typos go. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i]!;
      const up = d[i - 1]!;
      row[j] = Math.min(up[j]! + 1, row[j - 1]! + 1, up[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** Values of secrets, and anything inside adapter options, are described by their type only. */
function showable(path: Path): boolean | 'url' {
  const sensitive = keyAt(schemaPathOf(path))?.sensitive;
  if (sensitive === 'secret') return false;
  if (sensitive === 'url-credentials') return 'url';
  // Adapter and account options are the adapter's business, and often hold passwords.
  return !path.some((p, i) => p === 'options' && i > 0);
}

function describeValue(v: unknown, show: boolean | 'url'): string {
  if (v === null) return 'an empty value';
  if (Array.isArray(v)) return `a list of ${v.length} ${v.length === 1 ? 'entry' : 'entries'}`;
  if (typeof v === 'object') return 'a mapping';
  if (show === false) return `a ${typeof v} (not shown: it may be a secret)`;
  if (typeof v === 'string') {
    const s = show === 'url' ? maskUrlCredentials(v) : v;
    return JSON.stringify(s.length > 60 ? `${s.slice(0, 57)}...` : s);
  }
  return typeof v === 'number' || typeof v === 'boolean' ? String(v) : `a ${typeof v}`;
}

/** Rules that span keys, checked on the raw input so they are reported together with schema problems. */
function crossCheck(
  raw: Record<string, unknown>,
  origin: Origin,
  cwd: string,
  adaptersDir: string,
): PathProblem[] {
  const problems: PathProblem[] = [];
  const adapterIds =
    raw.adapters === undefined ? listBundledAdapters(adaptersDir) : checkAdapters(raw.adapters);
  function checkAdapters(list: unknown): string[] | undefined {
    if (!Array.isArray(list)) return undefined;
    const ids: string[] = [];
    const firstIndex = new Map<string, number>();
    list.forEach((entry: unknown, i) => {
      if (!isPlainObject(entry) || typeof entry.id !== 'string' || !ADAPTER_ID.test(entry.id)) return;
      const id = entry.id;
      ids.push(id);
      const earlier = firstIndex.get(id);
      if (earlier !== undefined) {
        problems.push({
          path: ['adapters', i, 'id'],
          problem: `duplicate adapter id "${id}": adapters[${earlier}] and adapters[${i}] both use it`,
        });
      } else {
        firstIndex.set(id, i);
      }
      const path = typeof entry.path === 'string' && entry.path !== '' ? entry.path : undefined;
      const hasPackage = typeof entry.package === 'string' && entry.package !== '';
      // A disabled adapter is not loaded, so its code need not be there.
      const enabled = entry.enabled !== false;
      if (path !== undefined && hasPackage) {
        problems.push({ path: ['adapters', i], problem: 'give either path or package, not both' });
      } else if (!enabled) {
        // Nothing to find.
      } else if (path !== undefined) {
        const folder = resolve(cwd, path);
        if (!isDirectory(folder))
          problems.push({ path: ['adapters', i, 'path'], problem: `no folder at ${folder}` });
      } else if (!hasPackage && !isAdapterFolder(join(adaptersDir, id))) {
        const bundled = listBundledAdapters(adaptersDir);
        problems.push({
          path: ['adapters', i, 'id'],
          problem:
            `no bundled adapter "${id}" (no folder ${join(adaptersDir, id)}); ` +
            `bundled: ${bundled.length > 0 ? bundled.join(', ') : 'none'}. ` +
            'Give path or package for an adapter from elsewhere.',
        });
      }
    });
    return ids;
  }

  if (adapterIds !== undefined && Array.isArray(raw.accounts)) {
    raw.accounts.forEach((entry: unknown, i) => {
      if (!isPlainObject(entry) || typeof entry.adapter !== 'string' || !ADAPTER_ID.test(entry.adapter))
        return;
      if (!adapterIds.includes(entry.adapter)) {
        problems.push({
          path: ['accounts', i, 'adapter'],
          problem:
            `unknown adapter "${entry.adapter}": it must appear in adapters ` +
            `(configured: ${adapterIds.length > 0 ? adapterIds.join(', ') : 'none'})`,
        });
      }
    });
  }

  const database = isPlainObject(raw.database) ? raw.database : {};
  const security = isPlainObject(raw.security) ? raw.security : {};
  const queue = isPlainObject(raw.queue) ? raw.queue : {};
  if (typeof database.url === 'string') {
    const why = `in cluster mode (${origin.envByPath.get('database.url') ?? 'database.url'} is set)`;
    if (security.secretKey === undefined) {
      problems.push({
        path: ['security', 'secretKey'],
        problem:
          `required ${why}: every instance must use the same key. Set SWITCHBOARD_SECRET_KEY or ` +
          'security.secretKey to base64 of 32 random bytes (openssl rand -base64 32)',
      });
    }
    if (queue.redisUrl === undefined) {
      problems.push({
        path: ['queue', 'redisUrl'],
        problem: `required ${why}: instances share queues and client events through Redis. Set REDIS_URL or queue.redisUrl`,
      });
    }
  }
  if (
    typeof queue.backoffBaseMs === 'number' &&
    typeof queue.backoffMaxMs === 'number' &&
    queue.backoffMaxMs < queue.backoffBaseMs
  ) {
    problems.push({
      path: ['queue', 'backoffMaxMs'],
      problem: `must be at least backoffBaseMs (${queue.backoffBaseMs}), got ${queue.backoffMaxMs}`,
    });
  }
  return problems;
}

/** Points each problem at its line in the file, or at the environment variable that set the key. */
function toConfigProblems(problems: readonly PathProblem[], origin: Origin): ConfigProblem[] {
  const seen = new Set<string>();
  const out: ConfigProblem[] = [];
  for (const p of problems) {
    const dotted = formatPath(p.path);
    const envName = envFor(p.path, origin.envByPath);
    let result: ConfigProblem;
    if (envName !== undefined) {
      const overridden = schemaPathOf(p.path);
      result = { key: envName, problem: `${p.problem} (the environment variable overrides ${overridden})` };
    } else if (origin.file !== undefined) {
      const pos = locate(origin.file.doc, origin.file.lines, p.path);
      result = {
        file: origin.file.shown,
        ...(dotted !== '' && { key: dotted }),
        ...(pos !== undefined && { line: pos.line, column: pos.col }),
        problem: p.problem,
      };
    } else {
      result = { ...(dotted !== '' && { key: dotted }), problem: p.problem };
    }
    const id = `${result.key ?? ''}\n${result.problem}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(result);
  }
  // Environment first (they apply to the whole file), then in file order.
  return out
    .map((p, i) => ({ p, i }))
    .sort((a, b) => rank(a.p) - rank(b.p) || a.i - b.i)
    .map(({ p }) => p);
}

function rank(p: ConfigProblem): number {
  if (p.file === undefined && p.key !== undefined && /^[A-Z_]+$/.test(p.key)) return -1;
  return p.line ?? Number.MAX_SAFE_INTEGER;
}

function envFor(path: Path, envByPath: ReadonlyMap<string, string>): string | undefined {
  for (let n = path.length; n > 0; n--) {
    const name = envByPath.get(schemaPathOf(path.slice(0, n)));
    if (name !== undefined) return name;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// YAML positions

/** The line of the key at `path`, or of its nearest ancestor present in the file (none: no line). */
function locate(doc: Document, lines: LineCounter, path: Path): { line: number; col: number } | undefined {
  let node: unknown = doc.contents;
  let offset: number | undefined;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(seg));
      if (pair === undefined) break;
      offset = rangeStart(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item: unknown = node.items[seg];
      if (item === undefined) break;
      offset = rangeStart(item) ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset === undefined ? undefined : lines.linePos(offset);
}

/** The key a syntax error is in: the last key that starts before the error, at the deepest level. */
function keyPathAtOffset(node: unknown, offset: number): (string | number)[] {
  if (isMap(node)) {
    let chosen: { key: string; value: unknown } | undefined;
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const start = rangeStart(pair.key);
      if (start === undefined || start > offset) break;
      chosen = { key: isScalar(pair.key) ? String(pair.key.value) : '', value: pair.value };
    }
    // A key with spaces is the syntax error itself (lines run together), not a key of ours.
    if (chosen === undefined || !/^[\w$-]+$/.test(chosen.key)) return [];
    return [chosen.key, ...keyPathAtOffset(chosen.value, offset)];
  }
  if (isSeq(node)) {
    let chosen: number | undefined;
    node.items.forEach((item, i) => {
      const start = rangeStart(item);
      if (start !== undefined && start <= offset) chosen = i;
    });
    return chosen === undefined ? [] : [chosen, ...keyPathAtOffset(node.items[chosen], offset)];
  }
  return [];
}

function lastContentBefore(text: string, offset: number): number {
  let i = Math.min(offset, text.length) - 1;
  while (i > 0 && /\s/.test(text[i]!)) i--;
  return Math.max(i, 0);
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Partial<Pick<Node, 'range'>> | null | undefined)?.range;
  return range?.[0];
}

/** yaml's message without its position (we give ours) and without the quoted source, which may hold a secret. */
function yamlErrorText(message: string): string {
  const first = message.split('\n')[0] ?? message;
  return first.replace(/ at line \d+, column \d+:?\s*$/, '').replace(/:\s*$/, '');
}

// ---------------------------------------------------------------------------------------------------
// Resolution

function resolveConfig(
  p: ParsedConfig,
  origin: Origin,
  cwd: string,
  adaptersDir: string,
  opts: Omit<LoadConfigOptions, 'file' | 'env'>,
): AppConfig {
  const dataDir = resolve(cwd, p.dataDir);
  const adapters: AdapterSpec[] =
    p.adapters === undefined
      ? listBundledAdapters(adaptersDir).map((id) => ({ id, kind: 'folder', enabled: true, options: {} }))
      : p.adapters.map((a): AdapterSpec => {
          const base = { id: a.id, enabled: a.enabled, options: a.options };
          if (a.package !== undefined) return { ...base, kind: 'package', package: a.package };
          if (a.path !== undefined) return { ...base, kind: 'path', path: resolve(cwd, a.path) };
          return { ...base, kind: 'folder' };
        });
  const stdoutIsTTY = opts.stdoutIsTTY ?? process.stdout.isTTY === true;
  const { publicUrl, ...server } = p.server;
  const { url, sqlitePath, sqliteSynchronous } = p.database;
  const { redisUrl, embeddedPath, ...queue } = p.queue;
  const { secretKey, ...security } = p.security;
  const { password, ...admin } = p.admin;
  return {
    mode: url !== undefined ? 'cluster' : 'embedded',
    ...(origin.file !== undefined && { configFile: origin.file.absolute }),
    envOverrides: [...origin.envByPath.values()],
    server: { ...server, ...(publicUrl !== undefined && { publicUrl }) },
    dataDir,
    database: {
      ...(url !== undefined && { url }),
      sqlitePath: resolve(cwd, sqlitePath ?? join(dataDir, 'switchboard.sqlite')),
      sqliteSynchronous,
    },
    queue: {
      ...(redisUrl !== undefined && { redisUrl }),
      embeddedPath: resolve(cwd, embeddedPath ?? join(dataDir, 'queue.sqlite')),
      ...queue,
    },
    security: {
      ...(secretKey !== undefined && { secretKey }),
      secretKeyFile: join(dataDir, KEY_FILE_NAME),
      ...security,
    },
    admin: { ...admin, ...(password !== undefined && { password }) },
    adapters,
    accounts: p.accounts.map((a) => ({
      owner: a.owner,
      adapter: a.adapter,
      ...(a.label !== undefined && { label: a.label }),
      options: a.options,
    })),
    bridges: p.bridges.map((b) => ({
      ...(b.name !== undefined && { name: b.name }),
      conversations: b.conversations,
      options: b.options,
    })),
    events: p.events,
    calls: p.calls,
    media: p.media,
    log: { level: p.log.level, format: p.log.format ?? (stdoutIsTTY ? 'pretty' : 'json') },
  };
}

/** Bundled adapters: folders under adapters/ named like an adapter id that hold an entry point. */
export function listBundledAdapters(adaptersDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(adaptersDir);
  } catch {
    return [];
  }
  return names.filter((n) => ADAPTER_ID.test(n) && isAdapterFolder(join(adaptersDir, n))).sort();
}

function isAdapterFolder(dir: string): boolean {
  return isDirectory(dir) && ['index.ts', 'index.js', 'package.json'].some((f) => existsSync(join(dir, f)));
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * adapters/ of this installation: the same rule the registry's loader uses, so both look in one place
 * (the repository's adapters/ from src/, dist/adapters/ when compiled).
 */
function defaultAdaptersDir(): string {
  return resolve(__dirname, '..', '..', 'adapters');
}

// ---------------------------------------------------------------------------------------------------
// Small helpers

/** `['adapters', 1, 'package']` → `adapters[1].package` */
export function formatPath(path: Path): string {
  return path.reduce<string>((acc, seg) => {
    if (typeof seg === 'number') return `${acc}[${seg}]`;
    const part = /^[A-Za-z_$][\w$-]*$/.test(seg) ? seg : JSON.stringify(seg);
    return acc === '' ? part : `${acc}.${part}`;
  }, '');
}

function showPath(absolute: string, cwd: string): string {
  const rel = relative(cwd, absolute);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel.split(sep).join('/') : absolute;
}

function readFailure(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'does not exist';
    case 'EISDIR':
      return 'is a folder, not a file';
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read (permission denied)';
    case undefined:
    default:
      return `cannot be read (${code ?? errorMessage(e)})`;
  }
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function getAt(root: unknown, path: Path): unknown {
  let v = root;
  for (const seg of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

/** An empty YAML value (`server:` with every child commented out) means "not set". Options stay as written. */
function dropNulls(v: unknown, inOptions = false): unknown {
  if (inOptions) return v;
  if (Array.isArray(v)) return v.map((x) => dropNulls(x));
  if (!isPlainObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === null) continue;
    out[k] = dropNulls(x, k === 'options');
  }
  return out;
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}
