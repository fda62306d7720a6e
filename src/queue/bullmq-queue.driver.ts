/**
 * The cluster queue: BullMQ 5 over Redis, with the semantics of the port (docs/adr/0004-queue.md).
 *
 * Open-source BullMQ has no job groups, so each logical queue is 1 + P BullMQ queues:
 * - `<queue>` for jobs without a group: worker concurrency N, BullMQ's own delays and retries;
 * - `<queue>.p<i>` for grouped jobs, i = fnv1a(group) mod P: one job at a time per partition, cluster-wide
 *   (BullMQ's lock), FIFO. A failing job waits for its retry *inside* the processor, so it keeps its place and
 *   holds its partition: later jobs of its group wait — and so do the other groups hashed to the same
 *   partition (head-of-line blocking, the price of ordering without a group-aware broker).
 *
 * Attempts are counted in the job's own data (`a`) before each run, so an attempt cut short by a crash
 * counts, as in the embedded driver, and BullMQ's stall recovery (not its stall limit) brings the job back.
 */
import { randomUUID } from 'node:crypto';
import { Queue, UnrecoverableError, Worker, type Job as BullJob } from 'bullmq';
import { Redis } from 'ioredis';
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
  partitionOf,
  validateQueueName,
  type NormalizedJob,
  type ResolvedQueueOptions,
} from './queue.rules';

export interface RedisQueueConfig {
  kind: 'redis';
  /** redis://[user:password@]host:port[/db] or rediss://… */
  url: string;
  /** Key prefix of every BullMQ key (default 'switchboard'). */
  prefix?: string;
  /** Partitions per queue for grouped jobs (default 16). Every process of a cluster must use the same number. */
  partitions?: number;
}

/** What is stored as the BullMQ job's data. */
interface Envelope {
  /** The caller's id (the BullMQ jobId is an escaped form of it). */
  id: string;
  d: unknown;
  g?: string;
  /** maxAttempts */
  m: number;
  /** attempts started */
  a: number;
  /** grouped jobs: not before (ms epoch), for delays and retry backoff */
  nb?: number;
  /** nonce of the enqueue that created the job: tells `added` from `already there` */
  n: string;
}

const HEALTH_TIMEOUT_MS = 1000;

/** BullMQ refuses ids with ':' and ids that look like integers; this escape is injective and never numeric. */
export function bullJobId(id: string): string {
  return `j${id.replace(/%/g, '%25').replace(/:/g, '%3A')}`;
}

function isEnvelope(v: unknown): v is Envelope {
  const e = v as Partial<Envelope> | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.id === 'string' &&
    typeof e.m === 'number' &&
    typeof e.a === 'number'
  );
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<invalid url>';
  }
}

/** Caps handler concurrency across the 1 + P workers of a queue in this process. */
class Semaphore {
  private free: number;
  private readonly waiters: (() => void)[] = [];
  constructor(n: number) {
    this.free = n;
  }
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free -= 1;
      return;
    }
    await new Promise<void>((r) => this.waiters.push(r));
  }
  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.free += 1;
  }
}

export class BullmqQueueDriver implements QueuePort {
  readonly kind = 'redis' as const;
  private readonly url: string;
  private readonly prefix: string;
  private readonly partitions: number;
  private readonly producer: Redis;
  private workerConnection: Redis | null = null;
  private readonly queues = new Map<string, Queue>();
  private readonly partitionsReady = new Map<string, Promise<void>>();
  private readonly workers = new Map<string, Worker[]>();
  private readonly stopping = new AbortController();
  private closing: Promise<void> | null = null;
  private readonly lastErrorLog = new Map<string, number>();

  constructor(
    cfg: RedisQueueConfig,
    private readonly opts: ResolvedQueueOptions,
  ) {
    if (typeof cfg.url !== 'string' || !/^rediss?:\/\//.test(cfg.url)) {
      throw new QueueError(
        'invalid-argument',
        `the Redis queue needs a redis:// or rediss:// URL, got ${JSON.stringify(redact(String(cfg.url)))}`,
      );
    }
    const partitions = cfg.partitions ?? 16;
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > 1024) {
      throw new QueueError(
        'invalid-argument',
        `partitions must be an integer in [1, 1024], got ${String(partitions)}`,
      );
    }
    const prefix = cfg.prefix ?? 'switchboard';
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(prefix)) {
      throw new QueueError(
        'invalid-argument',
        `the Redis key prefix must be 1-64 letters, digits, '_' or '-', got ${JSON.stringify(prefix)}`,
      );
    }
    this.url = cfg.url;
    this.prefix = prefix;
    this.partitions = partitions;
    // Producer commands fail after a few reconnects, so an enqueue during an outage errors (→ 503) instead of hanging.
    this.producer = new Redis(cfg.url, { maxRetriesPerRequest: 3 });
    this.producer.on('error', (err: Error) => this.logRedisError('producer connection', err));
  }

  private logRedisError(source: string, err: Error): void {
    // Reconnect loops repeat the same error every few hundred ms; one line per source per 10 s is enough.
    const now = Date.now();
    if (now - (this.lastErrorLog.get(source) ?? 0) < 10_000) return;
    this.lastErrorLog.set(source, now);
    this.opts.logger.warn(`redis ${source}: ${err.message}`);
  }

  private assertOpen(): void {
    if (this.closing) throw new QueueError('closed', 'the queue has been closed');
  }

  private bullName(queue: string, group: string | null | undefined): string {
    return group == null ? queue : `${queue}.p${partitionOf(group, this.partitions)}`;
  }

  private allBullNames(queue: string): string[] {
    return [queue, ...Array.from({ length: this.partitions }, (_, i) => `${queue}.p${i}`)];
  }

  private queueFor(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.producer, prefix: this.prefix });
      q.on('error', (err: Error) => this.logRedisError('queues', err));
      this.queues.set(name, q);
    }
    return q;
  }

  /**
   * A partition runs one job at a time across the whole cluster: BullMQ's global concurrency (kept in Redis,
   * checked against the active list when a worker fetches). It also keeps order across a crash: the dead
   * worker's job stays `active` until stall detection puts it back at the front, and until then the
   * partition fetches nothing. Set by producers and workers alike, before either touches the partition.
   */
  private partitionReady(name: string): Promise<void> {
    let ready = this.partitionsReady.get(name);
    if (!ready) {
      ready = this.queueFor(name)
        .setGlobalConcurrency(1)
        .then(() => undefined);
      ready.catch(() => this.partitionsReady.delete(name));
      this.partitionsReady.set(name, ready);
    }
    return ready;
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
    const byTarget = new Map<string, { index: number; job: NormalizedJob; nonce: string }[]>();
    normalized.forEach((job, index) => {
      const name = this.bullName(queue, job.group);
      const list = byTarget.get(name) ?? [];
      list.push({ index, job, nonce: randomUUID() });
      byTarget.set(name, list);
    });
    const results: EnqueueResult[] = normalized.map((j) => ({ id: j.id, added: false }));
    const now = Date.now();
    await Promise.all(
      [...byTarget].map(async ([name, items]) => {
        if (name !== queue) await this.partitionReady(name);
        const q = this.queueFor(name);
        // addBulk is one MULTI per BullMQ queue: atomic per partition, in order.
        await q.addBulk(
          items.map(({ job, nonce }) => ({
            name: 'job',
            data: this.envelope(job, nonce, now),
            opts: this.jobOpts(job),
          })),
        );
        // BullMQ answers a duplicate jobId with the existing id; our nonce in the stored data tells them apart.
        const pipeline = this.producer.pipeline();
        for (const { job } of items) pipeline.hget(q.toKey(bullJobId(job.id)), 'data');
        const stored = (await pipeline.exec()) ?? [];
        items.forEach(({ index, nonce }, k) => {
          const [err, raw] = stored[k] ?? [null, null];
          if (err) throw err;
          const env: unknown = typeof raw === 'string' ? JSON.parse(raw) : null;
          results[index] = { id: normalized[index]!.id, added: isEnvelope(env) && env.n === nonce };
        });
      }),
    );
    return results;
  }

  private envelope(job: NormalizedJob, nonce: string, now: number): Envelope {
    const env: Envelope = {
      id: job.id,
      d: JSON.parse(job.json) as unknown,
      m: job.maxAttempts,
      a: 0,
      n: nonce,
    };
    if (job.group !== null) {
      env.g = job.group;
      if (job.delayMs > 0) env.nb = now + job.delayMs;
    }
    return env;
  }

  private jobOpts(job: NormalizedJob) {
    const common = {
      jobId: bullJobId(job.id),
      removeOnComplete: { age: Math.ceil(this.opts.retentionMs / 1000) },
      removeOnFail: { age: Math.ceil(this.opts.failedRetentionMs / 1000) },
    };
    // Grouped jobs retry inside the processor (see the file comment), so BullMQ runs them once.
    if (job.group !== null) return { ...common, attempts: 1 };
    return {
      ...common,
      attempts: job.maxAttempts,
      backoff: { type: 'switchboard' },
      ...(job.delayMs > 0 ? { delay: job.delayMs } : {}),
    };
  }

  /** BullMQ hands out one job at a time: a batch handler gets batches of one. */
  processBatches<T>(queue: string, handler: BatchJobHandler<T>, opts: ProcessOptions = {}): Promise<void> {
    if (typeof handler !== 'function')
      throw new QueueError('invalid-argument', 'processBatches() needs a handler function');
    return this.process<T>(
      queue,
      (job) =>
        handler([job]).catch((err: unknown) => {
          throw err instanceof BatchFailure ? err.cause : err;
        }),
      opts,
    );
  }

  async process<T>(queue: string, handler: JobHandler<T>, opts: ProcessOptions = {}): Promise<void> {
    this.assertOpen();
    validateQueueName(queue);
    if (typeof handler !== 'function')
      throw new QueueError('invalid-argument', 'process() needs a handler function');
    const concurrency = opts.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new QueueError(
        'invalid-argument',
        `concurrency must be an integer ≥ 1, got ${String(concurrency)}`,
      );
    }
    if (this.workers.has(queue))
      throw new QueueError('already-processing', `queue ${queue} is already being processed here`);
    const workers: Worker<Envelope>[] = [];
    this.workers.set(queue, workers);
    if (!this.workerConnection) {
      // null: a worker's commands wait for Redis to come back instead of failing (BullMQ requires it).
      const conn = new Redis(this.url, { maxRetriesPerRequest: null });
      conn.on('error', (err: Error) => this.logRedisError('worker connection', err));
      this.workerConnection = conn;
    }
    await Promise.all(
      this.allBullNames(queue)
        .slice(1)
        .map((name) => this.partitionReady(name)),
    );
    const h = handler as JobHandler<unknown>;
    const semaphore = new Semaphore(concurrency);
    const common = {
      connection: this.workerConnection,
      prefix: this.prefix,
      lockDuration: this.opts.leaseMs,
      stalledInterval: Math.max(500, Math.floor(this.opts.leaseMs / 2)),
      // Our attempt counter (not BullMQ's stall limit) ends a job that keeps crashing its worker.
      maxStalledCount: 1_000_000,
      settings: {
        backoffStrategy: (attemptsMade: number, _type?: string, _err?: Error, job?: { data: unknown }) =>
          backoffDelay(isEnvelope(job?.data) ? job.data.a : attemptsMade, this.opts.backoff),
      },
    };
    workers.push(
      new Worker<Envelope>(queue, (job) => this.runUngrouped(queue, job, h, semaphore), {
        ...common,
        concurrency,
      }),
      ...this.allBullNames(queue)
        .slice(1)
        .map(
          (name) =>
            new Worker<Envelope>(name, (job) => this.runGrouped(queue, job, h, semaphore), {
              ...common,
              concurrency: 1,
            }),
        ),
    );
    for (const w of workers) w.on('error', (err: Error) => this.logRedisError(`workers of ${queue}`, err));
    await Promise.all(workers.map((w) => w.waitUntilReady()));
  }

  private toJob(queue: string, env: Envelope): Job<unknown> {
    return Object.freeze({
      id: env.id,
      queue,
      data: env.d,
      ...(env.g !== undefined ? { group: env.g } : {}),
      attempt: env.a,
      maxAttempts: env.m,
    });
  }

  private unfinished(env: Envelope): UnrecoverableError {
    return new UnrecoverableError(`attempt ${env.a} of ${env.m} did not finish: its worker stopped or died`);
  }

  /** Runs the handler holding a concurrency permit; false if closing began before it could start. */
  private async runHandler(
    queue: string,
    env: Envelope,
    handler: JobHandler<unknown>,
    semaphore: Semaphore,
  ): Promise<boolean> {
    await semaphore.acquire();
    try {
      if (this.stopping.signal.aborted) return false;
      await handler(this.toJob(queue, env));
      return true;
    } finally {
      semaphore.release();
    }
  }

  private async runUngrouped(
    queue: string,
    job: BullJob<Envelope>,
    handler: JobHandler<unknown>,
    semaphore: Semaphore,
  ): Promise<void> {
    const before = job.data;
    if (!isEnvelope(before)) throw new UnrecoverableError('not a Switchboard job');
    if (before.a >= before.m) throw this.unfinished(before);
    const env: Envelope = { ...before, a: before.a + 1 };
    await job.updateData(env);
    const label = `queue ${queue}: job ${env.id} attempt ${env.a}/${env.m}`;
    try {
      // Closing before the start: give the attempt back (BullMQ counts a plain error as a failed attempt).
      if (!(await this.runHandler(queue, env, handler, semaphore))) {
        await job.updateData(before);
        throw Worker.RateLimitError();
      }
    } catch (err) {
      if (err instanceof Error && err.name === 'RateLimitError') throw err;
      if (err instanceof PermanentJobError || env.a >= env.m) {
        this.opts.logger.warn(`${label} failed for good: ${errorMessage(err)}`);
        throw new UnrecoverableError(errorText(err));
      }
      this.opts.logger.log(`${label} failed, retrying with backoff: ${errorMessage(err)}`);
      throw err instanceof Error ? err : new Error(String(err));
    }
  }

  private async runGrouped(
    queue: string,
    job: BullJob<Envelope>,
    handler: JobHandler<unknown>,
    semaphore: Semaphore,
  ): Promise<void> {
    let env = job.data;
    if (!isEnvelope(env)) throw new UnrecoverableError('not a Switchboard job');
    for (;;) {
      // Waiting here (not in BullMQ's delayed set) keeps the job at the head of its partition, so its group waits too.
      // On close the wait is cut short and the job goes back to the front of the partition, its `nb` intact.
      if (!(await this.sleep((env.nb ?? 0) - Date.now()))) throw Worker.RateLimitError();
      if (env.a >= env.m) throw this.unfinished(env);
      const before: Envelope = env;
      const { nb: _nb, ...rest } = env;
      env = { ...rest, a: env.a + 1 };
      await job.updateData(env);
      const label = `queue ${queue}: job ${env.id} attempt ${env.a}/${env.m}`;
      try {
        if (await this.runHandler(queue, env, handler, semaphore)) return;
        await job.updateData(before);
        throw Worker.RateLimitError();
      } catch (err) {
        if (err instanceof Error && err.name === 'RateLimitError') throw err;
        if (err instanceof PermanentJobError || env.a >= env.m) {
          this.opts.logger.warn(`${label} failed for good: ${errorMessage(err)}`);
          throw new UnrecoverableError(errorText(err));
        }
        const delay = backoffDelay(env.a, this.opts.backoff);
        env = { ...env, nb: Date.now() + delay };
        await job.updateData(env);
        this.opts.logger.log(`${label} failed, retrying in ${delay} ms: ${errorMessage(err)}`);
      }
    }
  }

  /** Resolves true after `ms`, or false as soon as the driver starts closing. */
  private sleep(ms: number): Promise<boolean> {
    const signal = this.stopping.signal;
    if (signal.aborted) return Promise.resolve(false);
    if (ms <= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const onAbort = () => {
        clearTimeout(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  async stats(queue: string): Promise<QueueStats> {
    this.assertOpen();
    validateQueueName(queue);
    const all = await Promise.all(
      this.allBullNames(queue).map((n) =>
        this.queueFor(n).getJobCounts(
          'wait',
          'paused',
          'prioritized',
          'active',
          'delayed',
          'completed',
          'failed',
        ),
      ),
    );
    const sum = (k: string) => all.reduce((s, c) => s + (c[k] ?? 0), 0);
    return {
      waiting: sum('wait') + sum('paused') + sum('prioritized'),
      running: sum('active'),
      delayed: sum('delayed'),
      completed: sum('completed'),
      failed: sum('failed'),
    };
  }

  async failed<T = unknown>(queue: string, limit = 50): Promise<FailedJob<T>[]> {
    this.assertOpen();
    validateQueueName(queue);
    if (!Number.isInteger(limit) || limit < 1)
      throw new QueueError('invalid-argument', 'limit must be an integer ≥ 1');
    const lists = await Promise.all(
      this.allBullNames(queue).map((n) => this.queueFor(n).getFailed(0, limit - 1)),
    );
    return lists
      .flat()
      .filter((j) => isEnvelope(j.data))
      .sort((x, y) => (y.finishedOn ?? 0) - (x.finishedOn ?? 0))
      .slice(0, limit)
      .map((j) => {
        const env = j.data as Envelope;
        return {
          id: env.id,
          queue,
          data: env.d as T,
          ...(env.g !== undefined ? { group: env.g } : {}),
          attempts: env.a,
          error: j.failedReason ?? '',
          failedAt: new Date(j.finishedOn ?? 0),
        };
      });
  }

  async retryFailed(queue: string, id: string): Promise<boolean> {
    this.assertOpen();
    validateQueueName(queue);
    for (const name of this.allBullNames(queue)) {
      const job = (await this.queueFor(name).getJob(bullJobId(id))) as BullJob<Envelope> | undefined;
      if (!job || !isEnvelope(job.data) || !(await job.isFailed())) continue;
      const { nb: _nb, ...env } = job.data;
      await job.updateData({ ...env, a: 0 });
      await job.retry('failed');
      return true;
    }
    return false;
  }

  async check(): Promise<QueueHealth> {
    if (this.closing) return { ok: false, message: 'redis queue: closed' };
    const where = `redis queue ${redact(this.url)}`;
    let timer: NodeJS.Timeout | undefined;
    try {
      const ping = this.producer.ping();
      ping.catch(() => undefined); // may settle after the timeout
      const pong = await Promise.race([
        ping,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${HEALTH_TIMEOUT_MS} ms`)),
            HEALTH_TIMEOUT_MS,
          );
        }),
      ]);
      return { ok: pong === 'PONG', message: `${where}: ${pong}` };
    } catch (err) {
      return { ok: false, message: `${where}: ${errorMessage(err)}` };
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.stopping.abort();
    const workers = [...this.workers.values()].flat();
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      Promise.allSettled(workers.map((w) => w.close())).then(() => true),
      new Promise<false>((r) => (timer = setTimeout(() => r(false), this.opts.closeTimeoutMs))),
    ]);
    clearTimeout(timer);
    if (!drained)
      this.opts.logger.warn(
        'closed with handlers still running; their jobs run again once their locks expire',
      );
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    this.workerConnection?.disconnect();
    this.producer.disconnect();
  }
}
