import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { Account, ClientEvent, Endpoint, Person, User, openDatabase } from '../../src/storage';
import { insertMany, selectRows, updateById } from '../../src/storage/bulk-insert';
import { startPostgres, type PostgresServer } from '../support/postgres';

// The multi-row INSERT and by-id UPDATE the roster and event log use for bursts, on both databases: values go through the
// entities' column conversions (JSON, epoch ms), chunks split the statement, RETURNING reads back
// generated sequence numbers.
describe.each(['sqlite', 'postgres'] as const)('insertMany, updateById and selectRows on %s', (driver) => {
  let ds: DataSource;
  let dir: string | undefined;
  let pg: PostgresServer | undefined;

  beforeAll(async () => {
    if (driver === 'sqlite') {
      dir = mkdtempSync(join(tmpdir(), 'sb-bulk-'));
      ds = await openDatabase({ kind: 'sqlite', path: join(dir, 'db.sqlite') });
    } else {
      pg = await startPostgres();
      ds = await openDatabase({ kind: 'postgres', url: pg.url });
    }
  }, 60_000);

  afterAll(async () => {
    await ds?.destroy();
    await pg?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('inserts whole entities in chunks, with JSON and epoch-ms columns converted', async () => {
    const user = await ds
      .getRepository(User)
      .save({ username: `u-${randomUUID().slice(0, 8)}`, passwordHash: 'scrypt$x', isAdmin: false });
    const account = await ds
      .getRepository(Account)
      .save({ ownerId: user.id, adapterId: 'xmpp', label: null, options: {} });
    const now = Date.now();
    const people = Array.from({ length: 1203 }, (_, i) =>
      ds.getRepository(Person).create({
        id: randomUUID(),
        ownerId: user.id,
        displayName: `P ${i}`,
        createdAt: now,
        updatedAt: now,
      }),
    );
    const endpoints = people.map((p, i) =>
      ds.getRepository(Endpoint).create({
        id: randomUUID(),
        ownerId: user.id,
        accountId: account.id,
        personId: p.id,
        network: 'xmpp',
        address: `c${i}@example.org`,
        displayName: i % 2 ? `C ${i}` : null,
        presenceState: 'offline',
        presenceStatus: i === 7 ? 'gone "fishing"' : null,
        presenceSince: now - i,
        capabilities: { voice: i % 3 === 0 },
        hints: { handles: [`c${i}@example.org`] },
        lastActiveAt: null,
      }),
    );
    await ds.transaction(async (m) => {
      await insertMany(m, Person, people, { chunk: 250 });
      await insertMany(m, Endpoint, endpoints);
    });
    expect(await ds.getRepository(Endpoint).count({ where: { accountId: account.id } })).toBe(1203);
    const seven = await ds
      .getRepository(Endpoint)
      .findOneByOrFail({ accountId: account.id, address: 'c7@example.org' });
    expect(seven).toMatchObject({
      personId: people[7]!.id,
      displayName: 'C 7',
      presenceStatus: 'gone "fishing"',
      presenceSince: now - 7,
      capabilities: { voice: false },
      hints: { handles: ['c7@example.org'] },
      lastActiveAt: null,
    });

    await ds.transaction((m) =>
      updateById(m, Endpoint, seven.id, {
        presenceState: 'away',
        presenceStatus: null,
        lastActiveAt: now + 1,
        capabilities: { voice: true, codecs: ['opus'] },
      }),
    );
    expect(await ds.getRepository(Endpoint).findOneByOrFail({ id: seven.id })).toMatchObject({
      presenceState: 'away',
      presenceStatus: null,
      presenceSince: now - 7,
      lastActiveAt: now + 1,
      capabilities: { voice: true, codecs: ['opus'] },
      displayName: 'C 7',
    });
    // Only that row.
    expect(await ds.getRepository(Endpoint).countBy({ accountId: account.id, presenceState: 'away' })).toBe(
      1,
    );
  });

  it('selectRows hydrates exactly what find() does, by equality and by IN lists', async () => {
    const some = await ds.getRepository(Endpoint).find({ take: 5, order: { address: 'ASC' } });
    expect(some).toHaveLength(5);
    const ids = some.map((e) => e.id);
    const raw = await selectRows(ds.manager, Endpoint, { id: ids });
    const byId = new Map(raw.map((e) => [e.id, e]));
    // Same values, same types (JSON parsed, epoch ms as numbers, nulls), and entity instances.
    for (const e of some) expect(byId.get(e.id)).toStrictEqual(e);
    expect(raw[0]).toBeInstanceOf(Endpoint);
    const one = await selectRows(ds.manager, Endpoint, {
      accountId: some[0]!.accountId,
      address: some[0]!.address,
    });
    expect(one).toStrictEqual([some[0]]);
    expect(await selectRows(ds.manager, Endpoint, { id: [] })).toEqual([]);
    expect(await selectRows(ds.manager, Endpoint, { id: randomUUID() })).toEqual([]);
    expect(
      await selectRows(ds.manager, Endpoint, { accountId: some[0]!.accountId }, { limit: 2 }),
    ).toHaveLength(2);
    await expect(selectRows(ds.manager, Endpoint, { nope: 1 } as never)).rejects.toThrow(
      'has no column nope',
    );
  });

  it('selectRows reads only the columns asked for, hydrated as find() with select does', async () => {
    const columns = ['id', 'personId', 'capabilities', 'presenceSince'] as const;
    const select = { id: true, personId: true, capabilities: true, presenceSince: true } as const;
    const some = await ds.getRepository(Endpoint).find({ select, take: 5, order: { address: 'ASC' } });
    const rows = await selectRows(ds.manager, Endpoint, { id: some.map((e) => e.id) }, { columns });
    const byId = new Map(rows.map((e) => [e.id, e]));
    for (const e of some) expect(byId.get(e.id)).toStrictEqual(e);
    expect(rows).toHaveLength(5);
    // What was not asked for is not read.
    for (const r of rows)
      expect([r.address, r.hints, r.accountId]).toEqual([undefined, undefined, undefined]);
    await expect(
      selectRows(ds.manager, Endpoint, { id: some[0]!.id }, { columns: ['id', 'nope' as 'id'] }),
    ).rejects.toThrow('lacks some of the columns');
  });

  it('reads generated sequence numbers back with RETURNING', async () => {
    const userId = randomUUID();
    const rows = Array.from({ length: 1100 }, (_, i) =>
      ds
        .getRepository(ClientEvent)
        .create({ userId, type: 'presence.changed', data: { i }, at: 1_000_000 + i }),
    );
    const back = await ds.transaction((m) => insertMany(m, ClientEvent, rows, { returning: ['seq', 'at'] }));
    expect(back).toHaveLength(1100);
    const seqByAt = new Map(back.map((r) => [Number(r.at), Number(r.seq)]));
    const stored = await ds.getRepository(ClientEvent).find({ where: { userId }, order: { seq: 'ASC' } });
    expect(stored.map((r) => (r.data as { i: number }).i)).toEqual(rows.map((_, i) => i));
    for (const r of stored) expect(seqByAt.get(r.at)).toBe(r.seq);
  });
});
