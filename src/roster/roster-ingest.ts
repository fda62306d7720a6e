import { randomUUID } from 'node:crypto';
import { In, type DataSource, type EntityManager } from 'typeorm';
import { toMs } from '../common/time';
import type { ClientEventsService } from '../events/client-events.service';
import type { ClientEventType } from '../events/client-event.types';
import type { AccountRef } from '../messaging/queues';
import type { RemoteEvent, RemoteEventOf } from '../sdk';
import { insertMany, updateById } from '../storage/bulk-insert';
import { Account, Endpoint, Person } from '../storage/entities';
import { personPresence } from './person-presence';

/** The events that change the buddy list, which the ingest queue carries in batches. */
export type RosterEvent = RemoteEventOf<'presence' | 'contact.upsert' | 'contact.remove'>;

export function isRosterEvent(e: RemoteEvent): e is RosterEvent {
  return e.type === 'presence' || e.type === 'contact.upsert' || e.type === 'contact.remove';
}

/** Keys per `IN (…)` list and rows per multi-row INSERT: far below SQLite's 32,766 bound parameters. */
const CHUNK = 500;

function chunks<T>(xs: readonly T[], n = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

/**
 * Applies a run of one account's roster events (contacts and presence, in network order) to the stored
 * buddy list in one transaction, then publishes their client events in one write. Same outcome, event by
 * event, as handling them one at a time — every new contact its own person, `contact.updated` per
 * contact event, `presence.changed` per presence with the person's aggregate as it stood after that
 * event — but with a handful of statements per few hundred contacts instead of several per contact, which
 * is what lets a 10,000-contact login finish in seconds. Idempotent like the one-at-a-time path: a
 * redelivered batch finds its endpoints and rewrites the same values.
 */
/**
 * A contact seen for the first time: its endpoint, and a person of its own (every new endpoint starts as
 * its own person; merging people is the roster's job, and the user's). Not yet written.
 */
export function newEndpoint(
  m: EntityManager,
  account: AccountRef,
  address: string,
  displayName?: string,
): { person: Person; endpoint: Endpoint } {
  const now = Date.now();
  const person = m.create(Person, {
    id: randomUUID(),
    ownerId: account.ownerId,
    displayName: displayName ?? address,
    createdAt: now,
    updatedAt: now,
  });
  const endpoint = m.create(Endpoint, {
    id: randomUUID(),
    ownerId: account.ownerId,
    accountId: account.accountId,
    personId: person.id,
    network: account.network,
    address,
    displayName: displayName ?? null,
    presenceState: 'unknown',
    presenceStatus: null,
    presenceSince: null,
    capabilities: {},
    hints: {},
    lastActiveAt: null,
  });
  return { person, endpoint };
}

export async function ingestRosterEvents(
  ds: DataSource,
  events: ClientEventsService,
  account: AccountRef,
  batch: readonly RosterEvent[],
): Promise<void> {
  const out: { type: ClientEventType; data: unknown }[] = [];
  await ds.transaction(async (m) => {
    const addresses = [...new Set(batch.map((e) => e.userId as string))];
    const byAddress = new Map<string, Endpoint>();
    for (const part of chunks(addresses))
      for (const e of await m.find(Endpoint, {
        where: { accountId: account.accountId, address: In(part) },
      }))
        byAddress.set(e.address, e);
    // For presence events, the person's aggregate: the people of known endpoints with all their endpoints
    // (other networks too). Contact events need none of it (a login's roster is thousands of them).
    const byPerson = new Map<string, Endpoint[]>();
    const presenceOf = new Set(batch.flatMap((e) => (e.type === 'presence' ? [e.userId as string] : [])));
    const personIds = [
      ...new Set(
        [...byAddress.values()].flatMap((e) => (e.personId && presenceOf.has(e.address) ? [e.personId] : [])),
      ),
    ];
    for (const part of chunks(personIds))
      for (const e of await m.find(Endpoint, { where: { personId: In(part) } })) {
        // One object per row, so an update seen through the account's map is seen in the person's list.
        const same = e.accountId === account.accountId ? (byAddress.get(e.address) ?? e) : e;
        const list = byPerson.get(e.personId!) ?? [];
        list.push(same);
        byPerson.set(e.personId!, list);
      }
    const connected = new Set(
      (
        await m.find(Account, {
          where: { ownerId: account.ownerId, state: 'connected' },
          select: { id: true },
        })
      ).map((a) => a.id),
    );

    const newPeople: Person[] = [];
    const created = new Set<Endpoint>();
    const dirty = new Set<Endpoint>();
    const endpointFor = (address: string, displayName?: string): Endpoint => {
      const found = byAddress.get(address);
      if (found) return found;
      const { person, endpoint: ep } = newEndpoint(m, account, address, displayName);
      newPeople.push(person);
      byAddress.set(address, ep);
      byPerson.set(person.id, [ep]);
      created.add(ep);
      return ep;
    };

    for (const e of batch) {
      switch (e.type) {
        case 'contact.upsert': {
          const ep = endpointFor(e.userId, e.displayName);
          if (e.displayName && e.displayName !== ep.displayName) {
            ep.displayName = e.displayName;
            dirty.add(ep);
          }
          const hints = e.hints ?? ep.hints;
          const capabilities = { ...ep.capabilities, ...(e.capabilities ?? {}) };
          if (JSON.stringify(hints) !== JSON.stringify(ep.hints)) {
            ep.hints = hints;
            dirty.add(ep);
          }
          if (JSON.stringify(capabilities) !== JSON.stringify(ep.capabilities)) {
            ep.capabilities = capabilities;
            dirty.add(ep);
          }
          out.push({
            type: 'contact.updated',
            data: {
              endpointId: ep.id,
              personId: ep.personId,
              accountId: account.accountId,
              address: e.userId,
              displayName: e.displayName,
            },
          });
          break;
        }
        case 'contact.remove': {
          const ep = byAddress.get(e.userId);
          if (ep && ep.presenceState !== 'offline') {
            ep.presenceState = 'offline';
            dirty.add(ep);
          }
          break;
        }
        case 'presence': {
          const ep = endpointFor(e.userId);
          const status = e.presence.status ?? null;
          // The same state and text again (a reconnect's probe answers) is no change: the stored `since`
          // keeps saying since when the contact is in that state.
          if (ep.presenceState !== e.presence.state || ep.presenceStatus !== status) {
            ep.presenceState = e.presence.state;
            ep.presenceStatus = status;
            ep.presenceSince = toMs(e.presence.since ?? e.at);
            if (e.presence.state !== 'offline') ep.lastActiveAt = toMs(e.at);
            dirty.add(ep);
          }
          out.push({
            type: 'presence.changed',
            data: {
              endpointId: ep.id,
              personId: ep.personId,
              accountId: account.accountId,
              address: e.userId,
              presence: e.presence,
              personPresence: personPresence(ep.personId ? (byPerson.get(ep.personId) ?? [ep]) : [], (id) =>
                connected.has(id),
              ),
            },
          });
          break;
        }
      }
    }

    await insertMany(m, Person, newPeople);
    await insertMany(m, Endpoint, [...created]);
    for (const ep of dirty) if (!created.has(ep)) await update(m, ep);
  });
  await events.publishMany(account.ownerId, out);
}

function update(m: EntityManager, ep: Endpoint) {
  return updateById(m, Endpoint, ep.id, {
    displayName: ep.displayName,
    presenceState: ep.presenceState,
    presenceStatus: ep.presenceStatus,
    presenceSince: ep.presenceSince,
    lastActiveAt: ep.lastActiveAt,
    hints: ep.hints,
    capabilities: ep.capabilities,
  });
}
