import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { openDatabase } from '../../src/storage';
import { User } from '../../src/storage/entities';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * better-sqlite3 gives TypeORM one connection. Two transactions that overlap in time would share it: the
 * second nests inside the first, and its rollback (a unique violation, say) undoes the first one's work
 * too. The storage layer serializes transactions on SQLite so that this cannot happen.
 */
describe('overlapping transactions on SQLite', () => {
  let dir: string;
  let ds: DataSource;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sb-sqlite-tx-'));
    ds = await openDatabase({ kind: 'sqlite', path: path.join(dir, 'db.sqlite') });
  });
  afterAll(async () => {
    await ds?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const user = (name: string) => ({ username: name, passwordHash: 'x', isAdmin: false });

  it("a failing transaction never undoes another one's writes", async () => {
    await ds.getRepository(User).insert(user('taken'));
    const first = ds.transaction(async (m) => {
      await m.insert(User, user('first-a'));
      await sleep(30);
      await m.insert(User, user('first-b'));
    });
    const second = ds.transaction(async (m) => {
      await sleep(5);
      await m.insert(User, user('taken')); // unique violation: this transaction rolls back
    });
    const [a, b] = await Promise.allSettled([first, second]);
    expect(a.status).toBe('fulfilled');
    expect(b.status).toBe('rejected');
    const names = (await ds.getRepository(User).find()).map((u) => u.username).sort();
    expect(names).toEqual(['first-a', 'first-b', 'taken']);
  });

  it('many overlapping transactions all commit', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        ds.transaction(async (m) => {
          await m.insert(User, user(`bulk-${i}-a`));
          await sleep(i % 3);
          await m.insert(User, user(`bulk-${i}-b`));
        }),
      ),
    );
    expect(await ds.getRepository(User).count({ where: {} })).toBe(3 + 40);
  });

  it('a transaction may be opened from inside another one without deadlock', async () => {
    await ds.transaction(async () => {
      await ds.transaction(async (m) => {
        await m.insert(User, user('nested'));
      });
    });
    expect(await ds.getRepository(User).exists({ where: { username: 'nested' } })).toBe(true);
  });

  it("a write outside any transaction is not undone by another one's rollback", async () => {
    await ds.getRepository(User).insert(user('kept'));
    const failing = ds.transaction(async (m) => {
      await m.insert(User, user('doomed'));
      await sleep(30);
      throw new Error('this transaction fails');
    });
    const outcome = failing.then(
      () => 'committed',
      (e: unknown) => String(e),
    );
    // Meanwhile, elsewhere: a plain write, reported done once it resolves.
    await sleep(5);
    await ds.getRepository(User).insert(user('autocommitted'));
    await ds.getRepository(User).update({ username: 'kept' }, { isAdmin: true });
    expect(await outcome).toBe('Error: this transaction fails');
    expect(await ds.getRepository(User).exists({ where: { username: 'doomed' } })).toBe(false);
    expect(await ds.getRepository(User).exists({ where: { username: 'autocommitted' } })).toBe(true);
    expect((await ds.getRepository(User).findOneByOrFail({ username: 'kept' })).isAdmin).toBe(true);
  });

  it('a plain write issued from inside a transaction (same async context) does not wait for it', async () => {
    await ds.transaction(async () => {
      await ds.getRepository(User).insert(user('inner-plain'));
    });
    expect(await ds.getRepository(User).exists({ where: { username: 'inner-plain' } })).toBe(true);
  });
});
