import { AsyncLocalStorage } from 'node:async_hooks';
import { close, fsync, open } from 'node:fs';
import { Worker } from 'node:worker_threads';

/**
 * Keeps the disk's waits off the event loop for the SQLite database (ADR 0012, "Commits off the event loop").
 *
 * better-sqlite3 runs every statement on the calling thread, so with `synchronous = FULL` each COMMIT blocked
 * the whole process for an fsync (0.2–1 ms here, tens of ms in the tail), and every thousandth page SQLite's
 * automatic checkpoint blocked it for two more fsyncs and a copy into the database file. Everything else
 * waiting — the network sockets, other accounts — waited with it. Instead:
 *
 * - the connection runs `synchronous = NORMAL` in WAL mode: a COMMIT writes its pages to the WAL file (into
 *   the OS page cache: a `kill -9` keeps them) and returns without waiting for the disk;
 * - when the operator asked for `full`, a committed transaction is reported committed only after an fsync of
 *   the WAL file, done on libuv's thread pool. Transactions that commit while one fsync runs share the next
 *   one (group commit), and the event loop serves everything else meanwhile. A caller that awaited a
 *   transaction therefore has exactly the promise it had with FULL: what it wrote survives a power loss;
 * - checkpoints (copying the WAL back into the database file, with their fsyncs) run in a worker thread on a
 *   second connection (`wal_autocheckpoint = 0` on the main one). Should that worker die, the main connection
 *   goes back to SQLite's own automatic checkpoints, so the WAL never grows without bound.
 */
export class SqliteDurability {
  /** Set while a serialized transaction runs: its COMMIT does not wait inside the lock (the wrapper waits). */
  readonly holding = new AsyncLocalStorage<true>();
  /** Commits (and autocommitted writes) seen so far; an fsync started after commit n covers 1..n. */
  private committed = 0;
  private synced = 0;
  private syncing = false;
  private waiters: { upTo: number; resolve(): void; reject(e: unknown): void }[] = [];
  private walFd: number | undefined;
  private worker: CheckpointHandle | undefined;
  private checkpointing = false;
  private commitsSinceCheckpoint = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private checkpointProblemAt = 0;

  constructor(
    private readonly path: string,
    /** `full`: commits wait for an fsync (off the event loop); `normal`: they do not. */
    readonly waitForDisk: boolean,
    private readonly raw: { pragma(sql: string): unknown },
    private readonly onProblem: (message: string) => void,
  ) {}

  /** Starts checkpointing in the worker. `lib` is better-sqlite3's resolved path (the worker loads that copy). */
  start(lib: string): void {
    this.raw.pragma('wal_autocheckpoint = 0');
    this.worker = Checkpointer.attach(lib, this.path, {
      done: (error) => {
        this.checkpointing = false;
        // A read-only or full disk fails every checkpoint: said once a minute, not four times a second.
        if (error !== undefined && Date.now() - this.checkpointProblemAt > 60_000) {
          this.checkpointProblemAt = Date.now();
          this.onProblem(`WAL checkpoint failed: ${error}`);
        }
      },
      gone: (why) => this.workerGone(why),
    });
    // A quiet database still gets its WAL folded back in.
    this.timer = setInterval(() => this.checkpointSoon(true), CHECKPOINT_EVERY_MS);
    this.timer.unref();
  }

  /** Called right after a COMMIT (or an autocommitted write) returned. */
  committedOne(): void {
    this.committed += 1;
    this.commitsSinceCheckpoint += 1;
    if (this.commitsSinceCheckpoint >= CHECKPOINT_AFTER_COMMITS) this.checkpointSoon(false);
  }

  /** Resolves once everything committed so far is on the disk (at once when not waiting for the disk). */
  durable(): Promise<void> {
    if (!this.waitForDisk || this.synced >= this.committed || this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ upTo: this.committed, resolve, reject });
      this.syncNext();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    // Whoever still waits gets the fsync they asked for before the connection goes (a disk that never
    // answers does not hold the shutdown for more than a few seconds).
    const deadline = Date.now() + CLOSE_WAIT_MS;
    while (this.waiters.length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.detach();
    const fd = this.walFd;
    this.walFd = undefined;
    if (fd !== undefined) await new Promise<void>((r) => close(fd, () => r()));
  }

  private syncNext(): void {
    if (this.syncing || this.waiters.length === 0) return;
    this.syncing = true;
    const upTo = this.committed;
    const done = (err: NodeJS.ErrnoException | null): void => {
      this.syncing = false;
      if (err) {
        // Like a COMMIT that failed with SQLITE_IOERR under FULL: the writes may not be on the disk.
        const e = new Error(`could not flush the database's WAL to disk: ${err.message}`, { cause: err });
        for (const w of this.waiters.splice(0)) w.reject(e);
        this.onProblem(e.message);
        return;
      }
      this.synced = Math.max(this.synced, upTo);
      const still: typeof this.waiters = [];
      for (const w of this.waiters) {
        if (w.upTo <= upTo) w.resolve();
        else still.push(w);
      }
      this.waiters = still;
      this.syncNext();
    };
    this.withWalFd((err, fd) => (err || fd === undefined ? done(err) : fsync(fd, done)));
  }

  /** The WAL file exists from the connection's first commit in WAL mode until it closes. */
  private withWalFd(cb: (err: NodeJS.ErrnoException | null, fd?: number) => void): void {
    if (this.walFd !== undefined) return cb(null, this.walFd);
    open(`${this.path}-wal`, 'r', (err, fd) => {
      if (err) return cb(err);
      if (this.walFd !== undefined) close(fd, () => undefined);
      else this.walFd = fd;
      cb(null, this.walFd);
    });
  }

  private checkpointSoon(quietOnly: boolean): void {
    if (!this.worker || this.checkpointing || this.commitsSinceCheckpoint === 0) return;
    if (quietOnly && this.commitsSinceCheckpoint >= CHECKPOINT_AFTER_COMMITS) return;
    this.checkpointing = true;
    this.commitsSinceCheckpoint = 0;
    this.worker.checkpoint();
  }

  private workerGone(message: string): void {
    if (!this.worker) return;
    this.worker = undefined;
    this.checkpointing = false;
    if (this.timer) clearInterval(this.timer);
    this.onProblem(`${message}; SQLite checkpoints on the main connection again`);
    try {
      this.raw.pragma('wal_autocheckpoint = 1000');
    } catch {
      // The connection is closing.
    }
  }
}

/** How long closing waits for fsyncs under way. */
const CLOSE_WAIT_MS = 5000;
/** A checkpoint after this many commits, or after this long when there were fewer. */
const CHECKPOINT_AFTER_COMMITS = 500;
const CHECKPOINT_EVERY_MS = 250;

interface CheckpointHandle {
  checkpoint(): void;
  detach(): Promise<void>;
}

interface CheckpointUser {
  done(error?: string): void;
  gone(why: string): void;
}

/**
 * One worker thread per process checkpoints every database that asked (the gateway's and the embedded
 * queue's), each on a connection of its own: a thread costs some 5 MB, so they share one.
 */
class Checkpointer {
  private static current: Checkpointer | undefined;
  private readonly users = new Map<number, CheckpointUser>();
  /** Connections being closed in the worker, by id: resolved when it says so (or exits). */
  private readonly closing = new Map<number, () => void>();
  private nextId = 1;
  private stopping = false;

  private constructor(private readonly worker: Worker) {
    worker.unref();
    worker.on('message', (m: { id: number; error?: string; closed?: boolean }) => {
      if (m.closed) {
        this.closing.get(m.id)?.();
        this.closing.delete(m.id);
      } else this.users.get(m.id)?.done(m.error);
    });
    worker.on('error', (e) => this.lost(`the checkpoint worker failed: ${String(e)}`));
    worker.on('exit', (code) => this.lost(`the checkpoint worker exited (code ${code})`));
  }

  static attach(lib: string, path: string, user: CheckpointUser): CheckpointHandle {
    const self = (Checkpointer.current ??= new Checkpointer(
      new Worker(CHECKPOINT_WORKER, {
        eval: true,
        workerData: { lib },
        // A small heap of its own: it only runs checkpoints.
        resourceLimits: { maxOldGenerationSizeMb: 16 },
      }),
    ));
    const id = self.nextId++;
    self.users.set(id, user);
    self.worker.postMessage({ op: 'open', id, path });
    return {
      checkpoint: () => self.worker.postMessage({ op: 'checkpoint', id }),
      detach: async () => {
        if (!self.users.delete(id)) return;
        // Its connection is closed before ours, so that ours is the last one (SQLite then folds the WAL
        // back in and removes it).
        await new Promise<void>((resolve) => {
          self.closing.set(id, resolve);
          self.worker.postMessage({ op: 'close', id });
        });
        if (self.users.size > 0) return;
        // The last one: the thread goes (a new database later starts another).
        self.stopping = true;
        if (Checkpointer.current === self) Checkpointer.current = undefined;
        await self.worker.terminate();
      },
    };
  }

  private lost(why: string): void {
    if (Checkpointer.current === this) Checkpointer.current = undefined;
    for (const resolve of this.closing.values()) resolve();
    this.closing.clear();
    if (this.stopping) return;
    const users = [...this.users.values()];
    this.users.clear();
    for (const u of users) u.gone(why);
  }
}

// Plain CommonJS run with `eval`: no separate file to find in src/ (tests) or dist/ (production).
const CHECKPOINT_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.lib);
const dbs = new Map();
parentPort.on('message', ({ op, id, path }) => {
  try {
    if (op === 'open') {
      const db = new Database(path, { fileMustExist: true });
      db.pragma('busy_timeout = 5000');
      db.pragma('synchronous = FULL');
      dbs.set(id, db);
    } else if (op === 'close') {
      dbs.get(id)?.close();
      dbs.delete(id);
      parentPort.postMessage({ id, closed: true });
    } else if (op === 'checkpoint') {
      const db = dbs.get(id);
      // PASSIVE: copies what it can without waiting for the main connection's readers or writer.
      if (db) db.pragma('wal_checkpoint(PASSIVE)');
      parentPort.postMessage({ id });
    }
  } catch (e) {
    parentPort.postMessage(op === 'close' ? { id, closed: true } : { id, error: String((e && e.message) || e) });
  }
});
`;
