/**
 * The queue port: durable background jobs for the gateway (ingest, outbox, anything that must not be lost).
 * Two drivers implement it: an embedded one over a SQLite file (single node) and BullMQ over Redis (cluster).
 * docs/adr/0004-queue.md explains the guarantees and what they rest on.
 *
 * Delivery is AT LEAST ONCE. A job whose worker dies (kill -9, power loss, lost lease) runs again, so a
 * handler must be idempotent by job id: record its effect keyed by `job.id` (or check it first) so that a
 * second run of the same id changes nothing.
 */

/** What a caller enqueues. `data` must survive JSON (it is stored as JSON and read back). */
export interface JobSpec<T> {
  /**
   * The dedupe key, unique per queue. Enqueuing an id that already exists — waiting, delayed, running, failed,
   * or completed within the retention window — adds nothing and reports `added: false`. An id names one job:
   * always enqueue it with the same `group` (the Redis driver dedupes within the group's partition).
   */
  id: string;
  data: T;
  /**
   * Jobs of one group run one at a time, in enqueue order. A job waiting for its retry (or for its delay)
   * holds back the later jobs of its group, never jobs of other groups. A job that ends `failed` stops
   * holding its group. Typically the conversation id.
   */
  group?: string;
  /** Run no earlier than this many milliseconds from now. */
  delayMs?: number;
  /** Attempts before the job is `failed` (default from the queue options, 10). An attempt cut short by a crash counts. */
  maxAttempts?: number;
}

/** What a handler receives. */
export interface Job<T> {
  readonly id: string;
  readonly queue: string;
  readonly data: T;
  readonly group?: string;
  /** 1-based: 1 on the first run, 2 on the first retry … */
  readonly attempt: number;
  readonly maxAttempts: number;
}

export type JobHandler<T> = (job: Job<T>) => Promise<void>;

/**
 * A handler of several jobs at once: consecutive jobs of one group, in order (or a single ungrouped job).
 * Resolving completes them all. To stop part-way, throw `BatchFailure`: the jobs before `completed` are
 * completed, the job at `completed` fails with `cause` (retried, or failed for good on `PermanentJobError`),
 * and the jobs after it run again later, in order. Any other error is the first job's failure.
 */
export type BatchJobHandler<T> = (jobs: readonly Job<T>[]) => Promise<void>;

/** See `BatchJobHandler`. */
export class BatchFailure extends Error {
  constructor(
    readonly completed: number,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'BatchFailure';
  }
}

export interface ProcessOptions {
  /** Handlers of this queue running at once in this process (default 1). Groups still run one job at a time. */
  concurrency?: number;
}

export interface EnqueueResult {
  id: string;
  /** false when a job with this id already existed (see `JobSpec.id`). */
  added: boolean;
}

export interface QueueStats {
  /** Runnable now, or waiting behind an earlier job of the same group. */
  waiting: number;
  running: number;
  /** Waiting for their `delayMs` or for a retry's backoff. */
  delayed: number;
  /** Completed and still kept for dedupe (retention window). */
  completed: number;
  failed: number;
}

export interface FailedJob<T = unknown> {
  id: string;
  queue: string;
  data: T;
  group?: string;
  attempts: number;
  error: string;
  failedAt: Date;
}

export interface QueueHealth {
  ok: boolean;
  message: string;
}

export interface QueuePort {
  readonly kind: 'embedded' | 'redis';
  /** Resolves once the job is durably stored (the embedded driver has committed it; Redis has replied). */
  enqueue<T>(queue: string, job: JobSpec<T>): Promise<EnqueueResult>;
  /**
   * Several jobs, in order (order matters within a group). Atomic in the embedded driver; in Redis atomic
   * per partition. After an error, enqueue the same specs again: dedupe by id makes that safe.
   */
  enqueueMany<T>(queue: string, jobs: readonly JobSpec<T>[]): Promise<EnqueueResult[]>;
  /**
   * Starts processing `queue` with `handler` in this process; resolves once the worker is running. A
   * handler that throws is retried with exponential backoff; one that throws `PermanentJobError` fails at
   * once. One handler per queue per QueuePort instance.
   */
  process<T>(queue: string, handler: JobHandler<T>, opts?: ProcessOptions): Promise<void>;
  /**
   * Like `process`, but the handler may get a group's waiting jobs together (one transaction for many
   * jobs). Drivers that cannot claim several jobs at once hand over one job per call.
   */
  processBatches<T>(queue: string, handler: BatchJobHandler<T>, opts?: ProcessOptions): Promise<void>;
  stats(queue: string): Promise<QueueStats>;
  /** The most recently failed jobs, newest first. */
  failed<T = unknown>(queue: string, limit?: number): Promise<FailedJob<T>[]>;
  /**
   * Puts a failed job back at the end of its queue (and of its group) with a fresh attempt count.
   * false when no failed job has this id.
   */
  retryFailed(queue: string, id: string): Promise<boolean>;
  /** For /healthz: can the queue store be reached and written? */
  check(): Promise<QueueHealth>;
  /** Stops workers (waiting for running handlers), then releases the store. Idempotent. */
  close(): Promise<void>;
}

/** Thrown by a handler to fail its job at once, without retries (e.g. the network rejected the message). */
export class PermanentJobError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentJobError';
  }
}

export type QueueErrorCode =
  /** A queue name, job spec or option is not acceptable. */
  | 'invalid-argument'
  /** The QueuePort was closed. */
  | 'closed'
  /** `process()` was already called for this queue on this QueuePort. */
  | 'already-processing'
  /** The queue store was written by a newer schema or cannot be opened. */
  | 'store-unavailable';

/** The one error class of the queue module; `code` says which kind. */
export class QueueError extends Error {
  constructor(
    readonly code: QueueErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'QueueError';
  }
}

/** Compatible with Nest's Logger, so the gateway can pass one in. */
export interface QueueLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}
