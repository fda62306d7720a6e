import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { EmbeddedQueueStore } from './embedded-queue.store';
import { normalizeJob } from './queue.rules';
import type { JobSpec } from './queue.port';

// The ordering and recovery rules of the embedded queue, driven with an explicit clock on an in-memory
// database: no timers, no waiting.
const Q = 'q';
const LEASE = 1000;

function jobs(...specs: JobSpec<unknown>[]) {
  return specs.map((s) => normalizeJob(s, 3));
}

describe('EmbeddedQueueStore rules', () => {
  let store: EmbeddedQueueStore;
  let now: number;
  const ids = (limit = 10, owner = 'w') => store.claim(Q, limit, owner, now, LEASE).map((r) => r.id);
  const seqOf = (id: string) =>
    (store.db.prepare('SELECT seq FROM jobs WHERE id = ?').get(id) as { seq: number }).seq;

  beforeEach(() => {
    store = new EmbeddedQueueStore(':memory:');
    now = 1_000_000;
  });
  afterEach(() => store.close());

  it('dedupes by id in every state, per queue', () => {
    expect(store.enqueue(Q, jobs({ id: 'a', data: 1 }, { id: 'a', data: 2 }), now)).toEqual([true, false]);
    expect(store.enqueue('other', jobs({ id: 'a', data: 1 }), now)).toEqual([true]);
    ids();
    expect(store.enqueue(Q, jobs({ id: 'a', data: 3 }), now)).toEqual([false]); // running
    store.complete(seqOf('a'), 'w', now);
    expect(store.enqueue(Q, jobs({ id: 'a', data: 4 }), now)).toEqual([false]); // completed
    store.enqueue(Q, jobs({ id: 'b', data: 1 }), now);
    ids();
    store.fail(seqOf('b'), 'w', 'boom', now);
    expect(store.enqueue(Q, jobs({ id: 'b', data: 1 }), now)).toEqual([false]); // failed
  });

  it('runs ungrouped jobs in parallel, earliest due first', () => {
    store.enqueue(
      Q,
      jobs({ id: 'late', data: 0, delayMs: 50 }, { id: 'a', data: 0 }, { id: 'b', data: 0 }),
      now,
    );
    expect(ids()).toEqual(['a', 'b']);
    now += 50;
    expect(ids()).toEqual(['late']);
  });

  it('runs one job per group at a time, in enqueue order, groups independent', () => {
    store.enqueue(
      Q,
      jobs(
        { id: 'a1', data: 0, group: 'A' },
        { id: 'b1', data: 0, group: 'B' },
        { id: 'a2', data: 0, group: 'A' },
        { id: 'b2', data: 0, group: 'B' },
        { id: 'a3', data: 0, group: 'A' },
      ),
      now,
    );
    expect(ids()).toEqual(['a1', 'b1']);
    expect(ids()).toEqual([]);
    store.complete(seqOf('b1'), 'w', now);
    expect(ids()).toEqual(['b2']);
    store.complete(seqOf('a1'), 'w', now);
    expect(ids()).toEqual(['a2']);
  });

  it('a job waiting for its retry holds back its group and no other', () => {
    store.enqueue(
      Q,
      jobs(
        { id: 'a1', data: 0, group: 'A' },
        { id: 'a2', data: 0, group: 'A' },
        { id: 'b1', data: 0, group: 'B' },
      ),
      now,
    );
    expect(ids(1)).toEqual(['a1']);
    expect(store.retryLater(seqOf('a1'), 'w', 'boom', now + 500)).toBe(true);
    expect(ids()).toEqual(['b1']); // B moves on; a2 waits behind a1
    expect(store.stats(Q, now)).toEqual({ waiting: 1, running: 1, delayed: 1, completed: 0, failed: 0 });
    now += 500;
    const [again] = store.claim(Q, 10, 'w', now, LEASE);
    expect(again).toMatchObject({ id: 'a1', attempts: 2 });
  });

  it('a delayed job holds back later jobs of its group', () => {
    store.enqueue(
      Q,
      jobs({ id: 'a1', data: 0, group: 'A', delayMs: 100 }, { id: 'a2', data: 0, group: 'A' }),
      now,
    );
    expect(ids()).toEqual([]);
    now += 100;
    expect(ids()).toEqual(['a1']);
  });

  it('a failed job stops holding its group', () => {
    store.enqueue(Q, jobs({ id: 'a1', data: 0, group: 'A' }, { id: 'a2', data: 0, group: 'A' }), now);
    ids();
    store.fail(seqOf('a1'), 'w', 'bad', now);
    expect(ids()).toEqual(['a2']);
  });

  it('a new job of an idle group is runnable at once; of a busy group, it queues', () => {
    store.enqueue(Q, jobs({ id: 'a1', data: 0, group: 'A' }), now);
    store.complete(seqOf(ids()[0]!), 'w', now);
    store.enqueue(Q, jobs({ id: 'a2', data: 0, group: 'A' }), now);
    expect(ids()).toEqual(['a2']);
    store.enqueue(Q, jobs({ id: 'a3', data: 0, group: 'A' }), now);
    expect(ids()).toEqual([]);
  });

  it('an expired lease makes the job runnable again; on its last attempt it fails and frees the group', () => {
    store.enqueue(
      Q,
      jobs({ id: 'a1', data: 0, group: 'A', maxAttempts: 2 }, { id: 'a2', data: 0, group: 'A' }),
      now,
    );
    expect(ids(1, 'dead')).toEqual(['a1']);
    now += LEASE - 1;
    expect(store.recoverExpired(now)).toBe(0);
    now += 2;
    expect(store.recoverExpired(now)).toBe(1);
    expect(ids(1, 'dead')).toEqual(['a1']); // attempt 2 of 2
    expect(store.complete(seqOf('a1'), 'w', now)).toBe(false); // not ours
    now += LEASE + 1;
    store.recoverExpired(now);
    expect(store.failed(Q, 10)).toMatchObject([
      { id: 'a1', attempts: 2, error: expect.stringMatching(/lease expired/) },
    ]);
    expect(ids()).toEqual(['a2']);
  });

  it('renewing a lease keeps the job claimed', () => {
    store.enqueue(Q, jobs({ id: 'a', data: 0 }), now);
    ids();
    now += LEASE - 10;
    expect(store.renew([seqOf('a')], 'other', now + LEASE)).toBe(0);
    expect(store.renew([seqOf('a')], 'w', now + LEASE)).toBe(1);
    now += 100;
    expect(store.recoverExpired(now)).toBe(0);
  });

  it('recovers jobs of an owner known to be dead without waiting for the lease', () => {
    store.enqueue(Q, jobs({ id: 'a', data: 0 }, { id: 'b', data: 0 }), now);
    store.claim(Q, 1, 'dead', now, LEASE);
    store.claim(Q, 1, 'alive', now, LEASE);
    expect(store.recoverOwners((o) => o === 'dead', now)).toBe(1);
    expect(store.stats(Q, now)).toMatchObject({ waiting: 1, running: 1 });
  });

  it('retryFailed puts the job at the end of its group with fresh attempts', () => {
    store.enqueue(Q, jobs({ id: 'a1', data: 0, group: 'A' }, { id: 'a2', data: 0, group: 'A' }), now);
    ids();
    store.fail(seqOf('a1'), 'w', 'bad', now);
    expect(ids()).toEqual(['a2']);
    expect(store.retryFailed(Q, 'a1', now)).toBe(true);
    expect(store.retryFailed(Q, 'nope', now)).toBe(false);
    expect(ids()).toEqual([]); // behind a2
    store.complete(seqOf('a2'), 'w', now);
    expect(store.claim(Q, 10, 'w', now, LEASE)).toMatchObject([{ id: 'a1', attempts: 1 }]);
  });

  it('claims a group head with the due jobs queued behind it, stopping at one not yet due', () => {
    store.enqueue(
      Q,
      jobs(
        { id: 'a1', data: 0, group: 'A' },
        { id: 'a2', data: 0, group: 'A' },
        { id: 'a3', data: 0, group: 'A', delayMs: 50 },
        { id: 'a4', data: 0, group: 'A' },
        { id: 'b1', data: 0, group: 'B' },
        { id: 'b2', data: 0, group: 'B' },
        { id: 'b3', data: 0, group: 'B' },
      ),
      now,
    );
    const runs = store.claimRuns(Q, 10, 'w', now, LEASE, 2);
    expect(runs.map((r) => r.map((j) => j.id))).toEqual([
      ['a1', 'a2'],
      ['b1', 'b2'],
    ]);
    expect(runs.flat().every((j) => j.attempts === 1)).toBe(true);
    // Nothing else of A or B is claimable while their runs hold them.
    expect(store.claimRuns(Q, 10, 'w', now + 100, LEASE, 10)).toEqual([]);
    expect(
      store.finishRun(
        runs[0]!.map((j) => ({ seq: j.seq, kind: 'completed' as const })),
        'w',
        now,
      ),
    ).toEqual([true, true]);
    // a3 waits for its time and holds a4 behind it.
    expect(store.claimRuns(Q, 10, 'w', now, LEASE, 10)).toEqual([]);
    now += 50;
    expect(store.claimRuns(Q, 10, 'w', now, LEASE, 10).map((r) => r.map((j) => j.id))).toEqual([
      ['a3', 'a4'],
    ]);
  });

  it('records a run: done jobs finish, a failure ends it, the jobs not started go back with their attempt', () => {
    store.enqueue(
      Q,
      jobs(
        { id: 'a1', data: 0, group: 'A' },
        { id: 'a2', data: 0, group: 'A' },
        { id: 'a3', data: 0, group: 'A' },
        { id: 'a4', data: 0, group: 'A' },
      ),
      now,
    );
    const [run] = store.claimRuns(Q, 10, 'w', now, LEASE, 10);
    expect(run!.map((j) => j.id)).toEqual(['a1', 'a2', 'a3', 'a4']);
    const [a1, a2, a3, a4] = run!;
    expect(
      store.finishRun(
        [
          { seq: a1!.seq, kind: 'completed' },
          { seq: a2!.seq, kind: 'retry', error: 'boom', runAt: now + 10 },
          { seq: a3!.seq, kind: 'unrun' },
          { seq: a4!.seq, kind: 'unrun' },
        ],
        'w',
        now,
      ),
    ).toEqual([true, true, true, true]);
    expect(store.stats(Q, now)).toEqual({ waiting: 2, running: 0, delayed: 1, completed: 1, failed: 0 });
    // The retried job is its group's head again: nothing runs before it, then the rest in order.
    expect(ids()).toEqual([]);
    now += 10;
    expect(store.claimRuns(Q, 10, 'w', now, LEASE, 10)).toMatchObject([
      [
        { id: 'a2', attempts: 2 },
        { id: 'a3', attempts: 1 },
        { id: 'a4', attempts: 1 },
      ],
    ]);
    // A job failed for good lets the next one become the head.
    const again = store.claimRuns(Q, 10, 'w', now + LEASE + 1, LEASE, 10);
    expect(again).toEqual([]); // still leased
    store.recoverExpired(now + LEASE + 1);
    const [r2] = store.claimRuns(Q, 10, 'w', now + LEASE + 1, LEASE, 1);
    expect(r2!.map((j) => j.id)).toEqual(['a2']);
    expect(store.finishRun([{ seq: r2![0]!.seq, kind: 'failed', error: 'bad' }], 'w', now)).toEqual([true]);
    expect(ids()).toEqual(['a3']);
  });

  it('prunes finished jobs past retention, which ends their dedupe', () => {
    store.enqueue(Q, jobs({ id: 'a', data: 0 }), now);
    ids();
    store.complete(seqOf('a'), 'w', now);
    expect(store.prune(now, now)).toBe(0);
    expect(store.prune(now + 1, now)).toBe(1);
    expect(store.enqueue(Q, jobs({ id: 'a', data: 0 }), now)).toEqual([true]);
  });
});

describe('EmbeddedQueueStore schema', () => {
  it('creates its table at version 1 and refuses a newer file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-queue-spec-'));
    try {
      const path = join(dir, 'data', 'queue.sqlite'); // the folder does not exist yet
      await new EmbeddedQueueStore(path).close();
      const db = new Database(path);
      expect(db.pragma('user_version', { simple: true })).toBe(1);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      db.pragma('user_version = 2');
      db.close();
      expect(() => new EmbeddedQueueStore(path)).toThrow(/schema version 2/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
