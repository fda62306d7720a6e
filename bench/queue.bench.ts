// The embedded durable queue: enqueue rate, and time from enqueue to handler start (p50/p99), for jobs
// spread over conversations (groups) as the ingest and outbox queues use it. synchronous=FULL (the
// default: an accepted job survives power loss) against NORMAL (survives kill -9 only).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createQueue } from '../src/queue';
import { percentile, report } from './support';

const JOBS = 5000;
const GROUPS = 50;

async function run(synchronous: 'full' | 'normal') {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sb-bench-queue-'));
  const q = createQueue({ kind: 'embedded', path: path.join(dir, 'queue.sqlite'), synchronous }, {});
  const latencies: number[] = [];
  let done = 0;
  let resolveAll!: () => void;
  const all = new Promise<void>((r) => (resolveAll = r));
  await q.process<{ t: number }>(
    'bench',
    async (job) => {
      latencies.push(performance.now() - job.data.t);
      if (++done === JOBS) resolveAll();
    },
    { concurrency: 4 },
  );
  const t0 = performance.now();
  for (let i = 0; i < JOBS; i++) {
    await q.enqueue('bench', { id: `j${i}`, group: `g${i % GROUPS}`, data: { t: performance.now() } });
  }
  const enqueueMs = performance.now() - t0;
  await all;
  const totalMs = performance.now() - t0;
  await q.close();
  rmSync(dir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  return {
    synchronous,
    jobs: JOBS,
    groups: GROUPS,
    'enqueue jobs/s': Math.round((JOBS / enqueueMs) * 1000),
    'processed jobs/s': Math.round((JOBS / totalMs) * 1000),
    'latency p50 ms': +percentile(latencies, 50).toFixed(1),
    'latency p99 ms': +percentile(latencies, 99).toFixed(1),
  };
}

async function main() {
  const rows = [await run('full'), await run('normal')];
  report('queue-embedded', rows);
}

void main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
