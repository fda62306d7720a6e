import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { createQueue, type QueueConfig, type QueuePort } from '../../src/queue';
import { startProcess, type ManagedProcess } from '../support/managed-process';
import { startRedis, type RedisServer } from '../support/redis';
import type { Kill9JobData, Kill9WorkerConfig } from './kill9-worker';
import { memoryLogger, waitFor } from './queue-test-helpers';

// The durability promise of the outbox: 1,000 jobs, the worker process SIGKILLed mid-way and restarted;
// every job completes exactly once (its effect is keyed by job id), none is lost, re-executions are bounded by
// the jobs that were in flight at the kill, and per-group order holds across the crash.
const ROOT = resolve(__dirname, '..', '..');
const N = 1000;
const GROUPS = 20;
const NAME = 'outbox';

describe.each(['embedded', 'redis'] as const)('%s queue: worker killed with SIGKILL mid-way', (kind) => {
  let dir: string;
  let redis: RedisServer | undefined;
  let producer: QueuePort | undefined;
  let results: Database.Database | undefined;
  const workers: ManagedProcess[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-kill9-'));
    if (kind === 'redis') redis = await startRedis();
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.kill9()));
    await producer?.close();
    results?.close();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function startWorker(cfg: Kill9WorkerConfig): ManagedProcess {
    const w = startProcess(
      `queue worker ${workers.length + 1}`,
      process.execPath,
      ['-r', './test/support/ts-register.js', 'test/queue/kill9-worker.ts'],
      {
        cwd: ROOT,
        env: { ...process.env, SB_KILL9_WORKER: JSON.stringify(cfg) },
      },
    );
    workers.push(w);
    return w;
  }

  it(`completes each of ${N} jobs exactly once`, async () => {
    const queue: QueueConfig =
      kind === 'embedded'
        ? { kind, path: join(dir, 'queue.sqlite') }
        : { kind, url: redis!.url, prefix: 'kill9', partitions: 8 };
    // A short lease so the Redis driver (BullMQ stall detection) recovers the killed worker's jobs quickly;
    // the embedded driver sees at once that the lease owner's process is gone.
    const options = { leaseMs: 2000, pollIntervalMs: 200 };
    const resultsPath = join(dir, 'results.sqlite');
    const logPath = join(dir, 'executions.log');
    writeFileSync(logPath, '');
    results = new Database(resultsPath);
    results.pragma('journal_mode = WAL');
    results.exec(
      'CREATE TABLE done (seq INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL UNIQUE, grp TEXT, idx INTEGER NOT NULL)',
    );
    const countDone = () => (results!.prepare('SELECT COUNT(*) AS n FROM done').get() as { n: number }).n;

    producer = createQueue(queue, { ...options, logger: memoryLogger() });
    // Four jobs in five belong to one of 20 conversations (ordered); the fifth has no group.
    const specs = Array.from({ length: N }, (_, i) => ({
      id: `job-${i}`,
      data: { index: i } satisfies Kill9JobData,
      ...(i % 5 !== 4 ? { group: `conv-${i % GROUPS}` } : {}),
    }));
    const enqueued = await producer.enqueueMany(NAME, specs);
    expect(enqueued.filter((r) => r.added)).toHaveLength(N);

    const cfg: Kill9WorkerConfig = {
      queue,
      options,
      name: NAME,
      concurrency: 4,
      resultsPath,
      logPath,
      workMs: 2,
    };
    const first = startWorker(cfg);
    await first.waitForOutput(/ready/);
    await waitFor('200 completions before the kill', () => countDone() >= 200, 60000);
    await first.kill9();
    const doneAtKill = countDone();
    const inFlight = (await producer.stats(NAME)).running;
    const executionsAtKill = readFileSync(logPath, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('start ')).length;

    const second = startWorker(cfg);
    await second.waitForOutput(/ready/);
    await waitFor(`all ${N} completions`, () => countDone() === N, 60000);
    await waitFor(
      'the queue to record every completion',
      async () => (await producer!.stats(NAME)).completed === N,
      30000,
    );
    await second.stop();

    const lines = readFileSync(logPath, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('start '));
    const perId = new Map<string, number>();
    for (const l of lines) perId.set(l.split(' ')[1]!, (perId.get(l.split(' ')[1]!) ?? 0) + 1);
    const rerun = [...perId.values()].filter((n) => n > 1).length;
    console.log(
      `${kind}: ${N} jobs; completed before the kill ${doneAtKill}, executions before the kill ${executionsAtKill}, ` +
        `in flight at the kill ${inFlight}; executions in all ${lines.length}, jobs run twice ${rerun}`,
    );

    expect(doneAtKill).toBeGreaterThanOrEqual(200);
    expect(doneAtKill).toBeLessThan(N);
    // Exactly once, none missing: one effect per id, and the queue agrees.
    const ids = (results.prepare('SELECT job_id FROM done').all() as { job_id: string }[]).map(
      (r) => r.job_id,
    );
    expect(new Set(ids)).toEqual(new Set(specs.map((s) => s.id)));
    expect(await producer.stats(NAME)).toEqual({
      waiting: 0,
      running: 0,
      delayed: 0,
      completed: N,
      failed: 0,
    });
    // At-least-once costs at most one extra run per job that was in flight when the worker died.
    expect(perId.size).toBe(N);
    expect(lines.length).toBeLessThanOrEqual(N + inFlight);
    expect(rerun).toBeLessThanOrEqual(inFlight);
    // Per-conversation order survived the crash: first effects of a group are in enqueue order.
    const rows = results.prepare('SELECT grp, idx FROM done WHERE grp IS NOT NULL ORDER BY seq').all() as {
      grp: string;
      idx: number;
    }[];
    const last = new Map<string, number>();
    for (const { grp, idx } of rows) {
      expect(idx).toBeGreaterThan(last.get(grp) ?? -1);
      last.set(grp, idx);
    }
    // Completed ids stay deduplicated.
    expect((await producer.enqueueMany(NAME, specs.slice(0, 50))).some((r) => r.added)).toBe(false);
  });
});
