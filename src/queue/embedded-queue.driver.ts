/**
 * The embedded durable queue: jobs in their own SQLite file (WAL), for single-node mode. What survives what
 * is in docs/adr/0004-queue.md: with `synchronous: 'full'` (the default) an enqueue that resolved survives
 * kill -9 and power loss; with 'normal' it survives kill -9 and may lose the last commits on power loss.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import {
  EmbeddedQueueStore,
  type ClaimedRow,
  type RunOutcome,
  type Synchronous,
} from './embedded-queue.store';
import {
  BatchFailure,
  PermanentJobError,
  QueueError,
  type BatchJobHandler,
  type EnqueueResult,
  type FailedJob,
  type Job,
  type JobHandler,
  type JobSpec,
  type ProcessOptions,
  type QueueHealth,
  type QueuePort,
  type QueueStats,
} from './queue.port';
import {
  backoffDelay,
  errorMessage,
  errorText,
  isArray,
  normalizeJob,
  validateQueueName,
  type ResolvedQueueOptions,
} from './queue.rules';

export interface EmbeddedQueueConfig {
  kind: 'embedded';
  /** The queue's own SQLite file, e.g. <dataDir>/queue.sqlite (':memory:' for a throwaway queue). */
  path: string;
  /** 'full' (default): a resolved enqueue survives power loss. 'normal': survives process crashes only. */
  synchronous?: Synchronous;
}

/** Workers of this process by file and queue, so an enqueue wakes them without waiting for the poll. */
const wakers = new Map<string, Set<() => void>>();
/** Lease owners alive in this process: a lease owner with our pid that is not here belongs to a dead process. */
const liveOwners = new Set<string>();
const HOST = hostname();
const PRUNE_EVERY_MS = 60_000;
/**
 * Most jobs of one group claimed together (run one after the other, outcomes recorded together). Every
 * claim and every outcome is a commit, an fsync with `synchronous: 'full'`; a group with a backlog (a busy
 * room's inbound messages) then pays two commits per run instead of two per job. Without a backlog a run
 * is one job, as before.
 */
const GROUP_RUN = 64;

function wakeKey(path: string, queue: string): string {
  return `${path}\u0000${queue}`;
}

/** Owners look like host:pid:token. True only when we can tell the owner's process is gone. */
function ownerIsDead(owner: string): boolean {
  const parts = owner.split(':');
  const token = parts.pop();
  const pid = Number(parts.pop());
  if (token === undefined || !Number.isInteger(pid) || parts.join(':') !== HOST) return false;
  if (pid === process.pid) return !liveOwners.has(owner);
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export class EmbeddedQueueDriver implements QueuePort {
  readonly kind = 'embedded' as const;
  private readonly store: EmbeddedQueueStore;
  private readonly path: string;
  private readonly owner = `${HOST}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly workers = new Map<string, EmbeddedWorker>();
  private readonly renewTimer: NodeJS.Timeout;
  private readonly pruneTimer: NodeJS.Timeout;
  private closing: Promise<void> | null = null;
  storeClosed = false;
  /** Rows whose handlers run now: only their leases are renewed, so a job whose outcome could not be
   * recorded is left to expire and run again. */
  readonly running = new Set<number>();

  constructor(
    cfg: EmbeddedQueueConfig,
    readonly opts: ResolvedQueueOptions,
  ) {
    if (typeof cfg.path !== 'string' || cfg.path.length === 0) {
      throw new QueueError('invalid-argument', 'the embedded queue needs a file path');
    }
    this.path = cfg.path === ':memory:' ? `:memory:${this.owner}` : resolve(cfg.path);
    this.store = new EmbeddedQueueStore(cfg.path, cfg.synchronous ?? 'full');
    liveOwners.add(this.owner);
    const recovered = this.store.recoverOwners(ownerIsDead, Date.now());
    if (recovered > 0) opts.logger.warn(`recovered ${recovered} job(s) left running by a dead process`);
    this.prune();
    this.renewTimer = setInterval(() => this.renewLeases(), Math.max(100, Math.floor(opts.leaseMs / 3)));
    this.renewTimer.unref();
    this.pruneTimer = setInterval(() => this.prune(), PRUNE_EVERY_MS);
    this.pruneTimer.unref();
  }

  private assertOpen(): void {
    if (this.closing) throw new QueueError('closed', 'the queue has been closed');
  }

  async enqueue<T>(queue: string, job: JobSpec<T>): Promise<EnqueueResult> {
    const [result] = await this.enqueueMany(queue, [job]);
    return result!;
  }

  async enqueueMany<T>(queue: string, jobs: readonly JobSpec<T>[]): Promise<EnqueueResult[]> {
    this.assertOpen();
    validateQueueName(queue);
    if (!isArray(jobs)) throw new QueueError('invalid-argument', 'enqueueMany takes an array of job specs');
    const normalized = jobs.map((j) => normalizeJob(j, this.opts.defaultMaxAttempts));
    if (normalized.length === 0) return [];
    const added = this.store.enqueue(queue, normalized, Date.now());
    if (added.some(Boolean)) for (const wake of wakers.get(wakeKey(this.path, queue)) ?? []) wake();
    // "Resolves once durably stored": with `full`, after an fsync begun after this commit (shared with the
    // enqueues made meanwhile). Claims and outcomes do not wait: a lost one only runs a job again.
    const durability = this.store.durability;
    if (durability) {
      durability.committedOne();
      await durability.durable();
    }
    return normalized.map((j, i) => ({ id: j.id, added: added[i] === true }));
  }

  async process<T>(queue: string, handler: JobHandler<T>, opts: ProcessOptions = {}): Promise<void> {
    this.assertOpen();
    validateQueueName(queue);
    if (typeof handler !== 'function')
      throw new QueueError('invalid-argument', 'process() needs a handler function');
    const h = handler as JobHandler<unknown>;
    return this.startWorker(queue, (jobs) => h(jobs[0]!), opts, true);
  }

  async processBatches<T>(
    queue: string,
    handler: BatchJobHandler<T>,
    opts: ProcessOptions = {},
  ): Promise<void> {
    this.assertOpen();
    validateQueueName(queue);
    if (typeof handler !== 'function')
      throw new QueueError('invalid-argument', 'processBatches() needs a handler function');
    return this.startWorker(queue, handler as BatchJobHandler<unknown>, opts, false);
  }

  /** `single`: one job per handler call (`process`); otherwise a claimed run goes to the handler whole. */
  private async startWorker(
    queue: string,
    handler: BatchJobHandler<unknown>,
    opts: ProcessOptions,
    single: boolean,
  ): Promise<void> {
    const concurrency = opts.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new QueueError(
        'invalid-argument',
        `concurrency must be an integer ≥ 1, got ${String(concurrency)}`,
      );
    }
    if (this.workers.has(queue))
      throw new QueueError('already-processing', `queue ${queue} is already being processed here`);
    this.store.recoverOwners(ownerIsDead, Date.now());
    const worker = new EmbeddedWorker(this, this.store, queue, handler, single, concurrency, this.owner);
    this.workers.set(queue, worker);
    const key = wakeKey(this.path, queue);
    const set = wakers.get(key) ?? new Set();
    set.add(worker.wake);
    wakers.set(key, set);
    worker.start();
  }

  async stats(queue: string): Promise<QueueStats> {
    this.assertOpen();
    return this.store.stats(validateQueueName(queue), Date.now());
  }

  async failed<T = unknown>(queue: string, limit = 50): Promise<FailedJob<T>[]> {
    this.assertOpen();
    if (!Number.isInteger(limit) || limit < 1)
      throw new QueueError('invalid-argument', 'limit must be an integer ≥ 1');
    return this.store.failed<T>(validateQueueName(queue), limit);
  }

  async retryFailed(queue: string, id: string): Promise<boolean> {
    this.assertOpen();
    const ok = this.store.retryFailed(validateQueueName(queue), id, Date.now());
    if (ok) for (const wake of wakers.get(wakeKey(this.path, queue)) ?? []) wake();
    return ok;
  }

  async check(): Promise<QueueHealth> {
    if (this.closing) return { ok: false, message: 'embedded queue: closed' };
    try {
      const open = this.store.probe();
      return { ok: true, message: `embedded queue ${this.path}: ${open} open job(s)` };
    } catch (err) {
      return { ok: false, message: `embedded queue ${this.path}: ${errorMessage(err)}` };
    }
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const drained = await Promise.all(
      [...this.workers.values()].map((w) => w.stop(this.opts.closeTimeoutMs)),
    );
    for (const [queue, w] of this.workers) wakers.get(wakeKey(this.path, queue))?.delete(w.wake);
    clearInterval(this.renewTimer);
    clearInterval(this.pruneTimer);
    // A handler still running past the timeout keeps its lease until it expires; only a clean stop frees
    // our owner id for recovery by the next instance in this process.
    if (drained.every(Boolean)) liveOwners.delete(this.owner);
    else
      this.opts.logger.warn(
        'closed with handlers still running; their jobs run again once their leases expire',
      );
    this.storeClosed = true;
    await this.store.close();
  }

  private renewLeases(): void {
    if (this.storeClosed || this.running.size === 0) return;
    try {
      this.store.renew(this.running, this.owner, Date.now() + this.opts.leaseMs);
    } catch (err) {
      this.opts.logger.error(`could not renew job leases: ${errorMessage(err)}`);
    }
  }

  private prune(): void {
    if (this.storeClosed) return;
    try {
      const now = Date.now();
      this.store.prune(now - this.opts.retentionMs, now - this.opts.failedRetentionMs);
    } catch (err) {
      this.opts.logger.error(`could not prune finished jobs: ${errorMessage(err)}`);
    }
  }
}

/** One queue's claim loop in this process. */
class EmbeddedWorker {
  private readonly active = new Set<Promise<void>>();
  private stopped = false;
  private woken = false;
  private wakeSleeper: (() => void) | null = null;
  private loopDone: Promise<void> = Promise.resolve();

  constructor(
    private readonly driver: EmbeddedQueueDriver,
    private readonly store: EmbeddedQueueStore,
    private readonly queue: string,
    private readonly handler: BatchJobHandler<unknown>,
    /** One job per handler call (`process`); otherwise a claimed run goes to the handler whole. */
    private readonly single: boolean,
    private readonly concurrency: number,
    private readonly owner: string,
  ) {}

  readonly wake = (): void => {
    this.woken = true;
    const w = this.wakeSleeper;
    this.wakeSleeper = null;
    w?.();
  };

  start(): void {
    this.loopDone = this.loop();
  }

  /** Resolves true when every running handler finished within `timeoutMs`. */
  async stop(timeoutMs: number): Promise<boolean> {
    this.stopped = true;
    this.wake();
    await this.loopDone;
    if (this.active.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
    const done = await Promise.race([Promise.allSettled([...this.active]).then(() => true), timedOut]);
    clearTimeout(timer);
    return done;
  }

  private async loop(): Promise<void> {
    const { logger, pollIntervalMs, leaseMs } = this.driver.opts;
    while (!this.stopped) {
      this.woken = false;
      let delay = pollIntervalMs;
      try {
        const now = Date.now();
        this.store.recoverExpired(now);
        const free = this.concurrency - this.active.size;
        for (const run of this.store.claimRuns(this.queue, free, this.owner, now, leaseMs, GROUP_RUN))
          this.run(run);
        if (this.active.size < this.concurrency) {
          const next = this.store.nextRunAt(this.queue);
          if (next !== null) delay = Math.min(delay, Math.max(0, next - Date.now()));
        }
      } catch (err) {
        logger.error(`queue ${this.queue}: claiming jobs failed: ${errorMessage(err)}`);
      }
      await this.sleep(delay);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeSleeper = null;
        resolve();
      }, ms);
      this.wakeSleeper = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private run(rows: ClaimedRow[]): void {
    for (const r of rows) this.driver.running.add(r.seq);
    const p = this.execute(rows).finally(() => {
      for (const r of rows) this.driver.running.delete(r.seq);
      this.active.delete(p);
      this.wake();
    });
    this.active.add(p);
  }

  /** Runs a claimed run's jobs in order; the first failure (or a stop) ends it, and the rest go back. */
  private async execute(rows: ClaimedRow[]): Promise<void> {
    const { logger, backoff } = this.driver.opts;
    const outcomes: RunOutcome[] = [];
    const label = (row: ClaimedRow) =>
      `queue ${this.queue}: job ${row.id} attempt ${row.attempts}/${row.max_attempts}`;
    const warnings: (() => void)[] = [];
    const failed = (row: ClaimedRow, err: unknown): RunOutcome => {
      if (err instanceof PermanentJobError || row.attempts >= row.max_attempts) {
        warnings.push(() => logger.warn(`${label(row)} failed for good: ${errorMessage(err)}`));
        return { seq: row.seq, kind: 'failed', error: errorText(err) };
      }
      const delay = backoffDelay(row.attempts, backoff);
      warnings.push(() => logger.log(`${label(row)} failed, retrying in ${delay} ms: ${errorMessage(err)}`));
      return { seq: row.seq, kind: 'retry', error: errorText(err), runAt: Date.now() + delay };
    };
    let next = 0;
    while (next < rows.length) {
      if (next > 0 && this.stopped) break;
      // One job at a time for `process`; the rest of the run at once for `processBatches`.
      const batch = this.single ? rows.slice(next, next + 1) : rows.slice(next);
      let failure: { at: number; err: unknown } | null = null;
      try {
        const jobs = batch.map((row): Job<unknown> =>
          Object.freeze({
            id: row.id,
            queue: this.queue,
            data: JSON.parse(row.data) as unknown,
            ...(row.grp !== null ? { group: row.grp } : {}),
            attempt: row.attempts,
            maxAttempts: row.max_attempts,
          }),
        );
        await this.handler(jobs);
      } catch (err) {
        failure =
          err instanceof BatchFailure
            ? { at: Math.min(Math.max(0, err.completed), batch.length - 1), err: err.cause }
            : { at: 0, err };
      }
      if (this.driver.storeClosed) return; // closed mid-handler: the leases decide what happens next
      const done = failure === null ? batch.length : failure.at;
      for (let i = 0; i < done; i++) outcomes.push({ seq: batch[i]!.seq, kind: 'completed' });
      next += done;
      if (failure !== null) {
        outcomes.push(failed(batch[failure.at]!, failure.err));
        next += 1;
        break;
      }
    }
    for (; next < rows.length; next++) outcomes.push({ seq: rows[next]!.seq, kind: 'unrun' });
    try {
      const recorded = this.store.finishRun(outcomes, this.owner, Date.now());
      rows.forEach((row, i) => {
        if (recorded[i] === false && outcomes[i]?.kind !== 'unrun')
          logger.warn(`${label(row)}: lease lost before the outcome was recorded; another run decides`);
      });
      for (const w of warnings) w();
    } catch (err) {
      // The jobs stay running under our lease; once that expires they run again (at-least-once).
      logger.error(
        `queue ${this.queue}: could not record the outcome of ${rows.length} job(s) from ${rows[0]?.id}: ${errorMessage(err)}`,
      );
    }
  }
}
