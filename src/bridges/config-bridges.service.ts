import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource, In } from 'typeorm';
import { AccountsService } from '../accounts/accounts.service';
import type { AppConfig } from '../config';
import type { Logger } from '../common/logger';
import { insertRow } from '../common/db';
import { ConversationsService } from '../messaging/conversations.service';
import { Account, Bridge, BridgeMember, User } from '../storage/entities';
import { CONFIG, DATA_SOURCE, LOGGER } from '../tokens';
import { BridgesService, bridgeOptionsSchema } from './bridges.service';

/** How often bridges from the config file are checked while some of their rooms are not joined yet. */
const RETRY_MS = 5000;

/**
 * Bridges declared in the config file. Each names its rooms by account label and room address; the rooms
 * are joined once their accounts are connected, so reconciliation runs at boot and again until every
 * config bridge is complete. A config bridge is keyed by its name (or its place in the list); its members
 * follow the file, and a config bridge that left the file is removed. API bridges are never touched.
 */
@Injectable()
export class ConfigBridgesService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Problems already logged: a pass runs every few seconds until the bridges are complete. */
  private readonly warned = new Set<string>();

  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly accounts: AccountsService,
    private readonly conversations: ConversationsService,
    private readonly bridges: BridgesService,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule(0);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.reconcile()
        .then((complete) => {
          if (!complete) this.schedule(RETRY_MS);
        })
        .catch((err: unknown) => {
          this.logger.warn('config bridges: reconciliation failed; retrying', { error: String(err) });
          this.schedule(RETRY_MS);
        });
    }, ms);
    this.timer.unref();
  }

  /** One pass; true when every config bridge has all its rooms. */
  async reconcile(): Promise<boolean> {
    let complete = true;
    const keys = new Set<string>();
    for (const [i, spec] of this.config.bridges.entries()) {
      const key = spec.name ?? `config bridge ${i + 1}`;
      keys.add(key);
      const where = `bridges[${i}]`;
      const options = bridgeOptionsSchema.safeParse(spec.options);
      if (!options.success) {
        this.warnOnce(`config bridges: ${where}.options is invalid; bridge skipped`, {
          error: options.error.issues[0]?.message,
        });
        continue;
      }
      const conversationIds: string[] = [];
      let ownerId: string | undefined;
      let resolved = true;
      for (const [j, member] of spec.conversations.entries()) {
        const account = await this.ds.getRepository(Account).findOne({ where: { label: member.account } });
        if (!account) {
          this.warnOnce(
            `config bridges: ${where}.conversations[${j}].account names no account labelled "${member.account}"`,
          );
          complete = resolved = false;
          continue;
        }
        if (ownerId !== undefined && account.ownerId !== ownerId) {
          this.warnOnce(
            `config bridges: ${where}.conversations[${j}] is another user's account; a bridge links one user's rooms`,
          );
          continue;
        }
        ownerId = account.ownerId;
        if (!this.accounts.connectedClient(account.id)) {
          complete = resolved = false; // joined when the account is up
          continue;
        }
        try {
          const conv = await this.conversations.open(account.ownerId, {
            accountId: account.id,
            address: member.room,
          });
          conversationIds.push(conv.id);
        } catch (err) {
          complete = resolved = false;
          this.warnOnce(`config bridges: could not join ${where}.conversations[${j}] (${member.room})`, {
            error: String(err),
          });
        }
      }
      if (ownerId === undefined || conversationIds.length < 2) continue;
      await this.upsert(ownerId, key, conversationIds, options.data, resolved);
    }
    // Config bridges that left the file.
    const stale = await this.ds.getRepository(Bridge).find({ where: { source: 'config' } });
    for (const b of stale)
      if (!keys.has(b.name ?? '')) {
        await this.ds.getRepository(Bridge).delete({ id: b.id });
        this.logger.info('config bridges: removed a bridge no longer in the config file', { name: b.name });
      }
    return complete;
  }

  private warnOnce(message: string, fields?: Record<string, unknown>): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.logger.warn(message, fields);
  }

  /** Creates the bridge, or brings its members in line: rooms are removed only on a pass that saw them all. */
  private async upsert(
    ownerId: string,
    name: string,
    conversationIds: string[],
    options: object,
    allResolved: boolean,
  ): Promise<void> {
    const existing = await this.ds
      .getRepository(Bridge)
      .findOne({ where: { source: 'config', name, ownerId } });
    if (!existing) {
      const owner = await this.ds.getRepository(User).findOneOrFail({ where: { id: ownerId } });
      await this.bridges.create(
        { id: owner.id, username: owner.username, isAdmin: owner.isAdmin },
        { conversations: conversationIds, name, options },
        'config',
      );
      return;
    }
    await this.ds.transaction(async (m) => {
      await m.update(Bridge, { id: existing.id }, { options });
      const members = await m.find(BridgeMember, { where: { bridgeId: existing.id } });
      const have = new Set(members.map((x) => x.conversationId));
      for (const id of conversationIds)
        if (!have.has(id)) await insertRow(m, BridgeMember, { bridgeId: existing.id, conversationId: id });
      const gone = members
        .filter((x) => !conversationIds.includes(x.conversationId))
        .map((x) => x.conversationId);
      if (allResolved && gone.length)
        await m.delete(BridgeMember, { bridgeId: existing.id, conversationId: In(gone) });
    });
  }
}
