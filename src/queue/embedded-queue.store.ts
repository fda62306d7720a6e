/**
 * The SQL of the embedded queue: every state change is one SQLite transaction, with the clock passed in
 * so the rules can be tested without waiting. The driver (embedded-queue.driver.ts) adds the loops.
 *
 * A job row is `pending` (runnable once run_at ≤ now), `running` (claimed under a lease), `completed` or
 * `failed`. Per-group order rests on one invariant: `head = 1` marks, in each group, the earliest job that
 * is pending or running (every job without a group is its own head). Only pending heads are claimed, so a
 * group has at most one running job, in enqueue order, and a head waiting for its retry holds its group.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteDurability } from '../common/sqlite-durability';
import type { FailedJob, QueueStats } from './queue.port';
import { QueueError } from './queue.port';
import type { NormalizedJob } from './queue.rules';

export const EMBEDDED_SCHEMA_VERSION = 1;

const SCHEMA_V1 = `
CREATE TABLE IF NOT EXISTS jobs (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,  -- enqueue order
  queue        TEXT    NOT NULL,
  id           TEXT    NOT NULL,
  grp          TEXT,
  data         TEXT    NOT NULL,
  state        TEXT    NOT NULL CHECK (state IN ('pending', 'running', 'completed', 'failed')),
  head         INTEGER NOT NULL,                   -- see the file comment
  attempts     INTEGER NOT NULL DEFAULT 0,         -- attempts started (a crashed attempt counts)
  max_attempts INTEGER NOT NULL,
  run_at       INTEGER NOT NULL,                   -- ms since epoch: not before
  lease_owner  TEXT,
  lease_until  INTEGER,
  last_error   TEXT,
  created_at   INTEGER NOT NULL,
  finished_at  INTEGER,
  UNIQUE (queue, id)
);
CREATE INDEX IF NOT EXISTS jobs_ready ON jobs (queue, state, head, run_at, seq);
CREATE INDEX IF NOT EXISTS jobs_group_open ON jobs (queue, grp, seq) WHERE state IN ('pending', 'running');
CREATE INDEX IF NOT EXISTS jobs_lease ON jobs (state, lease_until);
CREATE INDEX IF NOT EXISTS jobs_finished ON jobs (state, finished_at);
`;

export interface ClaimedRow {
  seq: number;
  id: string;
  grp: string | null;
  data: string;
  attempts: number;
  max_attempts: number;
}

interface FailedRow {
  id: string;
  grp: string | null;
  data: string;
  attempts: number;
  last_error: string | null;
  finished_at: number;
}

export type Synchronous = 'full' | 'normal';

export class EmbeddedQueueStore {
  readonly db: Database.Database;
  /**
   * A file's commits never wait for the disk on the event loop (ADR 0012 decision 11): with `full`,
   * `durable()` resolves after a shared fsync of the WAL on the thread pool; checkpoints run in a worker.
   */
  readonly durability?: SqliteDurability;
  private readonly stmts;

  constructor(path: string, synchronous: Synchronous = 'full') {
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      this.db = new Database(path);
    } catch (err) {
      throw new QueueError('store-unavailable', `cannot open the queue file ${path}: ${String(err)}`, {
        cause: err,
      });
    }
    const db = this.db;
    try {
      db.pragma('journal_mode = WAL');
      // On a file `full` is kept by the durability layer, off the event loop; in memory nothing is durable.
      db.pragma(`synchronous = ${synchronous === 'full' && path === ':memory:' ? 'FULL' : 'NORMAL'}`);
      db.pragma('busy_timeout = 5000');
      this.migrate();
      if (path !== ':memory:') {
        this.durability = new SqliteDurability(resolve(path), synchronous === 'full', db, (message) =>
          process.emitWarning(message, 'SwitchboardQueue'),
        );
        this.durability.start(require.resolve('better-sqlite3'));
      }
    } catch (err) {
      db.close();
      throw err;
    }
    this.stmts = {
      insert: db.prepare<[InsertParams]>(
        `INSERT INTO jobs (queue, id, grp, data, state, head, max_attempts, run_at, created_at)
         VALUES (@queue, @id, @grp, @data, 'pending',
                 CASE WHEN @grp IS NULL THEN 1 ELSE NOT EXISTS (
                   SELECT 1 FROM jobs o WHERE o.queue = @queue AND o.grp = @grp AND o.state IN ('pending', 'running')) END,
                 @maxAttempts, @runAt, @now)
         ON CONFLICT (queue, id) DO NOTHING`,
      ),
      expired: db.prepare<[number]>(
        `SELECT seq, queue, grp, attempts, max_attempts FROM jobs WHERE state = 'running' AND lease_until < ?`,
      ),
      ownersRunning: db.prepare<[]>(`SELECT DISTINCT lease_owner FROM jobs WHERE state = 'running'`),
      runningOf: db.prepare<[string]>(
        `SELECT seq, queue, grp, attempts, max_attempts FROM jobs WHERE state = 'running' AND lease_owner = ?`,
      ),
      release: db.prepare<[number]>(
        `UPDATE jobs SET state = 'pending', lease_owner = NULL, lease_until = NULL WHERE seq = ? AND state = 'running'`,
      ),
      candidates: db.prepare<[string, number, number]>(
        `SELECT seq, id, grp, data, attempts, max_attempts FROM jobs
         WHERE queue = ? AND state = 'pending' AND head = 1 AND run_at <= ?
         ORDER BY run_at, seq LIMIT ?`,
      ),
      claim: db.prepare<[string, number, number]>(
        `UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?, lease_until = ? WHERE seq = ?`,
      ),
      followers: db.prepare<[string, string, number, number]>(
        `SELECT seq, id, grp, data, attempts, max_attempts, state, run_at FROM jobs
         WHERE queue = ? AND grp = ? AND state IN ('pending', 'running') AND seq > ?
         ORDER BY seq LIMIT ?`,
      ),
      unclaim: db.prepare<[number, string]>(
        `UPDATE jobs SET state = 'pending', attempts = attempts - 1, lease_owner = NULL, lease_until = NULL
         WHERE seq = ? AND state = 'running' AND lease_owner = ?`,
      ),
      renew: db.prepare<[number, number, string]>(
        `UPDATE jobs SET lease_until = ? WHERE seq = ? AND state = 'running' AND lease_owner = ?`,
      ),
      complete: db.prepare<[number, number, string]>(
        `UPDATE jobs SET state = 'completed', head = 0, finished_at = ?, lease_owner = NULL, lease_until = NULL
         WHERE seq = ? AND state = 'running' AND lease_owner = ?`,
      ),
      retryLater: db.prepare<[number, string, number, string]>(
        `UPDATE jobs SET state = 'pending', run_at = ?, last_error = ?, lease_owner = NULL, lease_until = NULL
         WHERE seq = ? AND state = 'running' AND lease_owner = ?`,
      ),
      failOwned: db.prepare<[number, string, number, string]>(
        `UPDATE jobs SET state = 'failed', head = 0, finished_at = ?, last_error = ?, lease_owner = NULL, lease_until = NULL
         WHERE seq = ? AND state = 'running' AND lease_owner = ?`,
      ),
      failAny: db.prepare<[number, string, number]>(
        `UPDATE jobs SET state = 'failed', head = 0, finished_at = ?, last_error = ?, lease_owner = NULL, lease_until = NULL
         WHERE seq = ?`,
      ),
      groupOf: db.prepare<[number]>(`SELECT queue, grp FROM jobs WHERE seq = ?`),
      promote: db.prepare<[string, string]>(
        `UPDATE jobs SET head = 1 WHERE seq = (
           SELECT MIN(seq) FROM jobs WHERE queue = ? AND grp = ? AND state IN ('pending', 'running'))`,
      ),
      nextRunAt: db.prepare<[string]>(
        `SELECT MIN(run_at) AS t FROM jobs WHERE queue = ? AND state = 'pending' AND head = 1`,
      ),
      stats: db.prepare<[{ now: number; queue: string }]>(
        `SELECT
           COALESCE(SUM(state = 'pending' AND run_at <= @now), 0) AS waiting,
           COALESCE(SUM(state = 'running'), 0) AS running,
           COALESCE(SUM(state = 'pending' AND run_at > @now), 0) AS delayed,
           COALESCE(SUM(state = 'completed'), 0) AS completed,
           COALESCE(SUM(state = 'failed'), 0) AS failed
         FROM jobs WHERE queue = @queue`,
      ),
      failedList: db.prepare<[string, number]>(
        `SELECT id, grp, data, attempts, last_error, finished_at FROM jobs
         WHERE queue = ? AND state = 'failed' ORDER BY finished_at DESC, seq DESC LIMIT ?`,
      ),
      failedOne: db.prepare<[string, string]>(
        `SELECT seq, id, grp, data, max_attempts FROM jobs WHERE queue = ? AND id = ? AND state = 'failed'`,
      ),
      delete: db.prepare<[number]>(`DELETE FROM jobs WHERE seq = ?`),
      prune: db.prepare<[string, number]>(`DELETE FROM jobs WHERE state = ? AND finished_at < ?`),
      openCount: db.prepare<[]>(`SELECT COUNT(*) AS n FROM jobs WHERE state IN ('pending', 'running')`),
    };
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > EMBEDDED_SCHEMA_VERSION) {
      throw new QueueError(
        'store-unavailable',
        `the queue file has schema version ${version}, newer than this Switchboard understands (${EMBEDDED_SCHEMA_VERSION}); upgrade Switchboard`,
      );
    }
    if (version < 1) {
      this.db
        .transaction(() => {
          this.db.exec(SCHEMA_V1);
          this.db.pragma(`user_version = ${EMBEDDED_SCHEMA_VERSION}`);
        })
        .immediate();
    }
  }

  /** One transaction; returns the ids that were added (others existed). */
  enqueue(queue: string, jobs: readonly NormalizedJob[], now: number): boolean[] {
    return this.db
      .transaction(() =>
        jobs.map(
          (j) =>
            this.stmts.insert.run({
              queue,
              id: j.id,
              grp: j.group,
              data: j.json,
              maxAttempts: j.maxAttempts,
              runAt: now + j.delayMs,
              now,
            }).changes === 1,
        ),
      )
      .immediate();
  }

  /**
   * Makes jobs whose lease ran out claimable again (or failed, if that was their last attempt). Runs in
   * every claim, so recovery needs no separate timer.
   */
  recoverExpired(now: number): number {
    // The plain read first: most loops find nothing and then take no write lock.
    if (this.stmts.expired.all(now).length === 0) return 0;
    return this.db
      .transaction(() =>
        this.releaseRows(this.stmts.expired.all(now) as RecoverRow[], now, 'its lease expired'),
      )
      .immediate();
  }

  /** Jobs left `running` by owners that `isDead` says are gone. */
  recoverOwners(isDead: (owner: string) => boolean, now: number): number {
    return this.db
      .transaction(() => {
        let n = 0;
        for (const { lease_owner } of this.stmts.ownersRunning.all() as { lease_owner: string | null }[]) {
          if (lease_owner === null || !isDead(lease_owner)) continue;
          n += this.releaseRows(
            this.stmts.runningOf.all(lease_owner) as RecoverRow[],
            now,
            `its worker (${lease_owner}) died`,
          );
        }
        return n;
      })
      .immediate();
  }

  private releaseRows(rows: RecoverRow[], now: number, why: string): number {
    for (const r of rows) {
      if (r.attempts >= r.max_attempts) {
        this.stmts.failAny.run(
          now,
          `attempt ${r.attempts} of ${r.max_attempts} did not finish: ${why}`,
          r.seq,
        );
        if (r.grp !== null) this.stmts.promote.run(r.queue, r.grp);
      } else {
        this.stmts.release.run(r.seq);
      }
    }
    return rows.length;
  }

  /** Claims up to `limit` runnable jobs for `owner` in one transaction. */
  claim(queue: string, limit: number, owner: string, now: number, leaseMs: number): ClaimedRow[] {
    if (limit <= 0 || this.stmts.candidates.all(queue, now, 1).length === 0) return [];
    return this.db
      .transaction(() => {
        const rows = this.stmts.candidates.all(queue, now, limit) as ClaimedRow[];
        for (const r of rows) {
          this.stmts.claim.run(owner, now + leaseMs, r.seq);
          r.attempts += 1;
        }
        return rows;
      })
      .immediate();
  }

  /**
   * Like `claim`, but each claimed group head comes with up to `batch - 1` of the jobs queued behind it in
   * its group (consecutive, already due), claimed in the same transaction: a group with a backlog pays one
   * commit for many jobs. The worker runs a run's jobs one after the other, so group order holds; the jobs
   * behind the head keep head = 0 while running, and `finishRun` records all outcomes in one transaction.
   */
  claimRuns(
    queue: string,
    limit: number,
    owner: string,
    now: number,
    leaseMs: number,
    batch: number,
  ): ClaimedRow[][] {
    if (limit <= 0 || this.stmts.candidates.all(queue, now, 1).length === 0) return [];
    return this.db
      .transaction(() => {
        const heads = this.stmts.candidates.all(queue, now, limit) as ClaimedRow[];
        return heads.map((head) => {
          const run = [head];
          if (head.grp !== null && batch > 1) {
            const next = this.stmts.followers.all(queue, head.grp, head.seq, batch - 1) as (ClaimedRow & {
              state: string;
              run_at: number;
            })[];
            for (const f of next) {
              // Only an unbroken line of due jobs: one waiting for its time keeps the rest behind it.
              if (f.state !== 'pending' || f.run_at > now) break;
              run.push({
                seq: f.seq,
                id: f.id,
                grp: f.grp,
                data: f.data,
                attempts: f.attempts,
                max_attempts: f.max_attempts,
              });
            }
          }
          for (const r of run) {
            this.stmts.claim.run(owner, now + leaseMs, r.seq);
            r.attempts += 1;
          }
          return run;
        });
      })
      .immediate();
  }

  /**
   * The outcomes of a claimed run, in its order, in one transaction: completed and failed jobs finish (and
   * promote the next head of their group), a retried job waits for `runAt` as its group's head, and jobs
   * that were not started go back to pending with their attempt given back. Returns, per row, whether the
   * outcome was recorded (false: the lease was lost and another run decides).
   */
  finishRun(outcomes: readonly RunOutcome[], owner: string, now: number): boolean[] {
    return this.db
      .transaction(() =>
        outcomes.map((o) => {
          switch (o.kind) {
            case 'completed':
              return this.finished(o.seq, this.stmts.complete.run(now, o.seq, owner).changes);
            case 'failed':
              return this.finished(o.seq, this.stmts.failOwned.run(now, o.error, o.seq, owner).changes);
            case 'retry':
              return this.stmts.retryLater.run(o.runAt, o.error, o.seq, owner).changes === 1;
            case 'unrun':
              return this.stmts.unclaim.run(o.seq, owner).changes === 1;
          }
        }),
      )
      .immediate();
  }

  /** Extends the leases of the jobs whose handlers are running now (not of every row we ever claimed). */
  renew(seqs: Iterable<number>, owner: string, until: number): number {
    return this.db
      .transaction(() => {
        let n = 0;
        for (const seq of seqs) n += this.stmts.renew.run(until, seq, owner).changes;
        return n;
      })
      .immediate();
  }

  /** false if the job is no longer ours (lease lost and taken over): the other run's outcome stands. */
  complete(seq: number, owner: string, now: number): boolean {
    return this.db
      .transaction(() => this.finished(seq, this.stmts.complete.run(now, seq, owner).changes))
      .immediate();
  }

  fail(seq: number, owner: string, error: string, now: number): boolean {
    return this.db
      .transaction(() => this.finished(seq, this.stmts.failOwned.run(now, error, seq, owner).changes))
      .immediate();
  }

  /** Back to pending until `runAt`; it stays its group's head, so the group waits with it. */
  retryLater(seq: number, owner: string, error: string, runAt: number): boolean {
    return this.stmts.retryLater.run(runAt, error, seq, owner).changes === 1;
  }

  private finished(seq: number, changes: number): boolean {
    if (changes !== 1) return false;
    const g = this.stmts.groupOf.get(seq) as { queue: string; grp: string | null } | undefined;
    if (g?.grp != null) this.stmts.promote.run(g.queue, g.grp);
    return true;
  }

  /** When the next job of `queue` could become runnable (null: none pending). */
  nextRunAt(queue: string): number | null {
    return (this.stmts.nextRunAt.get(queue) as { t: number | null }).t;
  }

  stats(queue: string, now: number): QueueStats {
    return this.stmts.stats.get({ now, queue }) as QueueStats;
  }

  failed<T>(queue: string, limit: number): FailedJob<T>[] {
    return (this.stmts.failedList.all(queue, limit) as FailedRow[]).map((r) => ({
      id: r.id,
      queue,
      data: JSON.parse(r.data) as T,
      ...(r.grp !== null ? { group: r.grp } : {}),
      attempts: r.attempts,
      error: r.last_error ?? '',
      failedAt: new Date(r.finished_at),
    }));
  }

  /** Re-inserts a failed job so it gets a new place at the end of its queue and group. */
  retryFailed(queue: string, id: string, now: number): boolean {
    return this.db
      .transaction(() => {
        const r = this.stmts.failedOne.get(queue, id) as
          { seq: number; id: string; grp: string | null; data: string; max_attempts: number } | undefined;
        if (!r) return false;
        this.stmts.delete.run(r.seq);
        this.stmts.insert.run({
          queue,
          id: r.id,
          grp: r.grp,
          data: r.data,
          maxAttempts: r.max_attempts,
          runAt: now,
          now,
        });
        return true;
      })
      .immediate();
  }

  prune(completedBefore: number, failedBefore: number): number {
    return this.db
      .transaction(
        () =>
          this.stmts.prune.run('completed', completedBefore).changes +
          this.stmts.prune.run('failed', failedBefore).changes,
      )
      .immediate();
  }

  /** A read and a write lock taken and released: proves the file is readable and writable now. */
  probe(): number {
    const n = (this.stmts.openCount.get() as { n: number }).n;
    this.db.transaction(() => undefined).immediate();
    return n;
  }

  /** Waits for the fsyncs under way and stops the checkpoint worker, then closes the file. */
  async close(): Promise<void> {
    await this.durability?.close();
    if (this.db.open) this.db.close();
  }
}

interface InsertParams {
  queue: string;
  id: string;
  grp: string | null;
  data: string;
  maxAttempts: number;
  runAt: number;
  now: number;
}

/** What became of one job of a claimed run (see `finishRun`). */
export type RunOutcome =
  | { seq: number; kind: 'completed' }
  | { seq: number; kind: 'failed'; error: string }
  | { seq: number; kind: 'retry'; error: string; runAt: number }
  | { seq: number; kind: 'unrun' };

interface RecoverRow {
  seq: number;
  queue: string;
  grp: string | null;
  attempts: number;
  max_attempts: number;
}
