import { randomBytes, randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { fakeHub } from '../fixtures/fake-adapter';
import { ADMIN_PASSWORD, Api, startTestGateway } from '../support/gateway';
import { startPostgres, type PostgresServer } from '../support/postgres';
import { startRedis, type RedisServer } from '../support/redis';
import { insertRow } from '../../src/common/db';
import { ApiError } from '../../src/api/api-error';
import { RosterService } from '../../src/roster/roster.service';
import { Endpoint, Person } from '../../src/storage/entities';
import { DATA_SOURCE } from '../../src/tokens';

/** Two clients of one user changing the same contacts at once, started in the same tick on the service. */
describe.each(['sqlite', 'postgres'] as const)(
  'roster races on %s (two clients of one user at once)',
  (db) => {
    let env: Awaited<ReturnType<typeof startTestGateway>>;
    let pg: PostgresServer | undefined;
    let redis: RedisServer | undefined;
    let ownerId: string;
    let accountId: string;
    let ds: DataSource;

    beforeAll(async () => {
      fakeHub.reset();
      if (db === 'postgres') [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
      env = await startTestGateway(
        pg && redis
          ? {
              database: { url: pg.url },
              queue: { redisUrl: redis.url, backoffBaseMs: 50, backoffMaxMs: 1000 },
              security: { secretKey: randomBytes(32).toString('base64') },
            }
          : {},
      );
      const admin = await new Api(env.gw.url).login('admin', ADMIN_PASSWORD);
      ownerId = (await admin.call('GET', '/api/v1/me')).json.id as string;
      accountId = (
        await admin.call('POST', '/api/v1/accounts', {
          adapter: 'fake',
          options: { network: 'roster-races', user: 'alice', password: 'pw' },
        })
      ).json.id as string;
      ds = env.gw.app.get<DataSource>(DATA_SOURCE);
    });
    afterAll(async () => {
      await env?.stop();
      await pg?.stop();
      await redis?.stop();
      fakeHub.reset();
    });

    /** A person with one endpoint, as the roster ingest would have made it. */
    async function person(name: string): Promise<string> {
      const id = randomUUID();
      const now = Date.now();
      await insertRow(ds.manager, Person, { id, ownerId, displayName: name, createdAt: now, updatedAt: now });
      await insertRow(ds.manager, Endpoint, {
        id: randomUUID(),
        ownerId,
        accountId,
        personId: id,
        network: 'fake',
        address: `${name}-${id.slice(0, 8)}`,
        displayName: name,
        presenceState: 'unknown',
        presenceStatus: null,
        presenceSince: null,
        capabilities: {},
        hints: {},
        lastActiveAt: null,
      });
      return id;
    }

    /** The person of each named endpoint (names are unique in these tests). */
    async function personOf(...names: string[]): Promise<(string | null)[]> {
      const rows = await ds.getRepository(Endpoint).findBy({ ownerId, accountId });
      return names.map((n) => rows.find((e) => e.displayName === n)?.personId ?? null);
    }

    /** Endpoints whose person is gone (or unset): contacts the buddy list would no longer show. */
    async function orphans(): Promise<string[]> {
      const people = new Set((await ds.getRepository(Person).findBy({ ownerId })).map((p) => p.id));
      const rows = await ds.getRepository(Endpoint).findBy({ ownerId, accountId });
      return rows
        .filter((e) => e.personId === null || !people.has(e.personId))
        .map((e) => e.displayName ?? '');
    }

    function notFound(r: PromiseSettledResult<unknown>): boolean {
      return r.status === 'rejected' && r.reason instanceof ApiError && r.reason.getStatus() === 404;
    }

    // On PostgreSQL either transaction may take the locks first; on SQLite the first call runs first. Either
    // way the outcome must be one of the two orders run one after the other, and each answer must match it.
    it('two merges in a chain at once (B into A, A into C): done in some order, each answered for what it did', async () => {
      const [a, b, c] = [await person('anna'), await person('anne'), await person('annie')];
      const roster = env.gw.app.get(RosterService);
      const [first, second] = await Promise.allSettled([
        roster.merge(ownerId, a, b),
        roster.merge(ownerId, c, a),
      ]);
      expect(second.status).toBe('fulfilled');
      if (first.status === 'fulfilled') {
        // B into A, then A (with B's endpoint) into C.
        expect(first.value.endpoints).toHaveLength(2);
        expect(await personOf('anna', 'anne', 'annie')).toEqual([c, c, c]);
      } else {
        // A into C first: the merge into A finds no A.
        expect(notFound(first)).toBe(true);
        expect(await personOf('anna', 'anne', 'annie')).toEqual([c, b, c]);
      }
      expect(await orphans()).toEqual([]);
    });

    it('a split and a merge of the same contact at once: done in some order, each answered for what it did', async () => {
      const [a, c] = [await person('bert'), await person('berta')];
      const extra = await person('bertie');
      await env.gw.app.get(RosterService).merge(ownerId, a, extra);
      const leaving = (
        await ds.getRepository(Endpoint).findOneByOrFail({ personId: a, displayName: 'bertie' })
      ).id;
      const roster = env.gw.app.get(RosterService);
      const [split, merged] = await Promise.allSettled([
        roster.split(ownerId, a, leaving),
        roster.merge(ownerId, c, a),
      ]);
      expect(merged.status).toBe('fulfilled');
      const [bert, berta, bertie] = await personOf('bert', 'berta', 'bertie');
      expect([bert, berta]).toEqual([c, c]);
      if (split.status === 'fulfilled') {
        // Split first: bertie is a person of its own, which the merge left alone.
        expect(bertie).toBe(split.value.split.id);
        expect(bertie).not.toBe(c);
      } else {
        expect(notFound(split)).toBe(true);
        expect(bertie).toBe(c);
      }
      expect(await orphans()).toEqual([]);
    });

    it('two merges of the same pair at once, each way round: one merges, the other is a 404; no contact is lost', async () => {
      const [a, b] = [await person('carl'), await person('carla')];
      const roster = env.gw.app.get(RosterService);
      const both = await Promise.allSettled([roster.merge(ownerId, a, b), roster.merge(ownerId, b, a)]);
      expect(both.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      expect(both.some(notFound)).toBe(true);
      const winner = both[0].status === 'fulfilled' ? a : b;
      expect(await personOf('carl', 'carla')).toEqual([winner, winner]);
      expect(await orphans()).toEqual([]);
    });
  },
);
