import { createHash, randomUUID } from 'node:crypto';
import { DataSource, In, type EntityManager } from 'typeorm';
import { insertRow } from '../common/db';
import type { Logger } from '../common/logger';
import {
  MembershipCoalescer,
  summarizeMemberChanges,
  type MemberChange,
  type MemberChangeKind,
} from '../core/bridge-membership';
import type { ClientEventsService } from '../events/client-events.service';
import { messageView } from '../messaging/message.view';
import { newMessageId } from '../messaging/message-id';
import type { OutboxLanes } from '../messaging/outbox-lanes';
import { sendJob, type OutboxJobSpec } from '../messaging/outbox.jobs';
import type { RemoteEventOf } from '../sdk';
import {
  Account,
  Bridge,
  BridgeMember,
  Conversation,
  MembershipHold,
  Message,
  type MessageOrigin,
} from '../storage/entities';

/** A burst of changes in one conversation ends after this long without another. */
const QUIET_MS = 1000;
/** A burst that goes on is written out at least this often. */
const MAX_DELAY_MS = 5000;

interface HeldChange extends MemberChange {
  ownerId: string;
  /** Its `membership_holds` row, deleted with the notice's messages. */
  holdId: string;
}

/** Rows deleted per statement (bound parameters stay far below SQLite's limit in a huge netsplit). */
const DELETE_CHUNK = 500;

/** `relayMembership` is on: read without trusting the stored JSON's shape. */
const relaysMembership = (b: Bridge): boolean =>
  (b.options as { relayMembership?: unknown } | null)?.relayMembership === true;

/**
 * The `relayMembership` bridge option: live joins, leaves, kicks and nick changes in one bridged
 * conversation become a notice in the others (ADR 0013). Listings (IRC NAMES, a MUC's initial presences,
 * a Matrix initial sync or gap) and our own account's changes never do. Bursts are coalesced per source
 * conversation (`MembershipCoalescer`: a netsplit is one line). A notice is a bridge copy like any other:
 * a `queued` message with an `origin`, sent through the outbox lanes, whose echo is dropped as our own.
 * Each change is written to `membership_holds` before ingest's job for it completes, and the rows are
 * deleted in the transaction that writes the notice: what a crash (even SIGKILL) leaves held is announced
 * at the next boot (`recover`, one coalesced notice per conversation), exactly once. The coalescing timers
 * themselves live in memory; the table is what makes them safe to lose.
 */
export class MembershipRelay {
  private readonly coalescer = new MembershipCoalescer<HeldChange>(
    (conversationId, changes) => this.enqueueFlush(conversationId, changes),
    { quietMs: QUIET_MS, maxDelayMs: MAX_DELAY_MS },
  );
  /** One conversation's notices are written in order. */
  private chain: Promise<void> = Promise.resolve();
  /** Hold rows this process noted and has not written out: never recovered from under the coalescer. */
  private readonly mine = new Set<string>();
  /** The last `notedAt` given: strictly increasing, so rows of one millisecond keep their order. */
  private lastNotedAt = 0;

  constructor(
    private readonly ds: DataSource,
    private readonly logger: Logger,
    private readonly events: ClientEventsService,
    private readonly lanes: OutboxLanes,
  ) {}

  /** A member event from ingest. Never throws: a notice that cannot be written is logged and dropped. */
  async note(
    account: { accountId: string; ownerId: string },
    e: RemoteEventOf<'room.member'>,
  ): Promise<void> {
    const change = memberChange(e);
    if (!change) return;
    try {
      const conv = await this.ds.getRepository(Conversation).findOne({
        where: { accountId: account.accountId, remoteId: e.roomId },
        select: { id: true },
      });
      if (!conv) return;
      const bridges = await this.bridgesOf(conv.id, account.ownerId);
      if (bridges.length === 0) return;
      // Durable before ingest's job completes, so a crash from here on cannot lose the notice.
      const hold: MembershipHold = {
        id: holdId(conv.id, e),
        ownerId: account.ownerId,
        conversationId: conv.id,
        change: { ...change },
        notedAt: (this.lastNotedAt = Math.max(Date.now(), this.lastNotedAt + 1)),
      };
      // An ingest job redelivered after a crash finds its change already held: recover() announces it.
      const fresh = await this.ds.transaction(async (m) => {
        if (await m.exists(MembershipHold, { where: { id: hold.id } })) return false;
        await insertRow(m, MembershipHold, hold);
        return true;
      });
      if (!fresh) return;
      this.mine.add(hold.id);
      this.coalescer.add(conv.id, { ...change, ownerId: account.ownerId, holdId: hold.id });
    } catch (err) {
      this.logger.warn('could not relay a membership change', {
        account: account.accountId,
        err: String(err),
      });
    }
  }

  /** Writes out what is held (at shutdown). */
  async drain(): Promise<void> {
    this.coalescer.drain();
    await this.chain;
  }

  /**
   * At boot: the changes a previous process held when it stopped without writing them (a crash), as one
   * coalesced notice per conversation, in the order they were noted. Returns how many changes it found.
   */
  async recover(): Promise<number> {
    const rows = (
      await this.ds.getRepository(MembershipHold).find({ order: { notedAt: 'ASC', id: 'ASC' } })
    ).filter((r) => !this.mine.has(r.id));
    const byConversation = new Map<string, HeldChange[]>();
    const unreadable: string[] = [];
    for (const r of rows) {
      const change = storedChange(r.change);
      if (!change) {
        unreadable.push(r.id);
        continue;
      }
      const list = byConversation.get(r.conversationId) ?? [];
      list.push({ ...change, ownerId: r.ownerId, holdId: r.id });
      byConversation.set(r.conversationId, list);
    }
    if (unreadable.length) {
      this.logger.warn('membership holds that are not a change were dropped', { count: unreadable.length });
      await this.ds.transaction((m) => deleteHolds(m, unreadable));
    }
    for (const [conversationId, changes] of byConversation) this.enqueueFlush(conversationId, changes);
    if (rows.length)
      this.logger.info('membership notices held at the last stop are written out', {
        changes: rows.length,
        conversations: byConversation.size,
      });
    await this.chain;
    return rows.length;
  }

  private async bridgesOf(conversationId: string, ownerId: string): Promise<Bridge[]> {
    const memberships = await this.ds.getRepository(BridgeMember).find({ where: { conversationId } });
    if (memberships.length === 0) return [];
    const bridges = await this.ds
      .getRepository(Bridge)
      .find({ where: { id: In(memberships.map((x) => x.bridgeId)), ownerId }, order: { createdAt: 'ASC' } });
    return bridges.filter(relaysMembership);
  }

  private enqueueFlush(conversationId: string, changes: HeldChange[]): void {
    this.chain = this.chain
      .then(() => this.flush(conversationId, changes))
      .catch((err: unknown) =>
        this.logger.warn('could not write membership notices', {
          conversation: conversationId,
          count: changes.length,
          err: String(err),
        }),
      );
  }

  private async flush(conversationId: string, changes: HeldChange[]): Promise<void> {
    const ownerId = changes[0]?.ownerId;
    if (ownerId === undefined) return;
    const copies: Message[] = [];
    const jobs: OutboxJobSpec[] = [];
    await this.ds.transaction(async (m) => {
      // Gone with the notice's messages, or with nothing when the bridge went meanwhile: never twice.
      await deleteHolds(
        m,
        changes.map((c) => c.holdId),
      );
      const source = await m.findOne(Conversation, { where: { id: conversationId } });
      if (!source) return;
      // Read again at flush time: a bridge removed or changed meanwhile is respected.
      const memberships = await m.find(BridgeMember, { where: { conversationId } });
      if (memberships.length === 0) return;
      const bridges = (
        await m.find(Bridge, {
          where: { id: In(memberships.map((x) => x.bridgeId)), ownerId },
          order: { createdAt: 'ASC' },
        })
      ).filter(relaysMembership);
      if (bridges.length === 0) return;
      const members = await m.find(BridgeMember, { where: { bridgeId: In(bridges.map((b) => b.id)) } });
      const account = await m.findOne(Account, {
        where: { id: source.accountId },
        select: { adapterId: true },
      });
      const network = account?.adapterId ?? 'unknown';
      const lines = summarizeMemberChanges(changes, {
        room: source.title ?? source.remoteId,
        network,
      });
      const done = new Set<string>([conversationId]);
      for (const bridge of bridges) {
        for (const member of members.filter((x) => x.bridgeId === bridge.id)) {
          if (done.has(member.conversationId)) continue;
          done.add(member.conversationId);
          for (const text of lines) {
            const origin: MessageOrigin = {
              bridgeId: bridge.id,
              conversationId,
              // No source message: a membership notice stands for a change, not a message.
              messageId: `membership:${randomUUID()}`,
              membership: true,
            };
            const copy = m.create(Message, {
              id: newMessageId(),
              ownerId,
              conversationId: member.conversationId,
              senderEndpointId: null,
              senderName: bridge.name ?? 'bridge',
              self: true,
              kind: 'notice',
              text,
              html: null,
              replyToId: null,
              editedAt: null,
              deleted: false,
              attachments: null,
              sentAt: Date.now(),
              status: 'queued',
              failReason: null,
              clientId: null,
              transactionId: randomUUID(),
              origin,
            });
            await insertRow(m, Message, copy);
            copies.push(copy);
            jobs.push(sendJob(copy.id, member.conversationId));
          }
        }
      }
    });
    for (const c of changes) this.mine.delete(c.holdId);
    if (jobs.length) await this.lanes.send(jobs);
    for (const copy of copies) await this.events.publish(copy.ownerId, 'message.received', messageView(copy));
  }
}

/**
 * The change a member event announces, or none: only live changes of others are announced (not a listing,
 * not our own account, not an invite), and a rename once (on its `join` half).
 */
export function memberChange(e: RemoteEventOf<'room.member'>): MemberChange | undefined {
  if (e.live !== true || e.self === true) return undefined;
  const name = e.displayName ?? e.userId;
  if (e.rename) {
    if (e.membership !== 'join' || e.rename.from === e.rename.to) return undefined;
    return { kind: 'rename', name: e.rename.from, newName: e.rename.to };
  }
  switch (e.membership) {
    case 'invite':
      return undefined;
    case 'join':
      return { kind: 'join', name };
    case 'leave':
      return {
        kind: 'leave',
        name,
        ...(e.reason ? { reason: e.reason } : {}),
        ...(e.quit ? { quit: true } : {}),
      };
    case 'kick':
    case 'ban':
      return { kind: e.membership, name, ...(e.reason ? { reason: e.reason } : {}) };
  }
}

/**
 * A held change's row id, the same for the same event: a redelivered ingest job (the gateway died after the
 * row committed, before the job was done) is recognised instead of announced twice. UUID-shaped.
 */
export function holdId(conversationId: string, e: RemoteEventOf<'room.member'>): string {
  const h = createHash('sha256')
    .update(
      JSON.stringify([
        conversationId,
        e.at,
        e.userId,
        e.membership,
        e.rename?.from ?? null,
        e.rename?.to ?? null,
      ]),
    )
    .digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

async function deleteHolds(m: EntityManager, ids: readonly string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += DELETE_CHUNK)
    await m.delete(MembershipHold, { id: In(ids.slice(i, i + DELETE_CHUNK)) });
}

const CHANGE_KINDS: ReadonlySet<string> = new Set(['join', 'leave', 'kick', 'ban', 'rename']);

/** A `membership_holds` row's change, read without trusting the stored JSON's shape. */
export function storedChange(v: unknown): MemberChange | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.kind !== 'string' || !CHANGE_KINDS.has(o.kind) || typeof o.name !== 'string') return undefined;
  return {
    kind: o.kind as MemberChangeKind,
    name: o.name,
    ...(typeof o.newName === 'string' ? { newName: o.newName } : {}),
    ...(typeof o.reason === 'string' ? { reason: o.reason } : {}),
    ...(o.quit === true ? { quit: true } : {}),
  };
}
