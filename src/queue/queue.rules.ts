/**
 * Rules both drivers share, kept pure so they are unit-tested once: options and their defaults, the backoff
 * curve, job spec validation and the group → partition hash of the Redis driver.
 */
import { QueueError, type JobSpec, type QueueLogger } from './queue.port';

export interface BackoffOptions {
  /** Delay after the first failed attempt. */
  baseMs: number;
  /** Growth per further failure (2 doubles it). */
  factor: number;
  /** No delay exceeds this. */
  capMs: number;
  /** 0..1: the delay is drawn from [d·(1−jitter), d], so workers that failed together do not retry together. */
  jitter: number;
}

export interface QueueOptions {
  backoff?: Partial<BackoffOptions>;
  /** Attempts for a job that does not set `maxAttempts`. */
  defaultMaxAttempts?: number;
  /** How long completed jobs are kept, which is how long their ids are deduplicated. */
  retentionMs?: number;
  /** How long failed jobs are kept for inspection and `retryFailed`. */
  failedRetentionMs?: number;
  /**
   * How long a running job stays claimed without a renewal. A worker renews its leases while it lives;
   * when it dies, its jobs run again after at most this long (the embedded driver recovers jobs of a dead
   * local process at once).
   */
  leaseMs?: number;
  /** Embedded driver: how often an idle worker looks for jobs enqueued by another process. */
  pollIntervalMs?: number;
  /** How long `close()` waits for running handlers. */
  closeTimeoutMs?: number;
  logger?: QueueLogger;
}

export interface ResolvedQueueOptions {
  backoff: BackoffOptions;
  defaultMaxAttempts: number;
  retentionMs: number;
  failedRetentionMs: number;
  leaseMs: number;
  pollIntervalMs: number;
  closeTimeoutMs: number;
  logger: QueueLogger;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1000, factor: 2, capMs: 5 * 60_000, jitter: 0.2 };
const HOUR = 3_600_000;

/** Warnings and errors to stderr; routine lines dropped unless the caller passes a logger. */
const stderrLogger: QueueLogger = {
  log: () => undefined,
  warn: (m) => process.stderr.write(`[queue] warn: ${m}\n`),
  error: (m) => process.stderr.write(`[queue] error: ${m}\n`),
};

function invalid(message: string): QueueError {
  return new QueueError('invalid-argument', message);
}

function finite(name: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw invalid(`queue option ${name} must be a number in [${min}, ${max}], got ${String(v)}`);
  }
  return v;
}

function integer(name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min)
    throw invalid(`queue option ${name} must be an integer ≥ ${min}, got ${String(v)}`);
  return v;
}

export function resolveQueueOptions(opts: QueueOptions = {}): ResolvedQueueOptions {
  const b = { ...DEFAULT_BACKOFF, ...opts.backoff };
  const backoff: BackoffOptions = {
    baseMs: finite('backoff.baseMs', b.baseMs, 0),
    factor: finite('backoff.factor', b.factor, 1),
    capMs: finite('backoff.capMs', b.capMs, 0),
    jitter: finite('backoff.jitter', b.jitter, 0, 1),
  };
  if (backoff.capMs < backoff.baseMs) throw invalid('queue option backoff.capMs must be ≥ backoff.baseMs');
  return {
    backoff,
    defaultMaxAttempts: integer('defaultMaxAttempts', opts.defaultMaxAttempts ?? 10, 1),
    retentionMs: integer('retentionMs', opts.retentionMs ?? 24 * HOUR, 1000),
    failedRetentionMs: integer('failedRetentionMs', opts.failedRetentionMs ?? 7 * 24 * HOUR, 1000),
    leaseMs: integer('leaseMs', opts.leaseMs ?? 30_000, 500),
    pollIntervalMs: integer('pollIntervalMs', opts.pollIntervalMs ?? 1000, 10),
    closeTimeoutMs: integer('closeTimeoutMs', opts.closeTimeoutMs ?? 30_000, 0),
    logger: opts.logger ?? stderrLogger,
  };
}

/**
 * The wait before the retry that follows failed attempt `attempt` (1-based):
 * min(cap, base·factor^(attempt−1)), then shortened by up to `jitter` of itself.
 */
export function backoffDelay(attempt: number, b: BackoffOptions, random: () => number = Math.random): number {
  const n = Math.max(1, Math.floor(attempt));
  // Math.min before pow overflow matters: factor^n is Infinity for large n, and min(cap, Infinity) = cap.
  const exact = Math.min(b.capMs, b.baseMs * Math.pow(b.factor, n - 1));
  return Math.round(exact * (1 - b.jitter * random()));
}

const QUEUE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export function validateQueueName(queue: string): string {
  if (typeof queue !== 'string' || !QUEUE_NAME.test(queue)) {
    throw invalid(
      `queue name must be 1-64 characters of letters, digits, '_' or '-' (starting with a letter or digit), got ${JSON.stringify(queue)}`,
    );
  }
  return queue;
}

/** A spec checked and completed with defaults; `json` is the stored form of `data`. */
export interface NormalizedJob {
  id: string;
  json: string;
  group: string | null;
  delayMs: number;
  maxAttempts: number;
}

export function normalizeJob<T>(spec: JobSpec<T>, defaultMaxAttempts: number): NormalizedJob {
  if (spec === null || typeof spec !== 'object') throw invalid('a job spec must be an object');
  const { id, group, delayMs, maxAttempts } = spec;
  if (typeof id !== 'string' || id.length === 0 || id.length > 512) {
    throw invalid(`job id must be a non-empty string of at most 512 characters, got ${JSON.stringify(id)}`);
  }
  if (group !== undefined && (typeof group !== 'string' || group.length === 0 || group.length > 512)) {
    throw invalid(`job ${id}: group must be a non-empty string of at most 512 characters`);
  }
  if (delayMs !== undefined && (!Number.isFinite(delayMs) || delayMs < 0)) {
    throw invalid(`job ${id}: delayMs must be a number ≥ 0`);
  }
  if (maxAttempts !== undefined && (!Number.isInteger(maxAttempts) || maxAttempts < 1)) {
    throw invalid(`job ${id}: maxAttempts must be an integer ≥ 1`);
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(spec.data);
  } catch (err) {
    throw invalid(
      `job ${id}: data is not JSON-serialisable (${err instanceof Error ? err.message : String(err)})`,
    );
  }
  if (json === undefined) throw invalid(`job ${id}: data is not JSON-serialisable (got ${typeof spec.data})`);
  return {
    id,
    json,
    group: group ?? null,
    delayMs: Math.round(delayMs ?? 0),
    maxAttempts: maxAttempts ?? defaultMaxAttempts,
  };
}

/** FNV-1a, 32 bit: stable across processes and versions, which the partition of a group must be. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(s, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The Redis partition that carries a group's jobs. Every process must use the same `partitions`. */
export function partitionOf(group: string, partitions: number): number {
  return fnv1a32(group) % partitions;
}

/** Array.isArray without narrowing a typed array to any[] (it guards untyped callers). */
export function isArray(v: unknown): boolean {
  return Array.isArray(v);
}

export function errorText(err: unknown): string {
  const text = err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : String(err);
  return text.length > 4000 ? `${text.slice(0, 4000)}…` : text;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
