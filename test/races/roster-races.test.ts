import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { fakeHub } from '../fixtures/fake-adapter';
import { ADMIN_PASSWORD, Api, startTestGateway } from '../support/gateway';
import { insertRow } from '../../src/common/db';
import { RosterService } from '../../src/roster/roster.service';
import { Endpoint, Person } from '../../src/storage/entities';
import { DATA_SOURCE } from '../../src/tokens';

/** Two clients of one user changing the same contacts at once, started in the same tick on the service. */
describe('roster races (two clients of one user at once)', () => {
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let ownerId: string;
  let accountId: string;
  let ds: DataSource;

  beforeAll(async () => {
    fakeHub.reset();
    env = await startTestGateway();
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

  it('two merges in a chain at once (B into A, A into C): both are done and both answered', async () => {
    const [a, b, c] = [await person('anna'), await person('anne'), await person('annie')];
    const roster = env.gw.app.get(RosterService);
    const [first, second] = await Promise.allSettled([
      roster.merge(ownerId, a, b),
      roster.merge(ownerId, c, a),
    ]);
    expect(second.status).toBe('fulfilled');
    expect(first.status).toBe('fulfilled');
    const endpoints = await ds.getRepository(Endpoint).find({ where: { ownerId } });
    expect(endpoints.filter((e) => [a, b, c].includes(e.personId ?? '')).map((e) => e.personId)).toEqual([
      c,
      c,
      c,
    ]);
  });

  it('a split and a merge of the same contact at once: both are done and both answered', async () => {
    const [a, c] = [await person('bert'), await person('berta')];
    const extra = await person('bertie');
    await env.gw.app.get(RosterService).merge(ownerId, a, extra);
    const leaving = (await ds.getRepository(Endpoint).findOneByOrFail({ personId: a, displayName: 'bertie' }))
      .id;
    const roster = env.gw.app.get(RosterService);
    const [split, merged] = await Promise.allSettled([
      roster.split(ownerId, a, leaving),
      roster.merge(ownerId, c, a),
    ]);
    expect(merged.status).toBe('fulfilled');
    expect(split.status).toBe('fulfilled');
    const alone = (await ds.getRepository(Endpoint).findOneByOrFail({ id: leaving })).personId;
    expect(alone).not.toBe(c);
    expect(split.status === 'fulfilled' && split.value.split.id).toBe(alone);
  });
});
