import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchFailure,
  createQueue,
  PermanentJobError,
  QueueError,
  type Job,
  type QueueOptions,
  type QueuePort,
} from '../../src/queue';
import { partitionOf } from '../../src/queue/queue.rules';
import { startRedis, type RedisServer } from '../support/redis';
import { memoryLogger, sleep, waitFor } from './queue-test-helpers';

// The port's semantics, once per driver: the embedded SQLite queue and BullMQ against a real redis-server.
const PARTITIONS = 8;
const Q = 'jobs';

/** `count` group names, each on its own Redis partition (so the Redis driver shows no head-of-line blocking between them). */
function groupsOnDistinctPartitions(count: number): string[] {
  const seen = new Set<number>();
  const out: string[] = [];
  for (let i = 0; out.length < count; i++) {
    const g = `room-${i}`;
    if (seen.has(partitionOf(g, PARTITIONS))) continue;
    seen.add(partitionOf(g, PARTITIONS));
    out.push(g);
  }
  return out;
}

describe.each(['embedded', 'redis'] as const)('%s queue driver', (kind) => {
  let redis: RedisServer | undefined;
  let dir: string;
  let seq = 0;
  const open: QueuePort[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-queue-test-'));
    if (kind === 'redis') redis = await startRedis();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((q) => q.close()));
  });
  afterAll(async () => {
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A queue on a fresh store, or on the store named `store` (to reopen one). */
  function makeQueue(opts: QueueOptions = {}, store = `s${++seq}`): QueuePort {
    const options: QueueOptions = {
      logger: memoryLogger(),
      backoff: { baseMs: 20, factor: 2, capMs: 200, jitter: 0 },
      ...opts,
    };
    const q =
      kind === 'embedded'
        ? createQueue({ kind, path: join(dir, `${store}.sqlite`) }, options)
        : createQueue({ kind, url: redis!.url, prefix: store, partitions: PARTITIONS }, options);
    open.push(q);
    return q;
  }

  it('reports health and rejects bad input with a QueueError', async () => {
    const q = makeQueue();
    expect(await q.check()).toMatchObject({ ok: true });
    await expect(q.enqueue('bad:name', { id: 'a', data: 1 })).rejects.toThrow(QueueError);
    await expect(q.enqueue(Q, { id: '', data: 1 })).rejects.toThrow(/job id/);
    await expect(q.enqueue(Q, { id: 'a', data: () => 1 })).rejects.toThrow(/JSON/);
    await q.process(Q, async () => undefined);
    await expect(q.process(Q, async () => undefined)).rejects.toMatchObject({ code: 'already-processing' });
    await q.close();
    expect(await q.check()).toMatchObject({ ok: false });
    await expect(q.enqueue(Q, { id: 'a', data: 1 })).rejects.toMatchObject({ code: 'closed' });
  });

  it('dedupes by id: while waiting, within one enqueueMany, and after completion', async () => {
    const q = makeQueue();
    expect(await q.enqueue(Q, { id: 'a', data: { n: 1 } })).toEqual({ id: 'a', added: true });
    expect(await q.enqueue(Q, { id: 'a', data: { n: 2 } })).toEqual({ id: 'a', added: false });
    // ids BullMQ would refuse as they are: integer-like, and with ':'
    expect(await q.enqueue(Q, { id: '42', data: { n: 3 }, group: 'g' })).toEqual({ id: '42', added: true });
    expect(await q.enqueue(Q, { id: 'msg:1', data: { n: 4 }, group: 'g' })).toEqual({
      id: 'msg:1',
      added: true,
    });
    expect(await q.enqueue(Q, { id: 'msg:1', data: { n: 5 }, group: 'g' })).toEqual({
      id: 'msg:1',
      added: false,
    });
    const many = await q.enqueueMany(Q, [
      { id: 'c', data: { n: 6 } },
      { id: 'c', data: { n: 7 } },
      { id: 'a', data: { n: 8 } },
      { id: 'd', data: { n: 9 }, group: 'g' },
    ]);
    expect(many.map((r) => r.added)).toEqual([true, false, false, true]);

    const runs: string[] = [];
    await q.process<{ n: number }>(Q, async (job) => void runs.push(`${job.id}=${job.data.n}`), {
      concurrency: 2,
    });
    await waitFor('5 jobs completed', async () => (await q.stats(Q)).completed === 5);
    expect(runs.sort()).toEqual(['42=3', 'a=1', 'c=6', 'd=9', 'msg:1=4']);

    expect(await q.enqueue(Q, { id: 'a', data: { n: 10 } })).toEqual({ id: 'a', added: false });
    expect(await q.enqueue(Q, { id: 'msg:1', data: { n: 11 }, group: 'g' })).toEqual({
      id: 'msg:1',
      added: false,
    });
    expect(await q.enqueue(Q, { id: 'z', data: { n: 12 } })).toEqual({ id: 'z', added: true });
    await waitFor('z completed', () => runs.includes('z=12'));
    expect(await q.stats(Q)).toEqual({ waiting: 0, running: 0, delayed: 0, completed: 6, failed: 0 });
    expect(runs).toHaveLength(6);
  });

  it('retries with exponential backoff, fails after maxAttempts (or at once on PermanentJobError), and retryFailed runs it again', async () => {
    const q = makeQueue({ backoff: { baseMs: 40, factor: 2, capMs: 1000, jitter: 0 } });
    const starts = new Map<string, { attempt: number; at: number }[]>();
    let healed = false;
    await q.process(
      Q,
      async (job: Job<unknown>) => {
        const list = starts.get(job.id) ?? [];
        list.push({ attempt: job.attempt, at: Date.now() });
        starts.set(job.id, list);
        if (job.id === 'perm') throw new PermanentJobError('rejected by the network');
        if (!healed) throw new Error(`boom ${job.attempt}`);
      },
      { concurrency: 2 },
    );
    await q.enqueue(Q, { id: 'free', data: 1, maxAttempts: 4 });
    await q.enqueue(Q, { id: 'grouped', data: 2, group: 'g', maxAttempts: 3 });
    await q.enqueue(Q, { id: 'perm', data: 3, maxAttempts: 5 });
    await waitFor('3 failed jobs', async () => (await q.stats(Q)).failed === 3);

    const check = (id: string, gaps: number[]) => {
      const s = starts.get(id)!;
      expect(s.map((x) => x.attempt)).toEqual(gaps.map((_, i) => i + 1).concat(gaps.length + 1));
      // each retry waits at least the backoff (lower bounds only: a slow machine may wait longer)
      gaps.forEach((g, i) => expect(s[i + 1]!.at - s[i]!.at).toBeGreaterThanOrEqual(g - 2));
    };
    check('free', [40, 80, 160]);
    check('grouped', [40, 80]);
    check('perm', []);

    const failed = await q.failed(Q, 10);
    expect(failed.map((f) => [f.id, f.attempts]).sort()).toEqual([
      ['free', 4],
      ['grouped', 3],
      ['perm', 1],
    ]);
    expect(failed.find((f) => f.id === 'free')).toMatchObject({
      data: 1,
      error: expect.stringContaining('boom 4'),
    });
    expect(failed.find((f) => f.id === 'grouped')).toMatchObject({ group: 'g' });
    expect(failed.find((f) => f.id === 'perm')!.error).toContain('rejected by the network');
    expect(await q.failed(Q, 1)).toHaveLength(1);
    expect(await q.stats(Q)).toMatchObject({ waiting: 0, running: 0, delayed: 0, completed: 0, failed: 3 });
    expect(await q.enqueue(Q, { id: 'free', data: 1 })).toMatchObject({ added: false });

    healed = true;
    expect(await q.retryFailed(Q, 'nope')).toBe(false);
    expect(await q.retryFailed(Q, 'free')).toBe(true);
    expect(await q.retryFailed(Q, 'grouped')).toBe(true);
    await waitFor('retried jobs completed', async () => (await q.stats(Q)).completed === 2);
    expect(starts.get('free')!.at(-1)!.attempt).toBe(1);
    expect(starts.get('grouped')!.at(-1)!.attempt).toBe(1);
    expect(await q.stats(Q)).toMatchObject({ completed: 2, failed: 1 });
  });

  it('processBatches: a group\'s waiting jobs come together, in order; a BatchFailure completes the jobs before it, fails or retries its job, and runs the rest after it', async () => {
    const q = makeQueue();
    const [A, B] = groupsOnDistinctPartitions(2) as [string, string];
    const batches: string[][] = [];
    const completed: string[] = [];
    let failedOnce = false;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    await q.processBatches<number>(
      Q,
      async (jobs) => {
        batches.push(jobs.map((j) => `${j.id}#${j.attempt}`));
        if (jobs[0]!.id === 'A0') await gate; // the rest of A's jobs pile up meanwhile
        const bad = jobs.findIndex((j) => j.id === 'A5');
        if (bad >= 0 && !failedOnce) {
          failedOnce = true;
          completed.push(...jobs.slice(0, bad).map((j) => j.id));
          throw new BatchFailure(bad, new Error('A5 not yet'));
        }
        const refused = jobs.findIndex((j) => j.id === 'B3');
        if (refused >= 0) {
          completed.push(...jobs.slice(0, refused).map((j) => j.id));
          throw new BatchFailure(refused, new PermanentJobError('B3 is refused'));
        }
        completed.push(...jobs.map((j) => j.id));
      },
      { concurrency: 2 },
    );
    await q.enqueue(Q, { id: 'A0', data: 0, group: A });
    await waitFor('A0 running', () => batches.length === 1);
    const tenOf = (p: string, g: string) =>
      Array.from({ length: 9 }, (_, i) => ({ id: `${p}${i + 1}`, data: i + 1, group: g }));
    await q.enqueueMany(Q, [...tenOf('A', A), ...tenOf('B', B)]);
    release();
    await waitFor('A done', () => completed.filter((id) => id.startsWith('A')).length === 10, 15000);
    await waitFor('B settled', () => completed.filter((id) => id.startsWith('B')).length === 8, 15000);
    // A: order kept across the failure; A5 ran again (attempt 2) after A1..A4 completed, and the rest after it.
    expect(completed.filter((id) => id.startsWith('A'))).toEqual(
      Array.from({ length: 10 }, (_, i) => `A${i}`),
    );
    const aBatches = batches.filter((b) => b[0]!.startsWith('A'));
    if (kind === 'embedded') {
      // The embedded driver hands over the piled-up jobs together.
      expect(aBatches.some((b) => b.length > 1)).toBe(true);
      expect(aBatches.flat()).toContain('A5#2');
    } else {
      expect(aBatches.every((b) => b.length === 1)).toBe(true);
    }
    // B: B3 fails for good (PermanentJobError as the cause), the rest of B still completes in order.
    expect(completed.filter((id) => id.startsWith('B'))).toEqual(
      [1, 2, 4, 5, 6, 7, 8, 9].map((i) => `B${i}`),
    );
    const failed = await q.failed(Q);
    expect(failed.map((f) => f.id)).toEqual(['B3']);
  });

  it('keeps per-group order under concurrency; a retrying job holds back its group only', async () => {
    const q = makeQueue();
    const [A, B, C] = groupsOnDistinctPartitions(3) as [string, string, string];
    const log: string[] = [];
    const completed: string[] = [];
    const running = new Map<string, number>();
    let total = 0;
    let maxTotal = 0;
    let maxInGroup = 0;
    let othersDone = false;
    let a2Failures = 0;
    await q.process(
      Q,
      async (job: Job<unknown>) => {
        const g = job.group!;
        running.set(g, (running.get(g) ?? 0) + 1);
        total += 1;
        maxInGroup = Math.max(maxInGroup, running.get(g)!);
        maxTotal = Math.max(maxTotal, total);
        log.push(`start ${job.id}#${job.attempt}`);
        try {
          await sleep(15);
          if (job.id === 'A2' && (job.attempt === 1 || !othersDone)) {
            a2Failures += 1;
            throw new Error('not yet');
          }
          completed.push(job.id);
        } finally {
          running.set(g, running.get(g)! - 1);
          total -= 1;
        }
      },
      { concurrency: 3 },
    );
    const five = (prefix: string, group: string) =>
      [1, 2, 3, 4, 5].map((i) => ({ id: `${prefix}${i}`, data: i, group }));
    await q.enqueueMany(Q, five('A', A));
    await waitFor('A2 failed once', () => a2Failures >= 1);
    // B and C arrive while A2 waits for its retry: they must run to the end meanwhile (else this times out).
    await q.enqueueMany(Q, [...five('B', B), ...five('C', C)]);
    await waitFor(
      'B and C done while A2 retries',
      () => completed.filter((id) => !id.startsWith('A')).length === 10,
      15000,
    );
    othersDone = true;
    await waitFor('all 15 done', () => completed.length === 15);

    for (const p of ['A', 'B', 'C']) {
      expect(completed.filter((id) => id.startsWith(p))).toEqual([1, 2, 3, 4, 5].map((i) => `${p}${i}`));
    }
    expect(a2Failures).toBeGreaterThanOrEqual(2);
    expect(completed.indexOf('A2')).toBeGreaterThan(completed.indexOf('C5'));
    const lastA2 = log.map((l, i) => (l.startsWith('start A2#') ? i : -1)).reduce((a, b) => Math.max(a, b));
    expect(log.findIndex((l) => l.startsWith('start A3#'))).toBeGreaterThan(lastA2);
    expect(maxInGroup).toBe(1);
    expect(maxTotal).toBeLessThanOrEqual(3);
    expect(maxTotal).toBeGreaterThanOrEqual(2);
  });

  it(
    kind === 'embedded'
      ? 'a retrying group never holds back another group'
      : 'a retrying group holds back the groups that share its partition (documented head-of-line blocking)',
    async () => {
      const q = makeQueue();
      const A = 'room-a';
      let D = '';
      for (let i = 0; !D; i++)
        if (partitionOf(`room-d${i}`, PARTITIONS) === partitionOf(A, PARTITIONS)) D = `room-d${i}`;
      const done: string[] = [];
      let aFailures = 0;
      let release = false;
      await q.process(
        Q,
        async (job: Job<unknown>) => {
          if (job.id === 'a' && !release) {
            aFailures += 1;
            throw new Error('not yet');
          }
          done.push(job.id);
        },
        { concurrency: 4 },
      );
      await q.enqueue(Q, { id: 'a', data: 0, group: A });
      await q.enqueue(Q, { id: 'd', data: 0, group: D });
      if (kind === 'embedded') {
        await waitFor('d done while a retries', () => done.includes('d'));
        expect(done).toEqual(['d']);
      } else {
        await waitFor('a failed 3 times', () => aFailures >= 3);
        expect(done).toEqual([]);
      }
      release = true;
      await waitFor('both done', () => done.length === 2);
      expect(done).toEqual(kind === 'embedded' ? ['d', 'a'] : ['a', 'd']);
    },
  );

  it('runs delayed jobs no earlier than their delay; a delayed job holds back later jobs of its group', async () => {
    const q = makeQueue();
    const startedAt = new Map<string, number>();
    const order: string[] = [];
    await q.process(
      Q,
      async (job: Job<unknown>) => {
        startedAt.set(job.id, Date.now());
        order.push(job.id);
      },
      { concurrency: 4 },
    );
    const t0 = Date.now();
    await q.enqueue(Q, { id: 'later', data: 0, delayMs: 400 });
    await q.enqueue(Q, { id: 'g1', data: 0, group: 'G', delayMs: 300 });
    await q.enqueue(Q, { id: 'g2', data: 0, group: 'G' });
    await q.enqueue(Q, { id: 'now', data: 0 });
    expect((await q.stats(Q)).delayed).toBeGreaterThanOrEqual(1);
    await waitFor('4 jobs ran', () => order.length === 4);
    expect(startedAt.get('later')! - t0).toBeGreaterThanOrEqual(400);
    expect(startedAt.get('g1')! - t0).toBeGreaterThanOrEqual(300);
    expect(order.indexOf('g2')).toBeGreaterThan(order.indexOf('g1'));
    expect(order.indexOf('now')).toBeLessThan(order.indexOf('g1'));
  });

  it('renews the lease of a handler that runs longer than it: the job runs once', async () => {
    const q = makeQueue({ leaseMs: 500, pollIntervalMs: 50 });
    const runs: string[] = [];
    await q.process(
      Q,
      async (job: Job<unknown>) => {
        runs.push(job.id);
        await sleep(1800);
      },
      { concurrency: 4 },
    );
    await q.enqueue(Q, { id: 'slow', data: 0 });
    await q.enqueue(Q, { id: 'slow-grouped', data: 0, group: 'g' });
    await waitFor('both completed', async () => (await q.stats(Q)).completed === 2);
    expect(runs.sort()).toEqual(['slow', 'slow-grouped']);
  });

  it('close() does not wait out a retry backoff; the reopened queue still holds the job and its group', async () => {
    const store = `reopen-${++seq}`;
    const q1 = makeQueue({ backoff: { baseMs: 60_000, factor: 2, capMs: 60_000, jitter: 0 } }, store);
    let attempts = 0;
    await q1.process(Q, async () => {
      attempts += 1;
      throw new Error('network down');
    });
    await q1.enqueueMany(Q, [
      { id: 'x', data: 0, group: 'G' },
      { id: 'y', data: 0, group: 'G' },
    ]);
    await waitFor('x failed once', () => attempts === 1);
    await q1.close(); // a close that waited for the one-minute backoff would exceed this test's timeout

    const q2 = makeQueue({}, store);
    const ran: string[] = [];
    await q2.process(Q, async (job: Job<unknown>) => void ran.push(job.id));
    await sleep(300);
    expect(ran).toEqual([]);
    const s = await q2.stats(Q);
    expect(s.waiting + s.running + s.delayed).toBe(2);
    expect(s).toMatchObject({ completed: 0, failed: 0 });
  }, 15000);

  it('after close() and reopen, a retrying job resumes at its next attempt once its backoff ends, ahead of its group', async () => {
    const store = `reopen-${++seq}`;
    const q1 = makeQueue({ backoff: { baseMs: 1000, factor: 2, capMs: 1000, jitter: 0 } }, store);
    let failedAt = 0;
    await q1.process(Q, async () => {
      failedAt = Date.now();
      throw new Error('network down');
    });
    await q1.enqueueMany(Q, [
      { id: 'x', data: 0, group: 'G', maxAttempts: 5 },
      { id: 'y', data: 0, group: 'G' },
    ]);
    await waitFor('x failed once', () => failedAt > 0);
    await q1.close();

    const q2 = makeQueue({}, store);
    const ran: { run: string; at: number }[] = [];
    await q2.process(
      Q,
      async (job: Job<unknown>) => void ran.push({ run: `${job.id}#${job.attempt}`, at: Date.now() }),
    );
    await waitFor('x and y completed', () => ran.length === 2);
    expect(ran.map((r) => r.run)).toEqual(['x#2', 'y#1']);
    expect(ran[0]!.at - failedAt).toBeGreaterThanOrEqual(1000 - 2);
  });

  if (kind === 'redis') {
    it('workers survive Redis being killed and restarted: jobs enqueued before it all complete, check() reports the outage', async () => {
      // A short lease: a job whose fetch reply was lost in the outage sits in BullMQ's active list until
      // its lock expires and stall detection returns it (and its partition waits for it, to keep order).
      const q = makeQueue({ leaseMs: 3000 });
      const done = new Set<string>();
      let executions = 0;
      await q.process(
        Q,
        async (job: Job<unknown>) => {
          executions += 1;
          await sleep(5);
          done.add(job.id);
        },
        { concurrency: 4 },
      );
      const N = 300;
      await q.enqueueMany(
        Q,
        Array.from({ length: N }, (_, i) => ({
          id: `r${i}`,
          data: i,
          ...(i % 2 === 0 ? { group: `room-${i % 10}` } : {}),
        })),
      );
      await waitFor('60 done before the restart', () => done.size >= 60);
      let sawDown = false;
      let enqueueDuringOutage: string | undefined;
      let restarted = false;
      const restart = redis!.restart({ downMs: 3000, kill: true }).finally(() => (restarted = true));
      while (!restarted) {
        if (!(await q.check()).ok) sawDown = true;
        // An enqueue while Redis is down fails (the API can answer 503) instead of hanging until it returns.
        if (sawDown && enqueueDuringOutage === undefined && !restarted) {
          enqueueDuringOutage = await q.enqueue(Q, { id: 'during-outage', data: 0 }).then(
            () => 'resolved',
            (err: Error) => `rejected: ${err.message}`,
          );
        }
        await sleep(50);
      }
      await restart;
      expect(done.size).toBeLessThan(N);
      await waitFor(`all ${N} done after the restart`, () => done.size === N, 60000);
      await waitFor('all recorded completed', async () => (await q.stats(Q)).completed === N, 60000);
      expect(sawDown).toBe(true);
      expect(enqueueDuringOutage).toMatch(/^rejected/);
      expect(await q.check()).toMatchObject({ ok: true });
      expect(executions).toBeGreaterThanOrEqual(N);
      console.log(`redis restart: ${N} jobs, ${executions} executions`);
    });
  }
});
