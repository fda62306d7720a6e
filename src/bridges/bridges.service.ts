import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, In, type EntityManager } from 'typeorm';
import { z } from 'zod';
import { ApiError } from '../api/api-error';
import type { AuthUser } from '../api/auth/auth.service';
import { insertRow } from '../common/db';
import { iso } from '../common/time';
import type { Logger } from '../common/logger';
import { bridgeProblems } from '../core/bridge-rules';
import { renderRelay } from '../core/bridge-format';
import { rewriteMentions, type BridgedSpeaker } from '../core/bridge-mentions';
import { BridgeSpeakers } from './bridge-speakers';
import type { ConversationId } from '../core/ids';
import { ClientEventsService } from '../events/client-events.service';
import { messageView } from '../messaging/message.view';
import { OutboxLanes } from '../messaging/outbox-lanes';
import { newMessageId } from '../messaging/message-id';
import { editJob, redactJob, sendJob, type OutboxJobSpec } from '../messaging/outbox.jobs';
import {
  Account,
  Bridge,
  BridgeMember,
  Conversation,
  Message,
  RelayLink,
  User,
  type BridgeSource,
  type MessageOrigin,
} from '../storage/entities';
import { DATA_SOURCE, LOGGER } from '../tokens';
import type { RemoteEventOf } from '../sdk';
import { MembershipRelay } from './membership-relay';

/** Bridge options (API body and config file alike). */
export const bridgeOptionsSchema = z.strictObject({
  /** Relay text per target network (adapter id) or `default`; placeholders {nick} {text} {network} {bridge}. */
  templates: z.record(z.string().min(1).max(64), z.string().min(1).max(200)).optional(),
  /** Post relays as notices (Matrix m.notice, IRC NOTICE): bots and clients treat them as not-human. */
  notice: z.boolean().optional(),
  /** Longest relayed text in characters (default 1,200 on IRC and SIP, 16,000 elsewhere); longer is cut. */
  maxLength: z.number().int().min(100).max(100_000).optional(),
  /**
   * Announce live joins, leaves (part, quit, kick, with the reason) and nick changes of one bridged
   * conversation in the others, as short notices (`* alice joined #chan (IRC)`); bursts such as a netsplit
   * are summarised in one line. Default off.
   */
  relayMembership: z.boolean().optional(),
});
export type BridgeOptions = z.infer<typeof bridgeOptionsSchema>;

export interface BridgeView {
  id: string;
  name?: string;
  conversations: string[];
  options: BridgeOptions;
  source: BridgeSource;
  createdAt: string;
}

/** What a relay left to do once its transaction committed: outbox jobs, and copies to show clients. */
export interface RelayWork {
  jobs: OutboxJobSpec[];
  copies: Message[];
}

const NO_WORK: RelayWork = { jobs: [], copies: [] };

/** How long a conversation's bridge topology is reused across batches. */
const TOPOLOGY_TTL_MS = 1000;

interface Topology {
  /** In creation order. */
  bridges: Bridge[];
  members: BridgeMember[];
  networkOf: (conversationId: string) => string;
}

/** What a batch of relays in one transaction reads once: bridge topology and user names. */
export interface RelayCache {
  topologies: Map<string, Promise<Topology | null>>;
  usernames: Map<string, string | undefined>;
}

export const newRelayCache = (): RelayCache => ({ topologies: new Map(), usernames: new Map() });

/**
 * Bridges: conversations on different networks whose messages are relayed to each other through the
 * user's account in each. A copy is written in the same transaction as the message it copies (so a crash
 * can lose neither one without the other), marked with its origin and linked in `relay_links`; copies are
 * never relayed again (loops are impossible), and the network's echo of a copy is recognised by its
 * transaction id, never by its text. Edits and deletions follow the links to every copy.
 */
@Injectable()
export class BridgesService {
  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly events: ClientEventsService,
    private readonly lanes: OutboxLanes,
  ) {}

  /** The `relayMembership` option's notices (ADR 0013). */
  private membershipRelay?: MembershipRelay;
  private get membership(): MembershipRelay {
    return (this.membershipRelay ??= new MembershipRelay(this.ds, this.logger, this.events, this.lanes));
  }

  /** A member event from ingest: a notice in the other conversations when a bridge relays membership. */
  noteMembership(account: { accountId: string; ownerId: string }, e: RemoteEventOf<'room.member'>) {
    return this.membership.note(account, e);
  }

  /** Membership notices a crash left held (their `membership_holds` rows) are written out at boot. */
  async onApplicationBootstrap(): Promise<void> {
    try {
      await this.membership.recover();
    } catch (err) {
      // Never stops a boot: the rows stay, and the next start tries again.
      this.logger.warn('could not write out held membership notices', { err: String(err) });
    }
  }

  /** Writes out the membership notices still held in a burst (while the database is still open). */
  async beforeApplicationShutdown(): Promise<void> {
    await this.membershipRelay?.drain();
  }

  // ---- the API ----

  async create(
    user: AuthUser,
    input: { conversations: string[]; name?: string; options?: unknown },
    source: BridgeSource = 'api',
  ): Promise<BridgeView> {
    const [problem] = bridgeProblems(input.conversations as ConversationId[]);
    if (problem) throw ApiError.validation(problem.message, [{ field: 'conversations' }]);
    const parsed = bridgeOptionsSchema.safeParse(input.options ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = ['options', ...(issue?.path ?? [])].join('.');
      throw ApiError.validation(`${field}: ${issue?.message ?? 'invalid'}`, [{ field }]);
    }
    const convs = await this.ds
      .getRepository(Conversation)
      .find({ where: { id: In(input.conversations), ownerId: user.id } });
    // Another user's conversation is reported like a missing one: ids do not leak.
    if (convs.length !== new Set(input.conversations).size) throw ApiError.notFound('conversation');
    const bridge: Bridge = {
      id: randomUUID(),
      ownerId: user.id,
      name: input.name ?? null,
      options: parsed.data,
      source,
      createdAt: Date.now(),
    };
    this.forgetTopologies();
    await this.ds.transaction(async (m) => {
      await insertRow(m, Bridge, bridge);
      for (const conversationId of input.conversations)
        await insertRow(m, BridgeMember, { bridgeId: bridge.id, conversationId });
    });
    this.forgetTopologies();
    const view = this.view(bridge, input.conversations);
    await this.events.publish(user.id, 'bridge.updated', view);
    this.logger.info('bridge created', {
      bridge: bridge.id,
      conversations: input.conversations.length,
      source,
    });
    return view;
  }

  async list(user: AuthUser): Promise<BridgeView[]> {
    const bridges = await this.ds
      .getRepository(Bridge)
      .find({ where: { ownerId: user.id }, order: { createdAt: 'ASC' } });
    const members = bridges.length
      ? await this.ds.getRepository(BridgeMember).find({ where: { bridgeId: In(bridges.map((b) => b.id)) } })
      : [];
    return bridges.map((b) =>
      this.view(
        b,
        members.filter((x) => x.bridgeId === b.id).map((x) => x.conversationId),
      ),
    );
  }

  /** The user's bridge; an admin may reach anyone's (to change or remove it). */
  private async reachable(user: AuthUser, id: string): Promise<Bridge> {
    const bridge = await this.ds.getRepository(Bridge).findOne({ where: { id } });
    if (!bridge || (bridge.ownerId !== user.id && !user.isAdmin)) throw ApiError.notFound('bridge');
    return bridge;
  }

  async get(user: AuthUser, id: string): Promise<BridgeView> {
    const bridge = await this.reachable(user, id);
    const members = await this.ds.getRepository(BridgeMember).find({ where: { bridgeId: id } });
    return this.view(
      bridge,
      members.map((x) => x.conversationId),
    );
  }

  async remove(user: AuthUser, id: string): Promise<void> {
    const bridge = await this.reachable(user, id);
    const { affected } = await this.ds.getRepository(Bridge).delete({ id });
    // Two removals at once both found it: only the one that deleted it succeeds (and announces it).
    if (!affected) throw ApiError.notFound('bridge');
    this.forgetTopologies();
    await this.events.publish(bridge.ownerId, 'bridge.updated', { id, removed: true });
  }

  private view(b: Bridge, conversations: string[]): BridgeView {
    return {
      id: b.id,
      ...(b.name ? { name: b.name } : {}),
      conversations,
      options: b.options,
      source: b.source,
      createdAt: iso(b.createdAt),
    };
  }

  // ---- relaying (called inside the transaction that stored the message) ----

  /** Who spoke lately in each bridged conversation: the names a relayed mention can mean (ADR 0011). */
  private readonly speakers = new BridgeSpeakers();

  /**
   * The source's text and HTML with its mentions in the target's form (a Matrix pill, an IRC nick); the
   * body unchanged when there are none. Never stops a relay: a failure here relays the text as written.
   */
  private withMentions(
    msg: Pick<Message, 'id' | 'text' | 'html'>,
    sourceNetwork: string,
    target: { conversationId: string; network: string },
    speakers: readonly BridgedSpeaker[],
  ): { text: string; html: string | null } {
    try {
      const r = rewriteMentions({ text: msg.text, html: msg.html }, sourceNetwork, target, speakers);
      if (r) return { text: r.text, html: r.html };
    } catch (err) {
      this.logger.warn('mentions not rewritten', { message: msg.id, error: String(err) });
    }
    return { text: msg.text, html: msg.html };
  }

  /**
   * Writes the copies of a new message into every conversation its conversation is bridged to. `origin`
   * messages (copies) are never relayed; neither are the user's own messages that come back from a network
   * without a matching transaction (they may be our own relay that a network echoed without its id).
   */
  async relayNew(
    m: EntityManager,
    msg: Message,
    opts: { backfill?: boolean; cache?: RelayCache } = {},
  ): Promise<RelayWork> {
    if (msg.origin || msg.deleted) return NO_WORK;
    const topo = await this.topology(m, msg.conversationId, opts.cache);
    if (!topo) return NO_WORK;
    const { bridges, members, networkOf } = topo;
    const sourceNetwork = networkOf(msg.conversationId);
    // The user's own message (sent through the API) is signed with their user name, not an account label.
    const nick = msg.self
      ? ((await this.username(m, msg.ownerId, opts.cache)) ?? msg.senderName)
      : msg.senderName;
    const work: RelayWork = { jobs: [], copies: [] };
    const done = new Set<string>([msg.conversationId]);
    await this.speakers.saw(m, msg);
    // Bridges in creation order; a target reached through two bridges gets one copy (the first bridge's).
    for (const bridge of bridges) {
      if (bridge.ownerId !== msg.ownerId) continue;
      // Replayed history from before the bridge existed is not the bridge's to relay.
      if (opts.backfill && msg.sentAt < bridge.createdAt) continue;
      const options = bridge.options as BridgeOptions;
      const bridgeMembers = members.filter((x) => x.bridgeId === bridge.id);
      const speakers = await this.speakers.of(
        m,
        bridgeMembers.map((x) => x.conversationId),
        networkOf,
      );
      for (const member of bridgeMembers) {
        if (done.has(member.conversationId)) continue;
        done.add(member.conversationId);
        const target = networkOf(member.conversationId);
        const body = this.withMentions(
          msg,
          sourceNetwork,
          { conversationId: member.conversationId, network: target },
          speakers,
        );
        const rendered = renderRelay(
          {
            nick,
            text: body.text,
            html: body.html,
            kind: msg.kind,
            network: sourceNetwork,
            bridgeName: bridge.name,
            attachments: msg.attachments,
          },
          target,
          options.templates,
          options.maxLength,
        );
        const origin: MessageOrigin = {
          bridgeId: bridge.id,
          conversationId: msg.conversationId,
          messageId: msg.id,
          nick,
        };
        const copy = m.create(Message, {
          id: newMessageId(),
          ownerId: msg.ownerId,
          conversationId: member.conversationId,
          senderEndpointId: null,
          senderName: nick,
          self: true,
          kind: options.notice ? 'notice' : 'text',
          text: rendered.text,
          html: rendered.html ?? null,
          replyToId: msg.replyToId ? await this.copyIn(m, msg.replyToId, member.conversationId) : null,
          editedAt: null,
          deleted: false,
          // The source's files: the outbox fetches, checks and links them when it sends the copy (ADR 0014).
          attachments: msg.attachments?.length ? msg.attachments : null,
          sentAt: Date.now(),
          status: 'queued',
          failReason: null,
          clientId: null,
          transactionId: randomUUID(),
          origin,
        });
        await insertRow(m, Message, copy);
        await insertRow(m, RelayLink, {
          id: randomUUID(),
          ownerId: msg.ownerId,
          bridgeId: bridge.id,
          sourceMessageId: msg.id,
          copyMessageId: copy.id,
          targetConversationId: member.conversationId,
          createdAt: Date.now(),
        });
        work.copies.push(copy);
        work.jobs.push(sendJob(copy.id, member.conversationId));
      }
    }
    return work;
  }

  /**
   * The bridges a conversation is in, their members and each member's network: read once per ingest batch
   * (`cache`, which lives for one transaction, so a bridge changed meanwhile is seen by the next batch).
   */
  private topology(m: EntityManager, conversationId: string, cache?: RelayCache): Promise<Topology | null> {
    const hit = cache?.topologies.get(conversationId);
    if (hit) return hit;
    // Also kept for a moment across batches (a busy room's messages arrive in many small batches);
    // creating or removing a bridge here clears it, and anything else is seen within TOPOLOGY_TTL_MS.
    const recent = this.recentTopologies.get(conversationId);
    if (recent && Date.now() - recent.at < TOPOLOGY_TTL_MS) {
      cache?.topologies.set(conversationId, Promise.resolve(recent.topology));
      return Promise.resolve(recent.topology);
    }
    const generation = this.topologyGeneration;
    const p = this.loadTopology(m, conversationId).then((topology) => {
      if (generation === this.topologyGeneration)
        this.recentTopologies.set(conversationId, { topology, at: Date.now() });
      return topology;
    });
    cache?.topologies.set(conversationId, p);
    return p;
  }

  private readonly recentTopologies = new Map<string, { topology: Topology | null; at: number }>();
  private topologyGeneration = 0;

  private forgetTopologies(): void {
    this.topologyGeneration++;
    this.recentTopologies.clear();
  }

  private async loadTopology(m: EntityManager, conversationId: string): Promise<Topology | null> {
    const memberships = await m.find(BridgeMember, { where: { conversationId } });
    if (memberships.length === 0) return null;
    const bridges = await m.find(Bridge, { where: { id: In(memberships.map((x) => x.bridgeId)) } });
    const members = await m.find(BridgeMember, { where: { bridgeId: In(bridges.map((b) => b.id)) } });
    const convIds = [...new Set(members.map((x) => x.conversationId))];
    const convs = await m.find(Conversation, { where: { id: In(convIds) } });
    const accounts = await m.find(Account, {
      where: { id: In([...new Set(convs.map((c) => c.accountId))]) },
      select: { id: true, adapterId: true },
    });
    const network = new Map(
      convs.map((c) => [c.id, accounts.find((a) => a.id === c.accountId)?.adapterId ?? 'unknown']),
    );
    return {
      bridges: bridges.sort((a, b) => a.createdAt - b.createdAt),
      members,
      networkOf: (convId) => network.get(convId) ?? 'unknown',
    };
  }

  private async username(m: EntityManager, userId: string, cache?: RelayCache): Promise<string | undefined> {
    if (cache?.usernames.has(userId)) return cache.usernames.get(userId);
    const name = (await m.findOne(User, { where: { id: userId }, select: { username: true } }))?.username;
    cache?.usernames.set(userId, name);
    return name;
  }

  /**
   * The message `messageId` as seen in `conversationId`: itself when it is there, else its copy there, or
   * the copy of its original when it is itself a copy (a reply to a relayed message maps to the original).
   */
  private async copyIn(m: EntityManager, messageId: string, conversationId: string): Promise<string | null> {
    const msg = await m.findOne(Message, {
      where: { id: messageId },
      select: { id: true, conversationId: true },
    });
    if (!msg) return null;
    if (msg.conversationId === conversationId) return msg.id;
    const link = await m.findOne(RelayLink, { where: { copyMessageId: messageId } });
    const original = link?.sourceMessageId ?? messageId;
    const orig = await m.findOne(Message, {
      where: { id: original },
      select: { id: true, conversationId: true },
    });
    if (orig?.conversationId === conversationId) return orig.id;
    const copy = await m.findOne(RelayLink, {
      where: { sourceMessageId: original, targetConversationId: conversationId },
    });
    return copy?.copyMessageId ?? null;
  }

  /** An edit of a relayed message: each copy gets the new text, and the network an edit (or its fallback). */
  async relayEdit(m: EntityManager, source: Message): Promise<RelayWork> {
    const links = await m.find(RelayLink, { where: { sourceMessageId: source.id } });
    const work: RelayWork = { jobs: [], copies: [] };
    for (const link of links) {
      const copy = await m.findOne(Message, { where: { id: link.copyMessageId } });
      const bridge = await m.findOne(Bridge, { where: { id: link.bridgeId } });
      if (!copy || copy.deleted) continue;
      const conv = await m.findOne(Conversation, { where: { id: copy.conversationId } });
      const account = conv ? await m.findOne(Account, { where: { id: conv.accountId } }) : null;
      const sourceConv = await m.findOne(Conversation, { where: { id: source.conversationId } });
      const sourceAccount = sourceConv
        ? await m.findOne(Account, { where: { id: sourceConv.accountId } })
        : null;
      // The corrected text's mentions, as the copy's were.
      const topo = await this.topology(m, source.conversationId);
      const speakers = topo
        ? await this.speakers.of(
            m,
            topo.members.filter((x) => x.bridgeId === link.bridgeId).map((x) => x.conversationId),
            topo.networkOf,
          )
        : [];
      const body = this.withMentions(
        source,
        sourceAccount?.adapterId ?? 'unknown',
        { conversationId: copy.conversationId, network: account?.adapterId ?? 'unknown' },
        speakers,
      );
      const rendered = renderRelay(
        {
          nick: typeof copy.origin?.nick === 'string' ? copy.origin.nick : source.senderName,
          text: body.text,
          html: body.html,
          kind: source.kind,
          network: sourceAccount?.adapterId ?? 'unknown',
          bridgeName: bridge?.name ?? null,
          attachments: source.attachments,
        },
        account?.adapterId ?? 'unknown',
        (bridge?.options as BridgeOptions | undefined)?.templates,
        (bridge?.options as BridgeOptions | undefined)?.maxLength,
      );
      const editedAt = source.editedAt ?? Date.now();
      await m.update(
        Message,
        { id: copy.id },
        { text: rendered.text, html: rendered.html ?? null, editedAt },
      );
      const updated = { ...copy, text: rendered.text, html: rendered.html ?? null, editedAt };
      work.copies.push(updated);
      // A copy still queued goes out with the new text; one already sent gets an edit of its own.
      if (copy.status !== 'queued')
        work.jobs.push(editJob(copy.id, copy.conversationId, rendered.text, editedAt, rendered.html));
    }
    return work;
  }

  /** A deletion of a relayed message: each copy is deleted, natively where the network can. */
  async relayRedact(m: EntityManager, source: Message): Promise<RelayWork> {
    const links = await m.find(RelayLink, { where: { sourceMessageId: source.id } });
    const work: RelayWork = { jobs: [], copies: [] };
    for (const link of links) {
      const copy = await m.findOne(Message, { where: { id: link.copyMessageId } });
      if (!copy || copy.deleted) continue;
      await m.update(Message, { id: copy.id }, { deleted: true, text: '', html: null });
      work.copies.push({ ...copy, deleted: true, text: '', html: null });
      if (copy.status !== 'queued') work.jobs.push(redactJob(copy.id, copy.conversationId));
    }
    return work;
  }

  /**
   * After the commit: the outbox jobs (dedupe by id makes a repeat harmless) and the copies shown to the
   * user's clients. Copies whose jobs are lost to a crash here are still `queued`: the outbox sweep sends them.
   */
  async dispatch(work: RelayWork, event: 'message.received' | 'message.updated'): Promise<void> {
    if (work.jobs.length) await this.lanes.enqueue(work.jobs);
    for (const copy of work.copies) await this.events.publish(copy.ownerId, event, messageView(copy));
  }

  /** The copies of `messageId` still waiting to be sent, as jobs: for a redelivered ingest job. */
  async pendingCopies(m: EntityManager, messageId: string): Promise<RelayWork> {
    const links = await m.find(RelayLink, { where: { sourceMessageId: messageId } });
    if (!links.length) return NO_WORK;
    const queued = await m.find(Message, {
      where: { id: In(links.map((l) => l.copyMessageId)), status: 'queued' },
      select: { id: true, conversationId: true },
    });
    return { jobs: queued.map((c) => sendJob(c.id, c.conversationId)), copies: [] };
  }
}
