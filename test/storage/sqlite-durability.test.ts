import fs, { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { createQueue } from '../../src/queue';
import Database from 'better-sqlite3';
import { openDatabase, transactionCommitted } from '../../src/storage';
import { User } from '../../src/storage/entities';
import { eventually as poll } from '../support/gateway';
import { holdFsyncs } from '../support/hold-fsyncs';

/** Polls an expectation until it holds. */
const eventually = (check: () => void, timeoutMs = 10_000) =>
  poll(
    async () => {
      check();
      return true;
    },
    'an expectation',
    timeoutMs,
  );

/**
 * `sqliteSynchronous: full` keeps its promise (a transaction that resolved is on the disk) with the fsync
 * done off the event loop, shared by the transactions that committed meanwhile; checkpoints run in a worker
 * thread. src/common/sqlite-durability.ts, ADR 0012.
 */
describe('SQLite commits that wait for the disk off the event loop', () => {
  let dir: string;
  const opened: DataSource[] = [];
  const open = async (synchronous: 'full' | 'normal', name: string) => {
    const ds = await openDatabase({ kind: 'sqlite', path: path.join(dir, name), synchronous });
    opened.push(ds);
    return ds;
  };
  const user = (name: string) => ({ username: name, passwordHash: 'x', isAdmin: false });

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sb-sqlite-durable-'));
  });
  afterAll(async () => {
    for (const ds of opened) if (ds.isInitialized) await ds.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('full: a transaction resolves only after an fsync begun after its commit, and many share one', async () => {
    const ds = await open('full', 'full.sqlite');
    // The connection itself does not wait at COMMIT; the durability layer does.
    expect(await ds.query('PRAGMA synchronous')).toEqual([{ synchronous: 1 }]);
    expect(await ds.query('PRAGMA wal_autocheckpoint')).toEqual([{ wal_autocheckpoint: 0 }]);
    const fsyncs = holdFsyncs();
    try {
      let resolved = 0;
      const all = Array.from({ length: 30 }, (_, i) =>
        ds
          .transaction(async (m) => {
            await m.insert(User, user(`u${i}`));
          })
          .then(() => resolved++),
      );
      await eventually(() => expect(fsyncs.held.length).toBe(1));
      // Committed (another reader sees the rows soon) but not reported durable: the fsync has not returned.
      await new Promise((r) => setTimeout(r, 50));
      expect(resolved).toBe(0);
      // Released one at a time: the transactions that committed during the first fsync share the second.
      let rounds = 0;
      while (resolved < 30) {
        await eventually(() => expect(fsyncs.held.length).toBeGreaterThan(0));
        fsyncs.release();
        rounds++;
        await new Promise((r) => setImmediate(r));
      }
      await Promise.all(all);
      expect(rounds).toBeLessThan(30);
      expect(await ds.getRepository(User).count()).toBe(30);
    } finally {
      fsyncs.release();
      fsyncs.restore();
    }
  });

  it('full: a write outside any transaction waits for the disk too; a read-only transaction does not', async () => {
    const ds = await open('full', 'autocommit.sqlite');
    const fsyncs = holdFsyncs();
    try {
      let done = false;
      const insert = ds
        .getRepository(User)
        .insert(user('solo'))
        .then(() => (done = true));
      await eventually(() => expect(fsyncs.held.length).toBe(1));
      expect(done).toBe(false);
      fsyncs.release();
      await insert;
      await ds.transaction(async (m) => m.find(User));
      expect(fsyncs.held).toHaveLength(0);
    } finally {
      fsyncs.release();
      fsyncs.restore();
    }
  });

  it("full: TypeORM's own transactions (save) wait for the disk too, and one begun meanwhile does not nest", async () => {
    const ds = await open('full', 'save.sqlite');
    const fsyncs = holdFsyncs();
    try {
      let saved = false;
      const save = ds
        .getRepository(User)
        .save(user('saved'))
        .then(() => (saved = true));
      await eventually(() => expect(fsyncs.held.length).toBe(1));
      expect(saved).toBe(false);
      // Begun while save() waits for the disk: a transaction of its own, so its rollback undoes only it.
      await ds
        .transaction(async (m) => {
          await m.insert(User, user('rolled-back'));
          throw new Error('roll back');
        })
        .catch(() => undefined);
      fsyncs.release();
      await save;
      expect((await ds.getRepository(User).find()).map((u) => u.username)).toEqual(['saved']);
      // Nothing left open on the connection (a savepoint begun outside BEGIN would have opened a
      // transaction that is never committed: every later write lost).
      const raw = (ds.driver as unknown as { databaseConnection: { inTransaction: boolean } })
        .databaseConnection;
      expect(raw.inTransaction).toBe(false);
    } finally {
      fsyncs.release();
      fsyncs.restore();
    }
  });

  it('full: transactionCommitted resolves at the commit and reports the disk separately', async () => {
    const ds = await open('full', 'committed.sqlite');
    const fsyncs = holdFsyncs();
    try {
      const { value, durable } = await transactionCommitted(ds, async (m) => {
        await m.insert(User, user('relayed'));
        return 'copy-1';
      });
      // The commit is done (a second connection reads the row) while the fsync is still held.
      expect(value).toBe('copy-1');
      const reader = new Database(path.join(dir, 'committed.sqlite'), { readonly: true });
      try {
        expect(reader.prepare('SELECT username FROM users').all()).toEqual([{ username: 'relayed' }]);
      } finally {
        reader.close();
      }
      let onDisk = false;
      void durable.then(() => (onDisk = true));
      await eventually(() => expect(fsyncs.held.length).toBe(1));
      await new Promise((r) => setTimeout(r, 50));
      expect(onDisk).toBe(false);
      fsyncs.release();
      await durable;
      expect(onDisk).toBe(true);
      // A failing one rolls back and leaves the connection usable.
      await expect(
        transactionCommitted(ds, async (m) => {
          await m.insert(User, user('half'));
          throw new Error('refused');
        }),
      ).rejects.toThrow('refused');
      expect((await ds.getRepository(User).find()).map((u) => u.username)).toEqual(['relayed']);
      // Inside another transaction it is part of that one.
      const outer = ds.transaction(async () => {
        const inner = await transactionCommitted(ds, async (m) => m.insert(User, user('nested')));
        await inner.durable; // settled at once: the outer transaction is the one that waits
      });
      await eventually(() => expect(fsyncs.held.length).toBe(1));
      fsyncs.release();
      await outer;
      expect(await ds.getRepository(User).count()).toBe(2);
    } finally {
      fsyncs.release();
      fsyncs.restore();
    }
  });

  it('normal: transactions never wait for an fsync', async () => {
    const ds = await open('normal', 'normal.sqlite');
    const spy = jest.spyOn(fs, 'fsync');
    try {
      for (let i = 0; i < 10; i++) await ds.transaction(async (m) => m.insert(User, user(`n${i}`)));
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });

  it('the embedded queue: an enqueue resolves after a shared fsync; `normal` never waits', async () => {
    const queue = createQueue({ kind: 'embedded', path: path.join(dir, 'queue.sqlite') });
    const fsyncs = holdFsyncs();
    try {
      let done = 0;
      const all = Array.from({ length: 10 }, (_, i) =>
        queue.enqueue('q', { id: `j${i}`, data: i }).then(() => done++),
      );
      await eventually(() => expect(fsyncs.held.length).toBe(1));
      await new Promise((r) => setTimeout(r, 50));
      expect(done).toBe(0);
      while (done < 10) {
        await eventually(() => expect(fsyncs.held.length).toBeGreaterThan(0));
        fsyncs.release();
        await new Promise((r) => setImmediate(r));
      }
      await Promise.all(all);
    } finally {
      fsyncs.release();
      fsyncs.restore();
      await queue.close();
    }
    const relaxed = createQueue({
      kind: 'embedded',
      path: path.join(dir, 'queue-normal.sqlite'),
      synchronous: 'normal',
    });
    const spy = jest.spyOn(fs, 'fsync');
    try {
      await relaxed.enqueueMany(
        'q',
        Array.from({ length: 5 }, (_, i) => ({ id: `n${i}`, data: i })),
      );
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
      await relaxed.close();
    }
  });

  it('the worker thread checkpoints the WAL into the database file', async () => {
    const ds = await open('full', 'checkpoint.sqlite');
    const file = path.join(dir, 'checkpoint.sqlite');
    const before = statSync(file).size;
    await ds.transaction(async (m) => {
      for (let i = 0; i < 2000; i++) await m.insert(User, user(`c${i}-${'x'.repeat(100)}`));
    });
    // The main connection never checkpoints (wal_autocheckpoint = 0): only the worker can grow the file.
    await eventually(() => expect(statSync(file).size).toBeGreaterThan(before + 100_000), 10_000);
    await ds.destroy();
    // Closing folds the rest back in and removes the WAL, as SQLite does for its last connection.
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
  });
});
