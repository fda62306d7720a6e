// The worker process of kill9.test.ts: opens the queue, processes jobs until killed. Its handler is
// idempotent by job id (INSERT … ON CONFLICT DO NOTHING into a separate SQLite file) and appends every
// execution to a log, so the test can tell completions from executions.
// Run: node -r ./test/support/ts-register.js test/queue/kill9-worker.ts (config in SB_KILL9_WORKER).
import { appendFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { createQueue, type QueueConfig, type QueueOptions } from '../../src/queue';

export interface Kill9WorkerConfig {
  queue: QueueConfig;
  options: Omit<QueueOptions, 'logger'>;
  name: string;
  concurrency: number;
  resultsPath: string;
  logPath: string;
  workMs: number;
}

export interface Kill9JobData {
  index: number;
}

async function main(): Promise<void> {
  const raw = process.env.SB_KILL9_WORKER;
  if (!raw) throw new Error('SB_KILL9_WORKER (the JSON config) is not set');
  const cfg = JSON.parse(raw) as Kill9WorkerConfig;
  const results = new Database(cfg.resultsPath);
  results.pragma('journal_mode = WAL');
  results.pragma('busy_timeout = 5000');
  const record = results.prepare(
    'INSERT INTO done (job_id, grp, idx) VALUES (?, ?, ?) ON CONFLICT (job_id) DO NOTHING',
  );
  const queue = createQueue(cfg.queue, {
    ...cfg.options,
    logger: {
      log: () => undefined,
      warn: (m) => console.error(`warn ${m}`),
      error: (m) => console.error(`error ${m}`),
    },
  });
  await queue.process<Kill9JobData>(
    cfg.name,
    async (job) => {
      appendFileSync(cfg.logPath, `start ${job.id} ${process.pid}\n`);
      await new Promise((r) => setTimeout(r, cfg.workMs));
      record.run(job.id, job.group ?? null, job.data.index);
      appendFileSync(cfg.logPath, `done ${job.id} ${process.pid}\n`);
    },
    { concurrency: cfg.concurrency },
  );
  process.once('SIGTERM', () => {
    void queue.close().then(() => {
      results.close();
      process.exit(0);
    });
  });
  console.log(`worker ${process.pid} ready`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
