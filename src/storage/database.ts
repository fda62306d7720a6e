import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DataSource, MigrationExecutor, type DataSourceOptions, type EntityManager } from 'typeorm';
import { ENTITIES } from './entities';
import { SqliteDurability } from '../common/sqlite-durability';
import { MIGRATIONS } from './migrations';
import { RowDefaultsSubscriber } from './row-defaults.subscriber';
import { StatementCache } from './statement-cache';

/** SQLite file for the embedded default, or a PostgreSQL URL for cluster mode. */
export type StorageConfig =
  | {
      kind: 'sqlite';
      path: string;
      /** 'full' (default): each commit waits for the disk (survives power loss); 'normal': survives kill -9. */
      synchronous?: 'full' | 'normal';
    }
  | { kind: 'postgres'; url: string };

export interface OpenDatabaseOptions {
  /** Apply pending migrations before returning (default true). `switchboard migrate` passes false and migrates itself. */
  migrate?: boolean;
  /** Log every SQL statement (default false: errors only come back as exceptions). */
  logging?: boolean;
}

/** How long a SQLite writer waits for another connection's lock before failing with SQLITE_BUSY. */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;
/** PostgreSQL pool size per process. */
export const POSTGRES_POOL_SIZE = 10;
export const MIGRATIONS_TABLE = 'schema_migrations';
/** pg_advisory_lock key held while migrating ("swbd" in ASCII). */
export const MIGRATION_LOCK_KEY = 0x73776264;

export class StorageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
  }
}

/** Where the database is, for messages; never includes a password. */
export function describeStorage(cfg: StorageConfig): string {
  if (cfg.kind === 'sqlite') return `sqlite ${cfg.path}`;
  try {
    const u = new URL(cfg.url);
    return `postgres ${u.hostname || u.searchParams.get('host') || 'localhost'}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    return 'postgres (unparsable URL)';
  }
}

export function dataSourceOptions(cfg: StorageConfig, opts: OpenDatabaseOptions = {}): DataSourceOptions {
  const common = {
    entities: [...ENTITIES],
    migrations: [...MIGRATIONS],
    subscribers: [RowDefaultsSubscriber],
    migrationsTableName: MIGRATIONS_TABLE,
    migrationsTransactionMode: 'all' as const,
    // The schema comes from migrations only, so a deploy never alters tables behind the operator's back.
    synchronize: false,
    migrationsRun: false,
    logging: opts.logging ? ('all' as const) : false,
  };
  switch (cfg.kind) {
    case 'sqlite': {
      if (!cfg.path) throw new StorageError('the SQLite database path is empty');
      return {
        ...common,
        type: 'better-sqlite3',
        database: cfg.path,
        // WAL lets readers run while one writer commits; the driver also turns foreign_keys on.
        enableWAL: true,
        timeout: SQLITE_BUSY_TIMEOUT_MS,
        // Prepared statements kept (default 100): the message path alone cycles through more, and a miss is
        // a fresh sqlite3_prepare (a few % of the relay's CPU when the cache thrashed).
        statementCacheSize: 1000,
        prepareDatabase: (db: { pragma(sql: string): unknown }) => {
          db.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
          // NORMAL on a file: `full` is kept by SqliteDurability, which waits for the disk off the event loop.
          db.pragma(
            `synchronous = ${cfg.synchronous === 'normal' || cfg.path !== ':memory:' ? 'NORMAL' : 'FULL'}`,
          );
        },
      };
    }
    case 'postgres': {
      let url: URL;
      try {
        url = new URL(cfg.url);
      } catch {
        throw new StorageError(
          'DATABASE_URL is not a URL (expected postgres://user:password@host:5432/database)',
        );
      }
      if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
        throw new StorageError(
          `DATABASE_URL must start with postgres:// or postgresql://, not ${url.protocol}//`,
        );
      }
      return {
        ...common,
        type: 'postgres',
        url: cfg.url,
        applicationName: 'switchboard',
        poolSize: POSTGRES_POOL_SIZE,
        connectTimeoutMS: 10_000,
      };
    }
  }
}

/**
 * Connects (SQLite: creating the file's folder; PostgreSQL: a connection pool) and, unless told not to,
 * applies pending migrations in one transaction. Never synchronizes the schema from the entities.
 */
export async function openDatabase(cfg: StorageConfig, opts: OpenDatabaseOptions = {}): Promise<DataSource> {
  if (cfg.kind === 'sqlite' && cfg.path !== ':memory:')
    mkdirSync(dirname(resolve(cfg.path)), { recursive: true });
  const ds = new DataSource(dataSourceOptions(cfg, opts));
  try {
    await ds.initialize();
  } catch (err) {
    throw new StorageError(`cannot open ${describeStorage(cfg)}: ${errorMessage(err)}`, { cause: err });
  }
  if (cfg.kind === 'sqlite') {
    boundStatementCache(ds);
    serializeTransactions(ds, cfg.path === ':memory:' ? undefined : attachDurability(ds, cfg));
  }
  if (opts.migrate ?? true) {
    try {
      await runMigrations(ds);
    } catch (err) {
      await ds.destroy();
      throw err;
    }
  }
  return ds;
}

/** Applies every pending migration inside one transaction; returns the names applied. */
export async function runMigrations(ds: DataSource): Promise<string[]> {
  try {
    return await withMigrationLock(ds, async () => {
      const applied = await ds.runMigrations({ transaction: 'all' });
      return applied.map((m) => m.name);
    });
  } catch (err) {
    throw new StorageError(`database migration failed (nothing was applied): ${errorMessage(err)}`, {
      cause: err,
    });
  }
}

/**
 * In cluster mode several instances may start at once against one PostgreSQL database; TypeORM does not
 * serialize their migration runs, so a session-level advisory lock does (the others wait, then find
 * nothing pending). SQLite is single-node: its write lock already serializes writers.
 */
async function withMigrationLock<T>(ds: DataSource, fn: () => Promise<T>): Promise<T> {
  if (ds.options.type !== 'postgres') return fn();
  const lockHolder = ds.createQueryRunner();
  try {
    await lockHolder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      return await fn();
    } finally {
      await lockHolder.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await lockHolder.release();
  }
}

/** Names of migrations the code has and the database has not run yet, oldest first. */
export async function pendingMigrations(ds: DataSource): Promise<string[]> {
  const pending = await new MigrationExecutor(ds).getPendingMigrations();
  return pending.map((m) => m.name);
}

/** For /healthz and `switchboard doctor`: the database answers and its schema is current. Never throws. */
export async function checkDatabase(ds: DataSource): Promise<{ ok: boolean; message: string }> {
  const where = describeDataSource(ds);
  if (!ds.isInitialized) return { ok: false, message: `${where}: not connected` };
  try {
    await ds.query('SELECT 1');
    // A file that went read-only (a full or remounted disk) still answers reads: probe a write too.
    // Rewriting user_version with its own value is a real write transaction that changes nothing.
    if (ds.options.type === 'better-sqlite3') await probeSqliteWrite(ds);
    const pending = await pendingMigrations(ds);
    if (pending.length > 0) {
      return {
        ok: false,
        message: `${where}: ${pending.length} pending migration(s) (${pending.join(', ')}); run \`switchboard migrate\``,
      };
    }
    return { ok: true, message: `${where}: reachable, schema up to date` };
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    const what =
      typeof code === 'string' && /^SQLITE_(READONLY|IOERR|FULL|CANTOPEN)/.test(code)
        ? `not writable (${code}: ${errorMessage(err)})`
        : errorMessage(err);
    return { ok: false, message: `${where}: ${what}` };
  }
}

async function probeSqliteWrite(ds: DataSource): Promise<void> {
  await ds.transaction(async (m) => {
    const rows = await m.query<{ user_version?: unknown }[]>('PRAGMA user_version');
    const v = Number(rows[0]?.user_version ?? 0);
    await m.query(`PRAGMA user_version = ${Number.isInteger(v) ? v : 0}`);
  });
}

function describeDataSource(ds: DataSource): string {
  const o = ds.options;
  if (o.type === 'better-sqlite3') return describeStorage({ kind: 'sqlite', path: String(o.database) });
  if (o.type === 'postgres' && o.url) return describeStorage({ kind: 'postgres', url: o.url });
  return o.type;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * When COMMIT fails with an I/O error (the file turned read-only, the disk is full), SQLite has already rolled
 * the transaction back, so TypeORM's own ROLLBACK fails and its single query runner stays marked "in a
 * transaction" at depth 1. The next transaction would then open a SAVEPOINT instead of BEGIN, which SQLite
 * turns into a transaction that is never committed: every later write would look successful and be lost.
 * After a failed outermost transaction (nothing else runs: transactions are serialized), put both back.
 */
function resetAfterFailedTransaction(ds: DataSource): void {
  const driver = ds.driver as unknown as {
    queryRunner?: { isTransactionActive: boolean; transactionDepth: number };
    databaseConnection?: { inTransaction?: boolean; exec(sql: string): unknown };
  };
  const raw = driver.databaseConnection;
  try {
    if (raw?.inTransaction) raw.exec('ROLLBACK');
  } catch {
    // Nothing to roll back after all.
  }
  if (driver.queryRunner) {
    driver.queryRunner.isTransactionActive = false;
    driver.queryRunner.transactionDepth = 0;
  }
}

/**
 * better-sqlite3 gives TypeORM a single connection, so two transactions that overlap in time share it:
 * the second one nests inside the first as a savepoint, and when it rolls back (a unique violation, say)
 * TypeORM's bookkeeping can undo the first one's writes too. On SQLite, therefore, transactions run one
 * after the other. A transaction opened inside another (same async context) runs at once, so nesting
 * cannot deadlock. Writers queue for a moment instead of failing; SQLite allows one writer anyway.
 * Code on SQLite must not use `repository.save()` for plain inserts: it opens a transaction of its own
 * beneath this lock. (PostgreSQL gives each transaction its own pooled connection and needs none of this.)
 */
function serializeTransactions(ds: DataSource, durability?: SqliteDurability): void {
  const manager = ds.manager;
  const original = manager.transaction.bind(manager) as (...args: unknown[]) => Promise<unknown>;
  const holding = durability ? durability.holding : new AsyncLocalStorage<true>();
  let tail: Promise<unknown> = Promise.resolve();
  /** A serialized transaction (or plain write) holds the connection right now. */
  let lockHeld = false;
  /** Runs `fn` alone on the connection: after everything queued before it, holding the lock. */
  const exclusive = <T>(fn: () => Promise<T>, waitAtMostMs?: number): Promise<T> => {
    const before = tail;
    const turn =
      waitAtMostMs === undefined
        ? before
        : Promise.race([before, new Promise((r) => setTimeout(r, waitAtMostMs).unref())]).then(() => {
            if (lockHeld)
              process.emitWarning(
                `a write outside any transaction waited ${waitAtMostMs} ms for one that holds the connection; ` +
                  'it runs inside that transaction now (a transaction awaiting work that writes outside it?)',
                'SwitchboardStorage',
              );
          });
    const run = turn.then(() =>
      holding.run(true, async () => {
        lockHeld = true;
        try {
          return await fn();
        } finally {
          lockHeld = false;
        }
      }),
    );
    tail = run.catch(() => undefined);
    return run;
  };
  const afterDisk = <T>(run: Promise<T>): Promise<T> =>
    durability ? run.then(async (v) => (await durability.durable(), v)) : run;
  /** A transaction of its own, alone on the connection, until its COMMIT (or its rollback) returns. */
  const alone = (...args: unknown[]): Promise<unknown> =>
    exclusive(() =>
      original(...args).catch((err: unknown) => {
        resetAfterFailedTransaction(ds);
        throw err;
      }),
    );
  const serialized = (...args: unknown[]): Promise<unknown> => {
    if (holding.getStore()) return original(...args);
    // The next transaction may start while this one's fsync runs: it joins the next fsync (group commit).
    return afterDisk(alone(...args));
  };
  (manager as unknown as { transaction: typeof serialized }).transaction = serialized;
  const committed: CommittedOnly = async <T>(work: (m: EntityManager) => Promise<T>) => {
    // Inside another transaction it is part of that one, whose own caller waits for the disk.
    if (holding.getStore()) return { value: (await original(work)) as T, durable: Promise.resolve() };
    const value = (await alone(work)) as T;
    // Asked for now: it covers this commit (and joins the next group fsync), whenever it is awaited.
    const durable = durability ? durability.durable() : Promise.resolve();
    durable.catch(() => undefined); // the caller gets the rejection when it awaits
    return { value, durable };
  };
  committedOnly.set(ds, committed);

  // A write outside any transaction (a repository's insert/update/delete) takes its turn too. On the shared
  // connection it would otherwise run inside whichever transaction is open at that moment, and that
  // transaction's rollback would undo a write its caller was told had succeeded. Reads do not wait: they
  // may see an open transaction's rows (SQLite's one connection has no isolation from itself).
  const qr = (
    ds.driver as unknown as {
      createQueryRunner(mode: 'master'): {
        isTransactionActive: boolean;
        query(sql: string, ...rest: unknown[]): Promise<unknown>;
      };
    }
  ).createQueryRunner('master');
  const query = qr.query.bind(qr);
  qr.query = (sql: string, ...rest: unknown[]): Promise<unknown> => {
    // Ours (inside the lock), a read, or a transaction TypeORM opened beneath the wrapper (migrations).
    if (
      holding.getStore() ||
      READ_ONLY.test(sql) ||
      TX_END.test(sql) ||
      (qr.isTransactionActive && !lockHeld)
    )
      return query(sql, ...rest);
    return afterDisk(exclusive(() => query(sql, ...rest), PLAIN_WRITE_WAIT_MS));
  };
}

type CommittedOnly = <T>(
  work: (m: EntityManager) => Promise<T>,
) => Promise<{ value: T; durable: Promise<void> }>;
const committedOnly = new WeakMap<DataSource, CommittedOnly>();

/**
 * A transaction that resolves once it is committed, before the disk has it: `durable` resolves once it
 * would survive a power loss too (ADR 0012 decision 14). For work that may go ahead on a commit a process
 * crash keeps (a bridge copy goes out to its network) while its caller's answer still waits for the disk.
 * On SQLite with `synchronous: normal`, and on PostgreSQL (whose COMMIT returns once on disk), `durable` is
 * settled already; inside another transaction, `work` is part of that one and its caller waits for the disk.
 */
export async function transactionCommitted<T>(
  ds: DataSource,
  work: (m: EntityManager) => Promise<T>,
): Promise<{ value: T; durable: Promise<void> }> {
  const sqlite = committedOnly.get(ds);
  if (sqlite) return sqlite(work);
  return { value: await ds.transaction(work), durable: Promise.resolve() };
}

/** Statements that end a transaction TypeORM opened itself. */
const TX_END = /^\s*(COMMIT|ROLLBACK|END)\b/i;
/**
 * A plain write waits this long at most for the transaction holding the connection. Longer means that
 * transaction is awaiting work that itself writes outside it: rather than a deadlock, the old behaviour,
 * with a warning.
 */
const PLAIN_WRITE_WAIT_MS = 10_000;

/**
 * Commits that wait for the disk without blocking the event loop, and checkpoints in a worker thread
 * (src/common/sqlite-durability.ts). Counts every write the single query runner commits: COMMITs of
 * transactions, and writes outside any transaction (SQLite autocommits them), which also wait here for the
 * disk when `full` asks it; a transaction opened through `ds.transaction` waits after releasing the lock.
 */
function attachDurability(ds: DataSource, cfg: Extract<StorageConfig, { kind: 'sqlite' }>): SqliteDurability {
  const driver = ds.driver as unknown as {
    databaseConnection: { pragma(sql: string): unknown };
    createQueryRunner(mode: 'master'): {
      isTransactionActive: boolean;
      query(sql: string, ...rest: unknown[]): Promise<unknown>;
      commitTransaction(): Promise<void>;
    };
  };
  const durability = new SqliteDurability(
    resolve(cfg.path),
    cfg.synchronous !== 'normal',
    driver.databaseConnection,
    (message) => process.emitWarning(message, 'SwitchboardStorage'),
  );
  durability.start(require.resolve('better-sqlite3'));
  const qr = driver.createQueryRunner('master');
  const query = qr.query.bind(qr);
  let wrote = false;
  qr.query = async (sql: string, ...rest: unknown[]): Promise<unknown> => {
    const inTx = qr.isTransactionActive;
    const result = await query(sql, ...rest);
    if (sql === 'COMMIT') {
      if (wrote) durability.committedOne();
      wrote = false;
    } else if (sql === 'ROLLBACK') {
      wrote = false;
    } else if (!READ_ONLY.test(sql)) {
      if (inTx) wrote = true;
      else {
        durability.committedOne();
        // A plain write taking its turn in the lock waits for the disk after leaving it (group commit).
        if (!durability.holding.getStore()) await durability.durable();
      }
    }
    return result;
  };
  // A transaction opened beneath the serializing wrapper (migrations, TypeORM's own save()) waits for the
  // disk once TypeORM has marked it finished: waiting inside COMMIT would leave the runner "in a
  // transaction", and a transaction started meanwhile would nest as a savepoint.
  const commitTransaction = qr.commitTransaction.bind(qr);
  qr.commitTransaction = async (): Promise<void> => {
    await commitTransaction();
    if (!durability.holding.getStore() && !qr.isTransactionActive) await durability.durable();
  };
  const destroy = ds.destroy.bind(ds);
  ds.destroy = async () => {
    await durability.close();
    await destroy();
  };
  return durability;
}

/**
 * The single SQLite query runner's prepared statements go through a StatementCache (bounded by the length
 * of their SQL) instead of TypeORM's (bounded by count only): see statement-cache.ts.
 */
function boundStatementCache(ds: DataSource): void {
  const driver = ds.driver as unknown as {
    createQueryRunner(mode: 'master'): {
      connect(): Promise<{ prepare(sql: string): unknown }>;
      getStmt(sql: string): Promise<unknown>;
    };
  };
  const qr = driver.createQueryRunner('master');
  const cache = new StatementCache<unknown>(STATEMENT_CACHE);
  qr.getStmt = async (sql: string): Promise<unknown> => {
    const db = await qr.connect();
    return cache.get(sql, (text) => db.prepare(text));
  };
}

/**
 * Up to 1000 statements (the message path alone cycles through hundreds, and a miss is a fresh
 * sqlite3_prepare), none longer than 4,000 characters, 250,000 characters in all (some 10–15 MB).
 */
const STATEMENT_CACHE = { maxEntries: 1000, maxChars: 4000, budgetChars: 250_000 };

/** Statements that write nothing; anything else counts as a write (an unneeded fsync at worst). */
const READ_ONLY = /^\s*(SELECT|BEGIN|SAVEPOINT|RELEASE|ROLLBACK TO)\b/i;
