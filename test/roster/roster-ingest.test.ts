import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { createLogger } from '../../src/common/logger';
import type { AppConfig } from '../../src/config';
import { ClientEventsService } from '../../src/events/client-events.service';
import type { ClientEventFrame } from '../../src/events/client-event.types';
import { ingestRosterEvents, type RosterEvent } from '../../src/roster/roster-ingest';
import { RemoteUserId } from '../../src/sdk';
import { Account, Endpoint, Person, User, openDatabase } from '../../src/storage';

/**
 * A batch of roster events ends where handling them one at a time would: one person per new contact, a
 * `contact.updated` per contact event, a `presence.changed` per presence carrying the person's aggregate
 * as it stood after that very event (also across networks, for a merged person), and a redelivered batch
 * changes nothing.
 */
describe('roster events in batches', () => {
  let dir: string;
  let ds: DataSource;
  let events: ClientEventsService;
  const frames: ClientEventFrame[] = [];
  let owner: string;
  let netA: { accountId: string; ownerId: string; network: string };
  let netB: { accountId: string; ownerId: string; network: string };

  const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 12, 0, s)).toISOString();
  const presence = (userId: string, state: 'available' | 'away' | 'offline', s: number, status?: string) =>
    ({
      type: 'presence',
      at: at(s),
      userId: RemoteUserId(userId),
      presence: { state, ...(status ? { status } : {}) },
    }) satisfies RosterEvent;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-roster-ingest-'));
    ds = await openDatabase({ kind: 'sqlite', path: join(dir, 'db.sqlite') });
    const config = { events: { replayLimit: 1000, retentionHours: 24 } } as AppConfig;
    events = new ClientEventsService(
      ds,
      config,
      createLogger({ level: 'error', format: 'json' }, {}, () => {}),
    );
    const user = await ds
      .getRepository(User)
      .save({ username: 'u', passwordHash: 'scrypt$x', isAdmin: false });
    owner = user.id;
    const [a, b] = await ds.getRepository(Account).save([
      { ownerId: owner, adapterId: 'xmpp', label: null, options: {}, state: 'connected' },
      { ownerId: owner, adapterId: 'irc', label: null, options: {}, state: 'connected' },
    ]);
    netA = { accountId: a!.id, ownerId: owner, network: 'xmpp' };
    netB = { accountId: b!.id, ownerId: owner, network: 'irc' };
    events.subscribe(owner, (f) => frames.push(f));
  });

  afterAll(async () => {
    events?.onModuleDestroy();
    await ds?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates each new contact as its own person, in one go, with the events in order', async () => {
    frames.length = 0;
    await ingestRosterEvents(ds, events, netA, [
      { type: 'contact.upsert', at: at(0), userId: RemoteUserId('ann@a'), displayName: 'Ann' },
      { type: 'contact.upsert', at: at(0), userId: RemoteUserId('bob@a') },
      presence('ann@a', 'available', 1, 'here'),
      presence('cid@a', 'away', 2, 'lunch'),
    ]);
    expect(frames.map((f) => `${f.type} ${(f.data as { address: string }).address}`)).toEqual([
      'contact.updated ann@a',
      'contact.updated bob@a',
      'presence.changed ann@a',
      'presence.changed cid@a',
    ]);
    expect(frames.map((f) => f.seq)).toEqual([...frames.map((f) => f.seq)].sort((x, y) => x - y));
    const eps = await ds.getRepository(Endpoint).find({ where: { accountId: netA.accountId } });
    expect(eps).toHaveLength(3);
    expect(new Set(eps.map((e) => e.personId)).size).toBe(3);
    const ann = eps.find((e) => e.address === 'ann@a')!;
    expect(ann).toMatchObject({ displayName: 'Ann', presenceState: 'available', presenceStatus: 'here' });
    expect(await ds.getRepository(Person).findOneByOrFail({ id: ann.personId! })).toMatchObject({
      displayName: 'Ann',
    });
    expect((frames[2]!.data as { personPresence: unknown }).personPresence).toMatchObject({
      state: 'available',
      status: 'here',
    });
  });

  it("gives each presence event its merged person's aggregate as of that event, across networks", async () => {
    await ingestRosterEvents(ds, events, netB, [presence('ann', 'away', 3, 'on irc')]);
    const annA = await ds
      .getRepository(Endpoint)
      .findOneByOrFail({ accountId: netA.accountId, address: 'ann@a' });
    const annB = await ds
      .getRepository(Endpoint)
      .findOneByOrFail({ accountId: netB.accountId, address: 'ann' });
    await ds.getRepository(Endpoint).update({ id: annB.id }, { personId: annA.personId }); // merged
    frames.length = 0;
    await ingestRosterEvents(ds, events, netA, [
      presence('ann@a', 'offline', 4),
      presence('bob@a', 'available', 5),
      presence('ann@a', 'available', 6, 'back'),
    ]);
    const aggregates = frames.map(
      (f) => (f.data as { personPresence: { state: string; status?: string } }).personPresence,
    );
    expect(aggregates[0]).toMatchObject({ state: 'away', status: 'on irc' }); // IRC decides while XMPP is offline
    expect(aggregates[1]).toMatchObject({ state: 'available' });
    expect(aggregates[2]).toMatchObject({ state: 'available', status: 'back' });
  });

  it('keeps `since` on a repeated presence and changes nothing when a batch is delivered again', async () => {
    const before = await ds
      .getRepository(Endpoint)
      .findOneByOrFail({ accountId: netA.accountId, address: 'cid@a' });
    const batch: RosterEvent[] = [
      { type: 'contact.upsert', at: at(7), userId: RemoteUserId('dan@a'), displayName: 'Dan' },
      presence('cid@a', 'away', 8, 'lunch'),
    ];
    await ingestRosterEvents(ds, events, netA, batch);
    await ingestRosterEvents(ds, events, netA, batch);
    const after = await ds.getRepository(Endpoint).findOneByOrFail({ id: before.id });
    expect(after.presenceSince).toBe(before.presenceSince);
    expect(await ds.getRepository(Endpoint).countBy({ accountId: netA.accountId, address: 'dan@a' })).toBe(1);
    expect(await ds.getRepository(Person).countBy({ ownerId: owner })).toBe(5);
  });
});
