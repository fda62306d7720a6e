import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import type { AppConfig } from '../config';
import type { Logger } from '../common/logger';
import { ClientEventsService } from '../events/client-events.service';
import { BatchFailure, type JobSpec, type QueuePort } from '../queue';
import { toHtml, toPlainText, type RemoteEvent, type RemoteEventOf } from '../sdk';
import { Account, Conversation, Endpoint, Message, MessageRemoteId, Person } from '../storage/entities';
import { insertRow } from '../common/db';
import { selectRows, selectValue, updateById } from '../storage/bulk-insert';
import { transactionCommitted } from '../storage/database';
import { CONFIG, DATA_SOURCE, LOGGER, QUEUE } from '../tokens';
import { toMs } from '../common/time';
import { findOrCreateConversation } from './conversation.store';
import { messageView } from './message.view';
import { INGEST_QUEUE, type AccountRef } from './queues';
import { IngestBatcher } from './ingest-batcher';
import { ingestRosterEvents, isRosterEvent, newEndpoint, type RosterEvent } from '../roster/roster-ingest';
import { BridgesService, newRelayCache, type RelayCache } from '../bridges/bridges.service';
import type { ClientEventType } from '../events/client-event.types';
import type { OutboxJobSpec } from './outbox.jobs';
import { OutboxLanes } from './outbox-lanes';
import { newMessageId } from './message-id';
import { OwnSends } from './own-sends';
import { RelayClock } from './relay-clock';

/** One event, or a run of one account's roster events (contacts, presence) handled together. */
type IngestJob = { account: AccountRef; event: RemoteEvent } | { account: AccountRef; events: RosterEvent[] };

/** Roster events per batch job. */
const ROSTER_BATCH = 1000;

/** What one transaction of message events keeps between its events, and leaves to do after the commit. */
interface MessageBatch {
  account: AccountRef;
  /** By room id. */
  convs: Map<string, Conversation>;
  /** Conversations whose last message and unread count are written once, at the end. */
  touched: Map<string, { conv: Conversation; at: string }>;
  /** By address. */
  endpoints: Map<string, Endpoint>;
  /** `roomId \0 remoteId` → message id of what this batch wrote: repeats and replies within it, without a query. */
  remoteIds: Map<string, string>;
  relayCache: RelayCache;
  events: { type: ClientEventType; data: unknown }[];
  jobs: OutboxJobSpec[];
}

/** The durable dedupe key of an event: a message is the same message however often the network repeats it. */
export function ingestJobId(accountId: string, event: RemoteEvent): string {
  switch (event.type) {
    case 'message':
      return `msg:${accountId}:${event.roomId}:${event.messageId}`;
    case 'message.edit':
      return `edit:${accountId}:${event.roomId}:${event.editId ?? hash(event.messageId + '\0' + event.text + event.at)}`;
    case 'message.redact':
      return `redact:${accountId}:${event.roomId}:${event.messageId}`;
    default:
      return `${event.type}:${accountId}:${randomUUID()}`;
  }
}

function hash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 32);
}

/** Per-conversation ordering: events of one room go through one group; account-wide events share another. */
function groupOf(accountId: string, event: RemoteEvent): string {
  return 'roomId' in event && event.roomId ? `${accountId}:${event.roomId}` : `${accountId}:*`;
}

/**
 * The one entry point for everything that arrives from a network (architecture: RemoteEvent → ingest
 * queue). `accept` resolves once the event is durably queued; the worker turns it into stored state
 * and client events, idempotently (redelivery after a crash changes nothing).
 */
@Injectable()
export class IngestService implements OnApplicationBootstrap {
  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(QUEUE) private readonly queue: QueuePort,
    @Inject(CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly events: ClientEventsService,
    private readonly bridges: BridgesService,
    private readonly ownSends: OwnSends,
    private readonly lanes: OutboxLanes,
    private readonly relayClock: RelayClock,
  ) {}

  /** Where call signalling goes (the calls module sets it); calls keep their own state. */
  callSignalSink?: (account: AccountRef, event: RemoteEventOf<'call.signal'>) => Promise<void>;

  async onApplicationBootstrap(): Promise<void> {
    await this.queue.processBatches<IngestJob>(
      INGEST_QUEUE,
      (jobs) => this.handleBatch(jobs.map((j) => j.data)),
      {
        concurrency: this.config.queue.concurrency,
      },
    );
  }

  /**
   * A group's waiting jobs (one room's backlog): consecutive messages of one account are stored together
   * (one transaction); anything else runs on its own, in order. When a run of messages fails, they are
   * taken one at a time, so that only the bad one is retried (`BatchFailure` names it).
   */
  async handleBatch(jobs: readonly IngestJob[]): Promise<void> {
    const isMessage = (
      j: IngestJob | undefined,
    ): j is { account: AccountRef; event: RemoteEventOf<'message'> } =>
      j !== undefined && 'event' in j && j.event.type === 'message';
    for (let i = 0; i < jobs.length;) {
      const first = jobs[i]!;
      let end = i + 1;
      if (isMessage(first))
        while (isMessage(jobs[end]) && jobs[end]!.account.accountId === first.account.accountId) end++;
      if (end - i > 1 && isMessage(first)) {
        const run = jobs.slice(i, end) as { account: AccountRef; event: RemoteEventOf<'message'> }[];
        try {
          if (await this.accountExists(first.account))
            await this.onMessages(
              first.account,
              run.map((j) => j.event),
            );
          i = end;
          continue;
        } catch (err) {
          this.logger.debug('a batch of messages failed; taking them one at a time', { err: String(err) });
        }
      }
      for (; i < end; i++) {
        try {
          await this.handle(jobs[i]!);
        } catch (err) {
          throw new BatchFailure(i, err);
        }
      }
    }
  }

  private async accountExists(account: AccountRef): Promise<boolean> {
    return this.ds.getRepository(Account).exists({ where: { id: account.accountId } });
  }

  // Group commit: events an account emits together (or while its previous flush was being written) are
  // handled together.
  private readonly batcher = new IngestBatcher((account, events, since) =>
    this.flushEvents(account, events, since),
  );

  /**
   * Messages are stored at once, a run of them in one transaction: the durable queue between the network
   * and the database cost three more commits per message, on the path every relay takes. A run that cannot
   * be stored now (the database is busy or failing) goes to the durable queue, whose worker retries it.
   * Everything else (roster, presence, edits, rooms…) goes through the queue as before, in order.
   */
  private async flushEvents(account: AccountRef, events: RemoteEvent[], since: number): Promise<void> {
    for (let i = 0; i < events.length;) {
      const message = events[i]!.type === 'message';
      let end = i + 1;
      while (end < events.length && (events[end]!.type === 'message') === message) end++;
      const run = events.slice(i, end);
      i = end;
      if (!message) {
        await this.enqueueEvents(account, run);
        continue;
      }
      try {
        await this.onMessages(account, run as RemoteEventOf<'message'>[], since);
      } catch (err) {
        this.logger.warn('could not store messages at once; queued for the ingest worker', {
          account: account.accountId,
          count: run.length,
          err: String(err),
        });
        await this.enqueueEvents(account, run);
      }
    }
  }

  async accept(account: AccountRef, event: RemoteEvent): Promise<void> {
    if (event.type === 'connection.state') return; // the supervisor records states directly
    // The echo of a send this process is making: the outbox records the send's ids itself.
    if (
      event.type === 'message' &&
      event.transactionId !== undefined &&
      this.ownSends.has(event.transactionId)
    )
      return;
    await this.batcher.add(account, event);
  }

  /**
   * One account's events in the order emitted: a run of roster events becomes one batch job (a login's
   * thousands of contacts and presences), anything else its own job with its dedupe id, as before.
   */
  private async enqueueEvents(account: AccountRef, events: RemoteEvent[]): Promise<void> {
    const jobs: JobSpec<IngestJob>[] = [];
    let run: RosterEvent[] = [];
    const endRun = () => {
      if (run.length === 0) return;
      jobs.push({
        id: `roster:${account.accountId}:${randomUUID()}`,
        group: groupOf(account.accountId, run[0]!),
        data: { account, events: run },
      });
      run = [];
    };
    for (const event of events) {
      if (isRosterEvent(event)) {
        run.push(event);
        if (run.length >= ROSTER_BATCH) endRun();
        continue;
      }
      endRun();
      jobs.push({
        id: ingestJobId(account.accountId, event),
        group: groupOf(account.accountId, event),
        data: { account, event },
      });
    }
    endRun();
    await this.queue.enqueueMany<IngestJob>(INGEST_QUEUE, jobs);
  }

  async handle(job: IngestJob): Promise<void> {
    const { account } = job;
    // Events still queued for an account that was deleted meanwhile have nowhere to go.
    if (!(await this.accountExists(account))) return;
    if ('events' in job) return ingestRosterEvents(this.ds, this.events, account, job.events);
    const { event } = job;
    switch (event.type) {
      case 'connection.state':
        return;
      case 'message':
        return this.onMessages(account, [event]);
      case 'message.edit':
        return this.onEdit(account, event);
      case 'message.redact':
        return this.onRedact(account, event);
      case 'presence':
      case 'contact.upsert':
      case 'contact.remove':
        // One at a time only from jobs queued before roster events were batched.
        return ingestRosterEvents(this.ds, this.events, account, [event]);
      case 'room.upsert': {
        // The client event is written with the row (stage) and pushed after the commit. Publishing inside
        // the transaction deadlocked: publish() queues behind an earlier publishMany() (a roster batch of
        // another account), whose own transaction queues behind this one.
        const deliver = await this.ds.transaction(async (m) => {
          const conv = await this.conversation(m, account, event.roomId, event.kind, event.title);
          await m.update(
            Conversation,
            { id: conv.id },
            { title: event.title ?? conv.title, topic: event.topic ?? conv.topic, kind: event.kind },
          );
          return this.events.stage(m, account.ownerId, [
            {
              type: 'conversation.updated',
              data: {
                id: conv.id,
                accountId: account.accountId,
                title: event.title ?? conv.title,
                kind: event.kind,
              },
            },
          ]);
        });
        await deliver();
        return;
      }
      case 'typing':
        await this.events.publish(account.ownerId, 'typing', {
          accountId: account.accountId,
          roomId: event.roomId,
          userId: event.userId,
          typing: event.typing,
        });
        return;
      case 'receipt':
        return this.onReceipt(account, event);
      case 'contact.request':
        // Someone asks to add the user (XMPP subscription request): accepting is adding them back
        // (POST /accounts/:id/contacts), which the adapter turns into its network's approval.
        await this.events.publish(account.ownerId, 'contact.request', {
          accountId: account.accountId,
          address: event.userId,
          ...(event.message !== undefined ? { message: event.message } : {}),
        });
        return;
      case 'call.signal':
        if (this.callSignalSink) return this.callSignalSink(account, event);
        this.logger.debug('call signal without a calls module', { account: account.accountId });
        return;
      case 'room.member':
        // A bridge may announce it (relayMembership); the bridges service filters and coalesces.
        return this.bridges.noteMembership(account, event);
      case 'reaction':
      case 'room.left':
        // Carried to clients as they are; the roster, bridge and voice issues give them their own state.
        this.logger.debug('event passed through', { type: event.type, account: account.accountId });
        return;
    }
  }

  private conversation(
    m: EntityManager,
    account: AccountRef,
    roomId: string,
    kind: 'direct' | 'group' = 'group',
    title?: string,
  ): Promise<Conversation> {
    return findOrCreateConversation(m, {
      ownerId: account.ownerId,
      accountId: account.accountId,
      remoteId: roomId,
      kind,
      ...(title !== undefined ? { title } : {}),
    });
  }

  private async endpoint(
    m: EntityManager,
    account: AccountRef,
    address: string,
    displayName?: string,
  ): Promise<Endpoint> {
    const [found] = await selectRows(m, Endpoint, { accountId: account.accountId, address }, { limit: 1 });
    if (found) {
      if (displayName && displayName !== found.displayName) {
        await m.update(Endpoint, { id: found.id }, { displayName });
        found.displayName = displayName;
      }
      return found;
    }
    const { person, endpoint: ep } = newEndpoint(m, account, address, displayName);
    await insertRow(m, Person, person);
    await insertRow(m, Endpoint, ep);
    return ep;
  }

  /**
   * Message events of one account, stored in one transaction (a busy room's backlog is one commit, not one
   * per message); what clients and the outbox are told follows the commit, in the events' order.
   */
  private async onMessages(
    account: AccountRef,
    events: RemoteEventOf<'message'>[],
    receivedAt = performance.now(),
  ): Promise<void> {
    const batch: MessageBatch = {
      account,
      convs: new Map(),
      touched: new Map(),
      endpoints: new Map(),
      remoteIds: new Map(),
      relayCache: newRelayCache(),
      events: [],
      jobs: [],
    };
    // The client events are written with the messages (one commit) and pushed to connections after it.
    const { value: deliver, durable } = await transactionCommitted(this.ds, async (m) => {
      for (const e of events) await this.storeMessage(m, batch, e);
      for (const { conv, at } of batch.touched.values()) {
        await updateById(m, Conversation, conv.id, {
          lastMessageAt: conv.lastMessageAt,
          unread: conv.unread,
        });
        batch.events.push({
          type: 'conversation.updated',
          data: { id: conv.id, accountId: account.accountId, lastMessageAt: at },
        });
      }
      return this.events.stage(m, account.ownerId, batch.events);
    });
    // The copies go out at once through their conversations' lanes (or the queue, when work waits there),
    // on the commit: a crash keeps it, and a relay does not wait for the disk (ADR 0012 decision 14). The
    // clients' events and the adapter's emit still do.
    if (batch.jobs.length) {
      this.relayClock.received(
        batch.jobs.map((j) => j.data.messageId),
        receivedAt,
      );
      await this.lanes.send(batch.jobs);
    }
    await durable;
    await deliver();
  }

  private async storeMessage(m: EntityManager, batch: MessageBatch, e: RemoteEventOf<'message'>) {
    const { account } = batch;
    const remoteKey = `${e.roomId}\0${e.messageId}`;
    if (batch.remoteIds.has(remoteKey)) return; // the same message twice in one batch
    // Seen before (reconnect, backfill, echo): nothing to do.
    const known = await selectValue(m, MessageRemoteId, 'messageId', {
      accountId: account.accountId,
      roomId: e.roomId,
      remoteId: e.messageId,
    });
    if (typeof known === 'string') {
      // A redelivered job whose first run committed but crashed before its relays were enqueued.
      batch.jobs.push(...(await this.bridges.pendingCopies(m, known)).jobs);
      return;
    }
    const linkRemote = async (messageId: string) => {
      batch.remoteIds.set(remoteKey, messageId);
      await insertRow(m, MessageRemoteId, {
        id: randomUUID(),
        messageId,
        accountId: account.accountId,
        roomId: e.roomId,
        remoteId: e.messageId,
        createdAt: Date.now(),
      });
    };
    let conv = batch.convs.get(e.roomId);
    if (!conv)
      batch.convs.set(
        e.roomId,
        (conv = await this.conversation(m, account, e.roomId, e.roomKind ?? 'group')),
      );
    // Our own send coming back (echo-message, carbons, sync): link it to the stored message.
    if (e.transactionId) {
      const mine = await selectValue(m, Message, 'id', { transactionId: e.transactionId });
      if (typeof mine === 'string') return linkRemote(mine);
    }
    // Our own line in the history a network replayed on rejoin (IRC +H), not linked yet: a send cut short by
    // a restart. The outbox, about to send it again, asks the network first and links it (SentCheckCapable);
    // storing it here as well would show it twice.
    if (e.sender.self && e.backfill && !e.transactionId) {
      const waiting = await m.find(Message, {
        where: { conversationId: conv.id, self: true, status: 'queued' },
        select: { id: true, text: true },
        take: 100,
      });
      if (waiting.some((w) => w.text.includes(e.text))) return;
    }
    let sender: Endpoint | undefined;
    if (!e.sender.self) {
      sender = batch.endpoints.get(e.sender.userId);
      if (!sender || (e.sender.displayName && e.sender.displayName !== sender.displayName)) {
        sender = await this.endpoint(m, account, e.sender.userId, e.sender.displayName);
        batch.endpoints.set(e.sender.userId, sender);
      }
    }
    const text = e.formatted ? toPlainText(e.formatted) : e.text;
    // Nothing to show (a Matrix body of the wrong type, an empty line): dropped, not stored blank.
    if (!(text || e.text) && !e.attachments?.length) {
      this.logger.info('dropped an empty message', {
        account: account.accountId,
        room: e.roomId,
        messageId: e.messageId,
      });
      return;
    }
    const msg = m.create(Message, {
      id: newMessageId(),
      ownerId: account.ownerId,
      conversationId: conv.id,
      senderEndpointId: sender?.id ?? null,
      senderName: e.sender.displayName ?? e.sender.userId,
      self: e.sender.self === true,
      kind: e.kind,
      text: text || e.text,
      html: e.formatted ? toHtml(e.formatted) : null,
      replyToId: null,
      editedAt: null,
      deleted: false,
      attachments: e.attachments ?? null,
      sentAt: toMs(e.at),
      status: 'delivered',
      failReason: null,
      clientId: null,
      transactionId: `in:${randomUUID()}`,
      origin: null,
    });
    if (e.replyTo) {
      msg.replyToId =
        batch.remoteIds.get(`${e.roomId}\0${e.replyTo}`) ??
        (
          await m.findOne(MessageRemoteId, {
            where: { accountId: account.accountId, roomId: e.roomId, remoteId: e.replyTo },
          })
        )?.messageId ??
        null;
    }
    await insertRow(m, Message, msg);
    await linkRemote(msg.id);
    conv.lastMessageAt = toMs(e.at);
    if (!e.sender.self) conv.unread += 1;
    batch.touched.set(conv.id, { conv, at: e.at });
    batch.events.push({ type: 'message.received', data: messageView(msg) });
    // Bridged: the copies are written with the message. The user's own messages coming back from the
    // network unmatched are not relayed (they could be a copy echoed without its transaction id).
    // History replayed after downtime is relayed when it was said after the bridge was made.
    if (e.sender.self) return;
    const relays = await this.bridges.relayNew(m, msg, {
      backfill: e.backfill === true,
      cache: batch.relayCache,
    });
    batch.jobs.push(...relays.jobs);
    for (const copy of relays.copies)
      batch.events.push({ type: 'message.received', data: messageView(copy) });
  }

  private async findByRemote(m: EntityManager, account: AccountRef, roomId: string, remoteId: string) {
    const ref = await m.findOne(MessageRemoteId, {
      where: { accountId: account.accountId, roomId, remoteId },
    });
    return ref ? m.findOne(Message, { where: { id: ref.messageId } }) : null;
  }

  private async onEdit(account: AccountRef, e: RemoteEventOf<'message.edit'>): Promise<void> {
    const updated = await this.ds.transaction(async (m) => {
      const msg = await this.findByRemote(m, account, e.roomId, e.messageId);
      if (!msg) return undefined;
      // Only the original sender may edit a message: a correction naming someone else's id is ignored.
      const sender = msg.senderEndpointId
        ? await m.findOne(Endpoint, { where: { id: msg.senderEndpointId } })
        : null;
      const sameSender = msg.self ? e.sender.self === true : sender?.address === e.sender.userId;
      if (!sameSender) {
        this.logger.warn('edit refused: the editor is not the original sender', {
          account: account.accountId,
          messageId: e.messageId,
        });
        return undefined;
      }
      const text = e.formatted ? toPlainText(e.formatted) : e.text;
      const html = e.formatted ? toHtml(e.formatted) : null;
      await m.update(Message, { id: msg.id }, { text, html, editedAt: toMs(e.at) });
      const edited = { ...msg, text, html, editedAt: toMs(e.at) };
      return { edited, relays: await this.bridges.relayEdit(m, edited) };
    });
    if (updated) {
      await this.events.publish(account.ownerId, 'message.updated', messageView(updated.edited));
      await this.bridges.dispatch(updated.relays, 'message.updated');
    }
  }

  private async onRedact(account: AccountRef, e: RemoteEventOf<'message.redact'>): Promise<void> {
    const updated = await this.ds.transaction(async (m) => {
      const msg = await this.findByRemote(m, account, e.roomId, e.messageId);
      if (!msg || msg.deleted) return undefined;
      // Only the sender (or the network's moderation, which the adapter reports as the sender) deletes.
      await m.update(Message, { id: msg.id }, { deleted: true, text: '', html: null });
      const deleted = { ...msg, deleted: true, text: '', html: null };
      return { deleted, relays: await this.bridges.relayRedact(m, deleted) };
    });
    if (updated) {
      await this.events.publish(account.ownerId, 'message.updated', messageView(updated.deleted));
      await this.bridges.dispatch(updated.relays, 'message.updated');
    }
  }

  private async onReceipt(account: AccountRef, e: RemoteEventOf<'receipt'>): Promise<void> {
    const msg = await this.findByRemote(this.ds.manager, account, e.roomId, e.messageId);
    if (!msg || !msg.self || msg.status === 'delivered') return;
    await this.ds.getRepository(Message).update({ id: msg.id }, { status: 'delivered' });
    await this.events.publish(account.ownerId, 'message.status', {
      id: msg.id,
      conversationId: msg.conversationId,
      status: 'delivered',
    });
  }
}
