import { randomUUID } from 'node:crypto';
import { DataSource, In } from 'typeorm';
import { insertRow } from '../common/db';
import type { Logger } from '../common/logger';
import { MembershipCoalescer, summarizeMemberChanges, type MemberChange } from '../core/bridge-membership';
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
  Message,
  type MessageOrigin,
} from '../storage/entities';

/** A burst of changes in one conversation ends after this long without another. */
const QUIET_MS = 1000;
/** A burst that goes on is written out at least this often. */
const MAX_DELAY_MS = 5000;

interface HeldChange extends MemberChange {
  ownerId: string;
}

/** `relayMembership` is on: read without trusting the stored JSON's shape. */
const relaysMembership = (b: Bridge): boolean =>
  (b.options as { relayMembership?: unknown } | null)?.relayMembership === true;

/**
 * The `relayMembership` bridge option: live joins, leaves, kicks and nick changes in one bridged
 * conversation become a notice in the others (ADR 0013). Listings (IRC NAMES, a MUC's initial presences,
 * a Matrix initial sync or gap) and our own account's changes never do. Bursts are coalesced per source
 * conversation (`MembershipCoalescer`: a netsplit is one line). A notice is a bridge copy like any other:
 * a `queued` message with an `origin`, sent through the outbox lanes, whose echo is dropped as our own.
 * Held changes live in memory for at most a few seconds: a crash in that window loses those notices,
 * never a message.
 */
export class MembershipRelay {
  private readonly coalescer = new MembershipCoalescer<HeldChange>(
    (conversationId, changes) => this.enqueueFlush(conversationId, changes),
    { quietMs: QUIET_MS, maxDelayMs: MAX_DELAY_MS },
  );
  /** One conversation's notices are written in order. */
  private chain: Promise<void> = Promise.resolve();

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
      this.coalescer.add(conv.id, { ...change, ownerId: account.ownerId });
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
