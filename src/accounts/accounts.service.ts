import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, IsNull } from 'typeorm';
import type { AppConfig } from '../config';
import type { Logger } from '../common/logger';
import { ApiError } from '../api/api-error';
import { isUniqueViolation } from '../api/error.filter';
import { ClientEventsService } from '../events/client-events.service';
import { IngestService } from '../messaging/ingest.service';
import type { AccountRef } from '../messaging/queues';
import { AccountSupervisor, type ClientHost } from '../registry/account-supervisor';
import { AdapterRegistry } from '../registry/adapter-registry';
import type { AccountStateStore, AdapterLogger, ConnectionStatus, NetworkClient, RemoteEvent } from '../sdk';
import { Account, User } from '../storage/entities';
import { SecretBox } from '../storage/secret-box';
import { insertRow, patch } from '../common/db';
import { selectRows } from '../storage/bulk-insert';
import { ADAPTER_REGISTRY, CONFIG, DATA_SOURCE, LOGGER } from '../tokens';
import { MetricsService } from '../api/health/metrics.service';
import { DbAccountStateStore } from './account-state.store';
import { SECRET_BOX } from './secret-box.provider';

export interface AccountView {
  id: string;
  adapter: string;
  label: string | null;
  state: ConnectionStatus['state'];
  stateMessage: string | null;
  options: Record<string, unknown>;
  createdAt: string;
}

/**
 * Accounts: validated, stored with their secrets sealed, and kept connected by the supervisor. Every
 * query is scoped by owner, so a user can never see or touch another user's account (a foreign id is a 404).
 */
@Injectable()
export class AccountsService implements ClientHost, OnApplicationShutdown {
  readonly supervisor: AccountSupervisor;

  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly log: Logger,
    @Inject(ADAPTER_REGISTRY) private readonly registry: AdapterRegistry,
    @Inject(SECRET_BOX) private readonly secrets: SecretBox,
    private readonly events: ClientEventsService,
    private readonly ingest: IngestService,
    private readonly metrics: MetricsService,
  ) {
    this.supervisor = new AccountSupervisor(registry, this);
  }

  private get repo() {
    return this.ds.getRepository(Account);
  }

  // ---- ClientHost: what the supervisor calls on behalf of running clients ----

  // Owner and adapter of each running account: every inbound event needs them, so they are not re-read.
  private readonly refs = new Map<string, AccountRef>();
  // The first read, shared by the events emitted meanwhile, which must reach ingest in emitted order: it
  // is forgotten only after every waiter went on, so no later event can overtake them on the cached path.
  private readonly refLoads = new Map<string, Promise<AccountRef | undefined>>();

  async emit(accountId: string, event: RemoteEvent): Promise<void> {
    const loading = this.refLoads.get(accountId);
    const ref = loading ? await loading : (this.refs.get(accountId) ?? (await this.loadRef(accountId)));
    if (!ref) return;
    this.metrics.remoteEvents.inc({ adapter: ref.network, type: event.type });
    await this.ingest.accept(ref, event);
  }

  private loadRef(accountId: string): Promise<AccountRef | undefined> {
    const load = this.repo.findOne({ where: { id: accountId } }).then((account) => {
      if (!account) return undefined;
      const ref = { accountId, ownerId: account.ownerId, network: account.adapterId };
      this.refs.set(accountId, ref);
      return ref;
    });
    this.refLoads.set(accountId, load);
    const forget = () => setImmediate(() => this.refLoads.delete(accountId));
    load.then(forget, forget);
    return load;
  }

  stateStore(accountId: string): AccountStateStore {
    return new DbAccountStateStore(this.ds, accountId);
  }

  logger(accountId: string): AdapterLogger {
    return this.log.child({ account: accountId });
  }

  // Status writes of one account are chained: concurrent writes could land out of order (a pool of
  // PostgreSQL connections, or interleaved awaits) and leave a stale state in the database.
  private readonly statusChains = new Map<string, Promise<void>>();

  /** Called after each (re)connection of an account, its state recorded (see onConnected). */
  private readonly connectedHooks: ((account: Account, client: NetworkClient) => Promise<void>)[] = [];

  /**
   * Work to do each time an account comes up — after a restart, a reconnect, or its first login (the
   * user's own presence is applied this way). A hook that fails is logged and does not stop the others.
   */
  onConnected(hook: (account: Account, client: NetworkClient) => Promise<void>): void {
    this.connectedHooks.push(hook);
  }

  onStatus(accountId: string, status: ConnectionStatus): void {
    const next = (this.statusChains.get(accountId) ?? Promise.resolve()).then(() =>
      this.recordStatus(accountId, status),
    );
    this.statusChains.set(accountId, next);
    void next.finally(() => {
      if (this.statusChains.get(accountId) === next) this.statusChains.delete(accountId);
    });
  }

  private async recordStatus(accountId: string, status: ConnectionStatus): Promise<void> {
    try {
      const account = await this.repo.findOne({ where: { id: accountId } });
      if (!account) return;
      await this.repo.update(
        { id: accountId },
        { state: status.state, stateMessage: status.message ?? null, updatedAt: Date.now() },
      );
      await this.refreshGauge();
      await this.events.publish(account.ownerId, 'account.state', {
        accountId,
        adapter: account.adapterId,
        state: status.state,
        message: status.message,
        code: status.code,
      });
      const client = status.state === 'connected' ? this.connectedClient(accountId) : undefined;
      if (client)
        for (const hook of this.connectedHooks)
          await hook(account, client).catch((err: unknown) =>
            this.log.warn('could not finish setting up a connected account', { accountId, err: String(err) }),
          );
    } catch (err) {
      this.log.error('could not record account state', { accountId, err });
    }
  }

  private async refreshGauge(): Promise<void> {
    const rows = await this.repo
      .createQueryBuilder('a')
      .select('a.adapterId', 'adapter')
      .addSelect('a.state', 'state')
      .addSelect('COUNT(*)', 'n')
      .groupBy('a.adapterId')
      .addGroupBy('a.state')
      .getRawMany<{ adapter: string; state: string; n: number | string }>();
    this.metrics.accounts.reset();
    for (const r of rows) this.metrics.accounts.set({ adapter: r.adapter, state: r.state }, Number(r.n));
  }

  // ---- the API's use cases ----

  async create(
    ownerId: string,
    input: { adapter: string; label?: string; options: unknown },
  ): Promise<AccountView> {
    if (!this.registry.get(input.adapter))
      throw ApiError.validation(`unknown adapter "${input.adapter}"; GET /api/v1/adapters lists them`, [
        { field: 'adapter' },
      ]);
    const valid = await this.registry.validateAccountOptions(input.adapter, input.options);
    if (!valid.ok) {
      throw ApiError.validation(
        `invalid options for adapter "${input.adapter}": ` +
          valid.issues.map((i) => `options.${i.path}: ${i.message}`).join('; '),
        valid.issues.map((i) => ({ field: `options.${i.path}`, message: i.message })),
      );
    }
    const { public: pub, secrets } = this.registry.splitSecrets(input.adapter, valid.value);
    // One account per network login and user (ADR 0016): a second would be a second client on one login.
    const loginKey = this.registry.loginKeyOf(input.adapter, valid.value);
    const holder = loginKey === null ? undefined : await this.loginHolder(ownerId, input.adapter, loginKey);
    if (holder) throw this.sameLogin(holder);
    const now = Date.now();
    const row = this.repo.create({
      id: randomUUID(),
      ownerId,
      adapterId: input.adapter,
      label: input.label ?? null,
      loginKey,
      options: pub,
      secrets: Object.keys(secrets).length ? this.secrets.seal(JSON.stringify(secrets)) : null,
      enabled: true,
      state: 'connecting',
      stateMessage: null,
      createdAt: now,
      updatedAt: now,
    });
    try {
      await insertRow(this.ds.manager, Account, row);
    } catch (err) {
      // The same login created at the same moment (a double POST): the unique index decided.
      if (loginKey === null || !isUniqueViolation(err)) throw err;
      const winner = await this.loginHolder(ownerId, input.adapter, loginKey);
      throw winner ? this.sameLogin(winner) : err;
    }
    await this.startClient(row, valid.value);
    return this.view(row);
  }

  private async loginHolder(
    ownerId: string,
    adapterId: string,
    loginKey: string,
  ): Promise<Account | undefined> {
    const [row] = await selectRows(this.ds.manager, Account, { ownerId, adapterId, loginKey }, { limit: 1 });
    return row;
  }

  private sameLogin(existing: Account): ApiError {
    const which = existing.label ? `account ${existing.id} ("${existing.label}")` : `account ${existing.id}`;
    return ApiError.conflict(
      `${which} already logs in to this ${existing.adapterId} login; two clients on one login would fight, ` +
        'so a second one is refused (DELETE the first to replace it)',
    );
  }

  async list(ownerId: string): Promise<AccountView[]> {
    const rows = await this.repo.find({ where: { ownerId }, order: { createdAt: 'ASC' } });
    return rows.map((r) => this.view(r));
  }

  async get(ownerId: string, id: string): Promise<AccountView> {
    return this.view(await this.owned(ownerId, id));
  }

  // Accounts whose removal is under way: their client is stopping while the row still exists.
  private readonly removing = new Set<string>();

  async remove(ownerId: string, id: string): Promise<void> {
    const row = await this.owned(ownerId, id);
    this.removing.add(row.id);
    try {
      await this.supervisor.stop(row.id);
      this.refs.delete(row.id);
      await this.repo.delete({ id: row.id });
    } finally {
      this.removing.delete(row.id);
    }
    await this.refreshGauge();
  }

  /**
   * True when the account is deleted or being deleted: a request whose network call failed while the
   * client was stopped under it answers "account not found", not the client's error.
   */
  async gone(id: string): Promise<boolean> {
    return this.removing.has(id) || !(await this.repo.exists({ where: { id } }));
  }

  /** The account's running client if it is connected now, else undefined. */
  connectedClient(accountId: string): NetworkClient | undefined {
    const client = this.supervisor.client(accountId);
    return client?.status.state === 'connected' ? client : undefined;
  }

  /** The account row, only if this owner has it (404 otherwise: ids of others are not confirmed to exist). */
  async owned(ownerId: string, id: string): Promise<Account> {
    const row = await this.repo.findOne({ where: { id, ownerId } });
    if (!row) throw ApiError.notFound('account');
    return row;
  }

  private view(r: Account): AccountView {
    return {
      id: r.id,
      adapter: r.adapterId,
      label: r.label,
      state: r.state,
      stateMessage: r.stateMessage,
      options: r.options,
      createdAt: new Date(r.createdAt).toISOString(),
    };
  }

  /** The full options of an account: public ones plus its unsealed secrets. */
  fullOptions(row: Account): Record<string, unknown> {
    const secrets = row.secrets
      ? (JSON.parse(this.secrets.open(row.secrets)) as Record<string, unknown>)
      : {};
    return this.registry.mergeSecrets(row.adapterId, row.options, secrets);
  }

  private async startClient(row: Account, options: unknown): Promise<void> {
    await this.supervisor.start({ accountId: row.id, adapterId: row.adapterId, options });
  }

  /** At boot: the accounts declared in config are created or updated, then every enabled account is started. */
  async startAll(): Promise<void> {
    await this.applyConfigAccounts();
    await this.assignLoginKeys();
    const rows = await this.repo.find({ where: { enabled: true } });
    for (const row of rows) {
      if (!this.registry.get(row.adapterId)) {
        this.log.warn('account names an adapter that is not loaded; left stopped', {
          account: row.id,
          adapter: row.adapterId,
        });
        await this.repo.update(
          { id: row.id },
          { state: 'error', stateMessage: `adapter "${row.adapterId}" is not loaded` },
        );
        continue;
      }
      try {
        await this.startClient(row, this.fullOptions(row));
      } catch (err) {
        this.log.error('could not start account', { account: row.id, err });
        await this.repo.update(
          { id: row.id },
          { state: 'error', stateMessage: 'could not read its stored options' },
        );
      }
    }
    await this.refreshGauge();
  }

  /** Accounts in the config file: validated at boot (a bad one stops the boot, naming it), then upserted. */
  async validateConfigAccounts(): Promise<string[]> {
    const problems: string[] = [];
    const logins = new Map<string, number>();
    for (const [i, acc] of (this.config.accounts ?? []).entries()) {
      const where = `accounts[${i}] (adapter "${acc.adapter}"${acc.label ? `, label "${acc.label}"` : ''})`;
      if (!this.registry.get(acc.adapter)) {
        problems.push(`${where}: adapter "${acc.adapter}" is not loaded`);
        continue;
      }
      const res = await this.registry.validateAccountOptions(acc.adapter, acc.options);
      if (!res.ok) {
        problems.push(...res.issues.map((x) => `${where}: options.${x.path}: ${x.message}`));
        continue;
      }
      // Two entries for one owner and one network login would be two clients fighting over it.
      const key = this.registry.loginKeyOf(acc.adapter, res.value);
      if (key === null) continue;
      const slot = `${acc.owner}\0${acc.adapter}\0${key}`;
      const first = logins.get(slot);
      if (first !== undefined)
        problems.push(
          `${where}: the same ${acc.adapter} login as accounts[${first}] for owner "${acc.owner}"`,
        );
      else logins.set(slot, i);
    }
    return problems;
  }

  private async applyConfigAccounts(): Promise<void> {
    for (const acc of this.config.accounts ?? []) {
      const owner = await this.ds.getRepository(User).findOne({ where: { username: acc.owner } });
      if (!owner) {
        this.log.warn('config account names an owner that does not exist yet; skipped', { owner: acc.owner });
        continue;
      }
      const res = await this.registry.validateAccountOptions(acc.adapter, acc.options);
      if (!res.ok) continue; // refused at boot already
      const { public: pub, secrets } = this.registry.splitSecrets(acc.adapter, res.value);
      const label = acc.label ?? null;
      const existing = await this.repo.findOne({
        where: { ownerId: owner.id, adapterId: acc.adapter, label: label === null ? IsNull() : label },
      });
      const sealed = Object.keys(secrets).length ? this.secrets.seal(JSON.stringify(secrets)) : null;
      const now = Date.now();
      if (existing) {
        await this.repo.update(
          { id: existing.id },
          patch<Account>({ options: pub, secrets: sealed, updatedAt: now }),
        );
      } else {
        await insertRow(this.ds.manager, Account, {
          id: randomUUID(),
          ownerId: owner.id,
          adapterId: acc.adapter,
          label,
          loginKey: null, // set by assignLoginKeys, which reports a login this user has already
          options: pub,
          secrets: sealed,
          enabled: true,
          state: 'connecting',
          stateMessage: null,
          createdAt: now,
          updatedAt: now,
        });
      }
    }
  }

  /**
   * At boot: each account's login key from its options as they are now (rows from before the rule, config
   * accounts whose options changed, an adapter that learned `loginKey`). Where two accounts of one user
   * share a login, the older keeps the key and the newer is reported at each boot; both still start, as
   * they did before the rule (removing one is the user's choice, not the gateway's).
   */
  private async assignLoginKeys(): Promise<void> {
    const rows = await this.repo.find({ order: { createdAt: 'ASC', id: 'ASC' } });
    const holder = new Map<string, Account>();
    const wanted = new Map<string, string | null>();
    for (const row of rows) {
      if (!this.registry.get(row.adapterId)) continue; // left as it is: nothing can read its options
      let key: string | null;
      try {
        key = this.registry.loginKeyOf(row.adapterId, this.fullOptions(row));
      } catch {
        key = null; // unreadable secrets: reported when the account fails to start
      }
      if (key !== null) {
        const slot = `${row.ownerId}\0${row.adapterId}\0${key}`;
        const first = holder.get(slot);
        if (first) {
          this.log.warn('two accounts of one user log in to the same network login; remove one', {
            account: row.id,
            sameAs: first.id,
            adapter: row.adapterId,
          });
          key = null;
        } else holder.set(slot, row);
      }
      if (key !== row.loginKey) wanted.set(row.id, key);
    }
    if (wanted.size === 0) return;
    // Cleared first, then set: a key moving from one row to another never meets itself in the index.
    await this.ds.transaction(async (m) => {
      for (const id of wanted.keys()) await m.update(Account, { id }, { loginKey: null });
      for (const [id, key] of wanted) if (key !== null) await m.update(Account, { id }, { loginKey: key });
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.supervisor.stopAll();
  }
}
