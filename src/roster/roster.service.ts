import { HttpStatus, Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, In, type EntityManager } from 'typeorm';
import { AccountsService } from '../accounts/accounts.service';
import { ApiError } from '../api/api-error';
import { insertRow } from '../common/db';
import { selectRows } from '../storage/bulk-insert';
import { EndpointId, PersonId, personDisplayName, suggestMerges } from '../core';
import { endpointPresence, personPresence } from './person-presence';
import { ClientEventsService } from '../events/client-events.service';
import {
  isPresenceCapable,
  isRosterCapable,
  RemoteUserId,
  type NetworkClient,
  type Presence,
  type PresenceState,
} from '../sdk';
import { Account, Endpoint, Person, PersonLinkDecision, User } from '../storage/entities';
import { DATA_SOURCE } from '../tokens';

export interface EndpointView {
  id: string;
  accountId: string;
  network: string;
  address: string;
  displayName: string;
  presence: Presence;
  capabilities: Record<string, unknown>;
}

export interface ContactView {
  id: string;
  displayName: string;
  presence: Presence;
  endpoints: EndpointView[];
}

/** What endpointView() and the presence aggregate read. */
const VIEW_COLUMNS = [
  'id',
  'personId',
  'accountId',
  'network',
  'address',
  'displayName',
  'presenceState',
  'presenceStatus',
  'presenceSince',
  'capabilities',
  'lastActiveAt',
] as const satisfies readonly (keyof Endpoint)[];

/**
 * The unified buddy list: people (metacontacts) with their endpoints on every network and one presence
 * aggregated from them (src/core). Merges and splits are the user's decisions and are recorded so that
 * automatic suggestions never undo them.
 */
@Injectable()
export class RosterService implements OnModuleInit {
  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    private readonly accounts: AccountsService,
    private readonly events: ClientEventsService,
  ) {}

  onModuleInit(): void {
    // An account that comes up (restart, reconnect, a new account) takes the presence the user chose.
    this.accounts.onConnected((account, client) => this.applyOwnPresence(account, client));
  }

  /** The presence the user last set for themselves (PUT /presence), or undefined if they never did. */
  private async storedPresence(ownerId: string) {
    const user = await this.ds.getRepository(User).findOne({
      where: { id: ownerId },
      select: { id: true, presenceState: true, presenceStatus: true, presenceSince: true },
    });
    if (!user?.presenceState) return undefined;
    return {
      state: user.presenceState,
      ...(user.presenceStatus ? { status: user.presenceStatus } : {}),
      ...(user.presenceSince !== null ? { since: user.presenceSince } : {}),
    };
  }

  /** The user's own presence as last set (PUT /presence); `available` with no status until they set one. */
  async ownPresence(ownerId: string): Promise<{ state: PresenceState; status?: string; since?: string }> {
    const p = await this.storedPresence(ownerId);
    if (!p) return { state: 'available' };
    const { since, ...rest } = p;
    return { ...rest, ...(since !== undefined ? { since: new Date(since).toISOString() } : {}) };
  }

  private async applyOwnPresence(account: Account, client: NetworkClient): Promise<void> {
    if (!isPresenceCapable(client)) return;
    // Never set: the network's default (available) stands, as before.
    const p = await this.storedPresence(account.ownerId);
    if (!p) return;
    await client.setPresence({ state: p.state, ...(p.status !== undefined ? { status: p.status } : {}) });
  }

  private connected(accountId: string): boolean {
    return this.accounts.supervisor.status(accountId)?.state === 'connected';
  }

  private endpointView(e: Endpoint): EndpointView {
    return {
      id: e.id,
      accountId: e.accountId,
      network: e.network,
      address: e.address,
      displayName: e.displayName ?? e.address,
      presence: this.endpointPresence(e),
      capabilities: e.capabilities,
    };
  }

  private endpointPresence(e: Endpoint): Presence {
    return endpointPresence(e, this.connected(e.accountId));
  }

  private aggregate(endpoints: Endpoint[]): Presence {
    return personPresence(endpoints, (id) => this.connected(id));
  }

  private view(person: Person, endpoints: Endpoint[]): ContactView {
    return {
      id: person.id,
      displayName: person.displayName,
      presence: this.aggregate(endpoints),
      endpoints: endpoints.map((e) => this.endpointView(e)),
    };
  }

  async list(ownerId: string): Promise<ContactView[]> {
    // Only the columns a view shows, read by one plain statement (selectRows): with thousands of contacts,
    // TypeORM's find() spent most of this call, and most of its memory, turning rows into entities. A
    // client signing in fetches this while a login's roster pours in, at the gateway's memory peak.
    const [people, endpoints] = await Promise.all([
      selectRows(this.ds.manager, Person, { ownerId }, { columns: ['id', 'displayName'] }),
      selectRows(this.ds.manager, Endpoint, { ownerId }, { columns: VIEW_COLUMNS }),
    ]);
    const byPerson = new Map<string, Endpoint[]>();
    for (const e of endpoints) {
      if (!e.personId) continue;
      const list = byPerson.get(e.personId) ?? [];
      list.push(e);
      byPerson.set(e.personId, list);
    }
    return people
      .filter((p) => byPerson.has(p.id))
      .map((p) => this.view(p, byPerson.get(p.id)!))
      .sort((a, b) => a.displayName.localeCompare(b.displayName));
  }

  async get(ownerId: string, personId: string): Promise<ContactView> {
    return this.viewIn(this.ds.manager, ownerId, personId);
  }

  /**
   * A contact as `m` sees it. A merge or split reads its answer inside its own transaction: read after the
   * commit, another client's change made meanwhile (merging this contact away) would turn a done merge
   * into a 404 whose contact.updated event is never sent.
   */
  private async viewIn(m: EntityManager, ownerId: string, personId: string): Promise<ContactView> {
    const person = await m.findOne(Person, { where: { id: personId, ownerId } });
    if (!person) throw ApiError.notFound('contact');
    const endpoints = await m.find(Endpoint, { where: { personId, ownerId } });
    return this.view(person, endpoints);
  }

  /**
   * People that look like the same human (same normalised name, a shared e-mail/phone hint, a matching
   * handle), as pairs of contacts with the reasons; never a pair the user split (src/core's rule).
   */
  async suggestions(ownerId: string) {
    const [endpoints, decisions] = await Promise.all([
      this.ds.getRepository(Endpoint).find({ where: { ownerId } }),
      this.ds.getRepository(PersonLinkDecision).find({ where: { ownerId }, order: { createdAt: 'ASC' } }),
    ]);
    const byId = new Map(endpoints.map((e) => [e.id, e]));
    const pairs = suggestMerges(
      endpoints.map((e) => ({
        id: EndpointId(e.id),
        address: RemoteUserId(e.address),
        ...(e.personId ? { personId: PersonId(e.personId) } : {}),
        ...(e.displayName ? { displayName: e.displayName } : {}),
        hints: e.hints,
      })),
      decisions.map((d) => ({ kind: d.decision, a: EndpointId(d.endpointA), b: EndpointId(d.endpointB) })),
    );
    // One suggestion per pair of people, with every reason found between their endpoints.
    const byPeople = new Map<
      string,
      { contactId: string; otherId: string; reasons: { kind: string; value: string }[] }
    >();
    for (const p of pairs) {
      const a = byId.get(p.a)?.personId;
      const b = byId.get(p.b)?.personId;
      if (!a || !b || a === b) continue;
      const [contactId, otherId] = a < b ? [a, b] : [b, a];
      const key = `${contactId}|${otherId}`;
      const entry = byPeople.get(key) ?? { contactId, otherId, reasons: [] };
      for (const r of p.reasons)
        if (!entry.reasons.some((x) => x.kind === r.kind && x.value === r.value)) entry.reasons.push(r);
      byPeople.set(key, entry);
    }
    return [...byPeople.values()];
  }

  /** Moves every endpoint of `otherId` into `personId`; the user's decision is recorded for each pair. */
  async merge(ownerId: string, personId: string, otherId: string): Promise<ContactView> {
    if (personId === otherId)
      throw ApiError.validation('a contact cannot be merged with itself', [{ field: 'otherId' }]);
    const view = await this.ds.transaction(async (m) => {
      await this.lockPeople(m, ownerId, [personId, otherId]);
      const mine = await m.find(Endpoint, { where: { personId, ownerId } });
      const theirs = await m.find(Endpoint, { where: { personId: otherId, ownerId } });
      await this.recordDecisions(m, ownerId, mine, theirs, 'merged');
      if (theirs.length) await m.update(Endpoint, { id: In(theirs.map((e) => e.id)) }, { personId });
      await m.delete(Person, { id: otherId });
      await m.update(
        Person,
        { id: personId },
        { displayName: personDisplayName([...mine, ...theirs].map(nameOf)) },
      );
      return this.viewIn(m, ownerId, personId);
    });
    await this.events.publish(ownerId, 'contact.updated', { ...view, mergedFrom: otherId });
    return view;
  }

  /**
   * The user says two people are not the same human: a `split` decision for every pair of their endpoints,
   * so they are never suggested together again (nothing moves).
   */
  async markDistinct(
    ownerId: string,
    personId: string,
    otherId: string,
  ): Promise<{ contactId: string; otherId: string }> {
    if (personId === otherId)
      throw ApiError.validation('a contact is always the same person as itself', [{ field: 'otherId' }]);
    await this.ds.transaction(async (m) => {
      await this.lockPeople(m, ownerId, [personId, otherId]);
      const mine = await m.find(Endpoint, { where: { personId, ownerId } });
      const theirs = await m.find(Endpoint, { where: { personId: otherId, ownerId } });
      await this.recordDecisions(m, ownerId, mine, theirs, 'split');
    });
    return { contactId: personId, otherId };
  }

  /** Takes one endpoint out of a person into a person of its own; they are never suggested together again. */
  async split(
    ownerId: string,
    personId: string,
    endpointId: string,
  ): Promise<{ from: ContactView; split: ContactView }> {
    const newId = randomUUID();
    const { from, split } = await this.ds.transaction(async (m) => {
      await this.lockPeople(m, ownerId, [personId]);
      const endpoints = await m.find(Endpoint, { where: { personId, ownerId } });
      const leaving = endpoints.find((e) => e.id === endpointId);
      if (!leaving)
        throw ApiError.validation('endpointId is not an endpoint of this contact', [{ field: 'endpointId' }]);
      if (endpoints.length === 1)
        throw ApiError.validation('the contact has only this endpoint', [{ field: 'endpointId' }]);
      const staying = endpoints.filter((e) => e.id !== endpointId);
      await this.recordDecisions(m, ownerId, [leaving], staying, 'split');
      await insertRow(m, Person, {
        id: newId,
        ownerId,
        displayName: nameOf(leaving).displayName,
        createdAt: Date.now(),
        updatedAt: Date.now(),
      });
      await m.update(Endpoint, { id: endpointId }, { personId: newId });
      await m.update(Person, { id: personId }, { displayName: personDisplayName(staying.map(nameOf)) });
      return { from: await this.viewIn(m, ownerId, personId), split: await this.viewIn(m, ownerId, newId) };
    });
    await this.events.publish(ownerId, 'contact.updated', from);
    await this.events.publish(ownerId, 'contact.updated', split);
    return { from, split };
  }

  /**
   * The people a merge, split or distinction works on, each of them this owner's (a 404 otherwise). On
   * PostgreSQL their rows are locked in one order first: two clients merging the same people at once (A into
   * B and B into A, or a chain) then run one after the other, and the second reads what the first left
   * instead of moving endpoints to a person the first deleted. SQLite runs transactions one at a time already.
   */
  private async lockPeople(m: EntityManager, ownerId: string, ids: string[]): Promise<void> {
    const people = await m.find(Person, {
      where: { id: In(ids), ownerId },
      select: { id: true },
      order: { id: 'ASC' },
      ...(m.connection.options.type === 'postgres' ? { lock: { mode: 'pessimistic_write' as const } } : {}),
    });
    if (people.length !== new Set(ids).size) throw ApiError.notFound('contact');
  }

  private async recordDecisions(
    m: EntityManager,
    ownerId: string,
    as: Endpoint[],
    bs: Endpoint[],
    decision: 'merged' | 'split',
  ): Promise<void> {
    for (const a of as)
      for (const b of bs)
        await insertRow(m, PersonLinkDecision, {
          id: randomUUID(),
          ownerId,
          endpointA: a.id,
          endpointB: b.id,
          decision,
          createdAt: Date.now(),
        });
  }

  /** Adds a buddy on a network (subscription, MONITOR, …) through the account's client. */
  async addContact(
    ownerId: string,
    accountId: string,
    address: string,
  ): Promise<{ accountId: string; address: string }> {
    const account = await this.accounts.owned(ownerId, accountId);
    const client = this.accounts.connectedClient(account.id);
    if (!client) throw ApiError.conflict('the account is not connected; try again when it is');
    if (!isRosterCapable(client))
      throw ApiError.badRequest(`the ${account.adapterId} network keeps no buddy list`);
    try {
      await client.addContact(RemoteUserId(address));
    } catch (err) {
      // The account was deleted while the network was asked: its client was stopped under the request.
      if (await this.accounts.gone(account.id))
        throw new ApiError(
          HttpStatus.NOT_FOUND,
          'NOT_FOUND',
          'account not found: it was deleted while the contact was being added',
        );
      throw err;
    }
    return { accountId: account.id, address };
  }

  /**
   * Sets the user's own presence on every connected account whose network carries presence, and keeps it:
   * accounts that connect later (or again) take it too.
   */
  async setOwnPresence(ownerId: string, presence: { state: PresenceState; status?: string }) {
    await this.ds
      .getRepository(User)
      .update(
        { id: ownerId },
        { presenceState: presence.state, presenceStatus: presence.status || null, presenceSince: Date.now() },
      );
    const accounts = await this.ds.getRepository(Account).find({ where: { ownerId, enabled: true } });
    const results: { accountId: string; network: string; ok: boolean; error?: string }[] = [];
    for (const a of accounts) {
      const client = this.accounts.connectedClient(a.id);
      if (!client) {
        results.push({ accountId: a.id, network: a.adapterId, ok: false, error: 'not connected' });
        continue;
      }
      if (!isPresenceCapable(client)) {
        results.push({
          accountId: a.id,
          network: a.adapterId,
          ok: false,
          error: 'the network carries no presence',
        });
        continue;
      }
      try {
        await client.setPresence({
          state: presence.state,
          ...(presence.status ? { status: presence.status } : {}),
        });
        results.push({ accountId: a.id, network: a.adapterId, ok: true });
      } catch (err) {
        results.push({
          accountId: a.id,
          network: a.adapterId,
          ok: false,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
    return { presence, accounts: results };
  }
}

function nameOf(e: Pick<Endpoint, 'displayName' | 'address'>): {
  displayName: string;
  address: RemoteUserId;
} {
  return { displayName: e.displayName ?? e.address, address: RemoteUserId(e.address) };
}
