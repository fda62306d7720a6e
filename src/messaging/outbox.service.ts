import { HttpStatus, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { AccountsService } from '../accounts/accounts.service';
import { ApiError } from '../api/api-error';
import { isForeignKeyViolation } from '../api/error.filter';
import { MetricsService } from '../api/health/metrics.service';
import type { AppConfig } from '../config';
import type { Logger } from '../common/logger';
import { ClientEventsService } from '../events/client-events.service';
import { BatchFailure, type Job, type QueuePort } from '../queue';
import {
  RemoteMessageId,
  RemoteRoomId,
  TransactionId,
  fromHtml,
  isAttachmentsCapable,
  isEditCapable,
  isPipelinedSendCapable,
  isSentCheckCapable,
  isRedactCapable,
  isSendError,
  type OutboundMessage,
  sanitizeHtml,
} from '../sdk';
import { Account, Conversation, Message, MessageRemoteId } from '../storage/entities';
import { insertRow, patch } from '../common/db';
import { selectRows, selectValue, updateById } from '../storage/bulk-insert';
import { CONFIG, DATA_SOURCE, LOGGER, QUEUE } from '../tokens';
import { messageView } from './message.view';
import { BridgesService, type RelayWork } from '../bridges/bridges.service';
import { OUTBOX_QUEUE, editJob, redactJob, sendJob, type OutboxJob } from './outbox.jobs';
import { newMessageId } from './message-id';
import { OwnSends } from './own-sends';
import { RelayClock } from './relay-clock';
import { OutboxLanes } from './outbox-lanes';
import { MediaRelayService } from '../media/media-relay.service';

/** A message the network took, and where. */
interface Sent {
  msg: Message;
  conv: Conversation;
  account: Account;
  ids: RemoteMessageId[];
}

/** A send that waits in the outbox for its account: writes while disconnected are queued, never dropped. */
class AccountNotConnected extends Error {}

/**
 * The durable outbox. A message is stored `queued` and its job enqueued before the API answers 202; the
 * job is retried with backoff until the network takes it or refuses it for good. A boot-time sweep
 * re-enqueues any `queued` message whose job was lost between the two writes (enqueue dedupes by id).
 */
@Injectable()
export class OutboxService implements OnApplicationBootstrap {
  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(QUEUE) private readonly queue: QueuePort,
    @Inject(CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly accounts: AccountsService,
    private readonly events: ClientEventsService,
    private readonly metrics: MetricsService,
    private readonly bridges: BridgesService,
    private readonly ownSends: OwnSends,
    private readonly lanes: OutboxLanes,
    private readonly media: MediaRelayService,
    private readonly relayClock: RelayClock,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.sweep();
    await this.queue.processBatches<OutboxJob>(
      OUTBOX_QUEUE,
      (jobs) =>
        this.runBatch(jobs).then(
          () => this.lanes.handled(jobs),
          (err: unknown) => {
            // The jobs before the one that failed are done; it and the rest are still waiting.
            this.lanes.handled(jobs.slice(0, err instanceof BatchFailure ? err.completed : 0));
            throw err;
          },
        ),
      { concurrency: this.config.queue.concurrency },
    );
    this.lanes.runner = (ids, onWritten) => this.deliverMany(ids, new Set(), onWritten);
  }

  async sweep(): Promise<number> {
    const queued = await this.ds.getRepository(Message).find({
      where: { status: 'queued' },
      select: { id: true, conversationId: true },
      order: { sentAt: 'ASC' },
    });
    // Counted as waiting even when the job is still in the queue from the previous run (a crash).
    await this.lanes.enqueue(
      queued.map((m) => sendJob(m.id, m.conversationId, true)),
      { countExisting: true },
    );
    if (queued.length) this.logger.info('outbox sweep re-enqueued queued messages', { count: queued.length });
    return queued.length;
  }

  private enqueue(messageId: string, conversationId: string) {
    return this.lanes.enqueue([sendJob(messageId, conversationId)]);
  }

  async submit(
    ownerId: string,
    conversationId: string,
    input: { text: string; html?: string; replyTo?: string; clientId?: string },
  ): Promise<{ id: string; status: string }> {
    const conv = await this.ds
      .getRepository(Conversation)
      .findOne({ where: { id: conversationId, ownerId } });
    if (!conv) throw ApiError.notFound('conversation');
    const repo = this.ds.getRepository(Message);
    if (input.clientId) {
      const dup = await repo.findOne({ where: { conversationId, clientId: input.clientId } });
      if (dup) return this.resubmitted(dup);
    }
    if (input.replyTo && !(await repo.exist({ where: { id: input.replyTo, conversationId } })))
      throw ApiError.validation('replyTo names no message of this conversation', [{ field: 'replyTo' }]);
    const account = await this.ds.getRepository(Account).findOne({ where: { id: conv.accountId } });
    const msg = repo.create({
      id: newMessageId(),
      ownerId,
      conversationId,
      senderEndpointId: null,
      senderName: account?.label ?? 'me',
      self: true,
      kind: 'text',
      text: input.text,
      // Stored as clients will be served it: only what the formatting model can say (no script, no handlers).
      html: input.html !== undefined ? sanitizeHtml(input.html) || null : null,
      replyToId: input.replyTo ?? null,
      editedAt: null,
      deleted: false,
      attachments: null,
      sentAt: Date.now(),
      status: 'queued',
      failReason: null,
      clientId: input.clientId ?? null,
      transactionId: randomUUID(),
      origin: null,
    });
    // In a bridged conversation the user's message is relayed too: its copies are written with it.
    let relays: RelayWork | undefined;
    try {
      relays = await this.ds.transaction(async (m) => {
        await insertRow(m, Message, msg);
        return this.bridges.relayNew(m, msg);
      });
    } catch (err) {
      // Two requests with one clientId raced: the first one's message is the answer.
      if (input.clientId) {
        const dup = await repo.findOne({ where: { conversationId, clientId: input.clientId } });
        if (dup) return this.resubmitted(dup);
      }
      // The account was deleted after the conversation was read, and the conversation with it.
      if (
        isForeignKeyViolation(err) &&
        !(await this.ds.getRepository(Conversation).exists({ where: { id: conversationId } }))
      )
        throw new ApiError(
          HttpStatus.NOT_FOUND,
          'NOT_FOUND',
          'conversation not found: its account was deleted',
        );
      throw err;
    }
    try {
      await this.enqueue(msg.id, conversationId);
    } catch (err) {
      // The queue is down (Redis restarting): answer 503 and take the row back, so that the client's retry
      // is the one send and a refused request never goes out later behind the user's back.
      this.logger.warn('outbox enqueue failed; message refused', { err: String(err) });
      await repo.delete({ id: msg.id }).catch(() => undefined); // if this fails too, the boot sweep sends it
      throw ApiError.unavailable('the message queue is unavailable; try again shortly');
    }
    await this.events.publish(ownerId, 'message.status', { id: msg.id, conversationId, status: 'queued' });
    // Copies whose jobs fail to enqueue here stay `queued`: the outbox sweep sends them.
    if (relays)
      await this.bridges
        .dispatch(relays, 'message.received')
        .catch((err: unknown) =>
          this.logger.warn('relay enqueue failed; the sweep will send the copies', { err: String(err) }),
        );
    return { id: msg.id, status: msg.status };
  }

  /**
   * A retry of a request already stored (same clientId). A message still `queued` is enqueued again: its first
   * request may have failed between the two writes, and enqueue dedupes by id, so this never sends twice.
   */
  private async resubmitted(dup: Message): Promise<{ id: string; status: string }> {
    if (dup.status === 'queued') {
      try {
        await this.enqueue(dup.id, dup.conversationId);
      } catch {
        throw ApiError.unavailable('the message queue is unavailable; try again shortly');
      }
    }
    return { id: dup.id, status: dup.status };
  }

  /**
   * A conversation's waiting jobs: runs of sends go out one after the other (in order) and are recorded in
   * one transaction; edits and deletions run on their own. `BatchFailure` names the job that must wait.
   */
  private async runBatch(jobs: readonly Job<OutboxJob>[]): Promise<void> {
    for (let i = 0; i < jobs.length;) {
      const job = jobs[i]!;
      const op = job.data.op ?? 'send';
      if (op === 'send') {
        let end = i + 1;
        while (end < jobs.length && (jobs[end]!.data.op ?? 'send') === 'send') end++;
        const run = jobs.slice(i, end);
        // A job on its second attempt or later may have been cut short by a crash just after its write.
        // So may a message swept up at boot (a lane sends without a queue job).
        const retried = new Set(
          run.filter((j) => j.attempt > 1 || j.data.swept === true).map((j) => j.data.messageId),
        );
        const done = await this.deliverMany(
          run.map((j) => j.data.messageId),
          retried,
        );
        if (done.failed) throw new BatchFailure(i + done.sent, done.failed.err);
        i = end;
        continue;
      }
      try {
        if (op === 'edit')
          await this.deliverEdit(job.data.messageId, job.data.text ?? '', job.data.html, job.id);
        else await this.deliverRedact(job.data.messageId);
      } catch (err) {
        throw new BatchFailure(i, err);
      }
      i++;
    }
  }

  /** The user's own message, for an edit or a deletion (404 for anything else, so nothing leaks). */
  private async ownMessage(ownerId: string, conversationId: string, messageId: string): Promise<Message> {
    const msg = await this.ds
      .getRepository(Message)
      .findOne({ where: { id: messageId, conversationId, ownerId } });
    if (!msg) throw ApiError.notFound('message');
    if (!msg.self) throw ApiError.forbidden('only your own messages can be edited or deleted');
    if (msg.origin)
      throw ApiError.forbidden("a bridge's copy follows its original: edit or delete the original instead");
    if (msg.deleted) throw ApiError.conflict('the message was deleted');
    return msg;
  }

  private lastEditAt = 0;

  async edit(ownerId: string, conversationId: string, messageId: string, text: string) {
    const msg = await this.ownMessage(ownerId, conversationId, messageId);
    // Strictly increasing: an edit's job id carries its time, and two edits in one millisecond (two clients
    // at once) would otherwise be one job, leaving the network with the first text and the gateway the second.
    const editedAt = (this.lastEditAt = Math.max(Date.now(), this.lastEditAt + 1));
    const edited = { ...msg, text, html: null, editedAt };
    // In a bridged conversation the copies follow (written with the edit).
    const relays = await this.ds.transaction(async (m) => {
      // Only while it is not deleted: a deletion (another client) may have landed since ownMessage read it.
      await this.stillLive(m, msg.id, { text, html: null, editedAt });
      return this.bridges.relayEdit(m, edited);
    });
    // A message still queued goes out with the new text; one already sent gets an edit of its own.
    if (await this.reachedNetwork(msg))
      await this.lanes.enqueue([editJob(msg.id, conversationId, text, editedAt)]);
    const view = messageView(edited);
    await this.events.publish(ownerId, 'message.updated', view);
    await this.bridges.dispatch(relays, 'message.updated');
    return view;
  }

  async redact(ownerId: string, conversationId: string, messageId: string): Promise<void> {
    const msg = await this.ownMessage(ownerId, conversationId, messageId);
    const relays = await this.ds.transaction(async (m) => {
      // A second deletion at once (two clients, a double click) is a 409, not a second one on the networks.
      await this.stillLive(m, msg.id, { deleted: true, text: '', html: null });
      return this.bridges.relayRedact(m, { ...msg, deleted: true, text: '', html: null });
    });
    if (await this.reachedNetwork(msg)) await this.lanes.enqueue([redactJob(msg.id, conversationId)]);
    await this.bridges.dispatch(relays, 'message.updated');
    await this.events.publish(
      ownerId,
      'message.updated',
      messageView({ ...msg, deleted: true, text: '', html: null }),
    );
  }

  /**
   * Updates the user's message only if it is still not deleted (the check and the write are one statement,
   * so a deletion that landed after ownMessage() read the row wins); a 409 otherwise.
   */
  private async stillLive(m: EntityManager, id: string, values: Partial<Message>): Promise<void> {
    const { affected } = await m.update(Message, { id, deleted: false }, patch<Message>(values));
    if (!affected) throw ApiError.conflict('the message was deleted');
  }

  /**
   * Whether the network has (or is about to have) the message as it was before the change just written.
   * `msg` was read before that write: a message queued then may have been taken by a send since (one that
   * read the old row and is still in flight, or has finished), and then the change must follow it there.
   */
  private async reachedNetwork(msg: Message): Promise<boolean> {
    if (msg.status !== 'queued' || this.lanes.inFlight.has(msg.id)) return true;
    return (await selectValue(this.ds.manager, Message, 'status', { id: msg.id })) !== 'queued';
  }

  /** Where a sent message lives on its network: the account, the room and its first remote id. */
  private async remoteOf(messageId: string) {
    const msg = await this.ds.getRepository(Message).findOne({ where: { id: messageId } });
    if (!msg) return undefined;
    const conv = await this.ds.getRepository(Conversation).findOne({ where: { id: msg.conversationId } });
    const ref = await this.ds
      .getRepository(MessageRemoteId)
      .findOne({ where: { messageId }, order: { createdAt: 'ASC' } });
    if (!conv || !ref) return undefined;
    return { msg, conv, remoteId: RemoteMessageId(ref.remoteId) };
  }

  /** An edit or deletion of a message with no remote id: it waits (retried) while the message's send is under way. */
  private notSentYet(messageId: string): void {
    if (this.lanes.inFlight.has(messageId))
      throw new Error(`message ${messageId} is being sent; its edit or deletion follows it`);
  }

  private async deliverEdit(
    messageId: string,
    text: string,
    html: string | undefined,
    jobId: string,
  ): Promise<void> {
    const where = await this.remoteOf(messageId);
    if (!where) return this.notSentYet(messageId); // never reached the network: nothing to correct there
    const client = await this.connectedClient(where.conv.accountId);
    if (!client)
      throw new AccountNotConnected(`account ${where.conv.accountId} is not connected; the edit waits`);
    const roomId = RemoteRoomId(where.conv.remoteId);
    this.ownSends.expect(jobId);
    if (isEditCapable(client)) {
      // A bridged copy's formatting (the sender's name in bold, mentions as pills) survives the edit.
      const formatted = html ? fromHtml(html) : undefined;
      await client.editMessage(roomId, where.remoteId, text, formatted, TransactionId(jobId));
    } else {
      // Networks without edits get the readable fallback users of such networks know.
      await client.send({
        roomId,
        transactionId: TransactionId(jobId),
        kind: 'text',
        text: `* correction: ${text}`,
      });
    }
  }

  private async deliverRedact(messageId: string): Promise<void> {
    const where = await this.remoteOf(messageId);
    if (!where) return this.notSentYet(messageId);
    const client = await this.connectedClient(where.conv.accountId);
    if (!client)
      throw new AccountNotConnected(`account ${where.conv.accountId} is not connected; the deletion waits`);
    // A network that cannot delete keeps the message; the gateway's copy is deleted either way. A bridge's
    // copy gets a readable note there instead, so the people on that network know it was taken back.
    if (isRedactCapable(client))
      await client.redactMessage(RemoteRoomId(where.conv.remoteId), where.remoteId);
    else if (where.msg.origin) {
      this.ownSends.expect(`redact:${messageId}`);
      await client.send({
        roomId: RemoteRoomId(where.conv.remoteId),
        transactionId: TransactionId(`redact:${messageId}`),
        kind: 'text',
        text: `* ${typeof where.msg.origin.nick === 'string' ? where.msg.origin.nick : where.msg.senderName} deleted a message`,
      });
    }
  }

  /**
   * The outbox worker: sends messages in order through their accounts' clients, then records them as sent
   * together (one transaction, one batch of client events). Idempotent by message id: a message no longer
   * `queued` is skipped. Stops at the first send that must be retried: `sent` says how many were handled
   * before it (sent, skipped, or failed for good).
   */
  async deliverMany(
    messageIds: readonly string[],
    retried: ReadonlySet<string> = new Set(),
    /** Called once every send is written (or the writing stopped), before confirmations are awaited. */
    onWritten?: () => void,
  ): Promise<{ sent: number; failed?: { err: unknown } }> {
    // Claimed before they are read, so that a message a lane (or another worker) is sending right now is
    // neither sent twice nor read stale; the first one that is busy ends this run there (it retries later).
    let failure: { at: number; err: unknown } | undefined;
    const claimed: string[] = [];
    for (const [at, messageId] of messageIds.entries()) {
      if (this.lanes.inFlight.has(messageId)) {
        failure = { at, err: new Error(`message ${messageId} is being sent already`) };
        break;
      }
      this.lanes.inFlight.add(messageId);
      claimed.push(messageId);
    }
    const convs = new Map<string, Conversation | null>();
    const accounts = new Map<string, Account | null>();
    // Written, with the promise of their confirmation (settled already unless the network pipelines sends).
    const written: { at: number; msg: Message; out: Sent; confirmed: Promise<boolean> }[] = [];
    try {
      const found = claimed.length ? await selectRows(this.ds.manager, Message, { id: claimed }) : [];
      const byId = new Map(found.map((m) => [m.id, m]));
      for (const [at, messageId] of claimed.entries()) {
        const msg = byId.get(messageId);
        try {
          if (msg && msg.status === 'queued') {
            const out = await this.sendOne(msg, convs, accounts, retried.has(msg.id));
            // Written (or found sent already): a bridged copy's time across the gateway ends here.
            if (out) this.relayClock.done(msg.id, out.sent.account.adapterId);
            // A network that cannot deduplicate a resend (IRC) gets each send recorded at once, so a crash
            // repeats at most the one in flight; pipelined sends (same stanza id on a resend) are recorded
            // together.
            if (out?.pipelined) written.push({ at, msg, out: out.sent, confirmed: out.confirmed });
            else if (out) await this.recordSent([out.sent]);
          }
        } catch (err) {
          failure = { at, err };
          break;
        }
      }
      onWritten?.();
      // In order: the first send the network did not confirm is retried, with everything after it.
      const sent: Sent[] = [];
      for (const w of written) {
        try {
          await w.confirmed;
          sent.push(w.out);
        } catch (err) {
          if (isSendError(err) && !err.retryable) {
            await this.fail(w.msg, err.message);
            continue;
          }
          this.metrics.outboxSends.inc({ adapter: w.out.account.adapterId, outcome: 'retry' });
          if (!failure || w.at < failure.at) failure = { at: w.at, err };
          break;
        }
      }
      await this.recordSent(sent);
    } finally {
      for (const id of claimed) this.lanes.inFlight.delete(id);
    }
    return failure ? { sent: failure.at, failed: { err: failure.err } } : { sent: messageIds.length };
  }

  /** One send; undefined when there is nothing to send (or it failed for good, which is recorded). */
  private async sendOne(
    msg: Message,
    convs: Map<string, Conversation | null>,
    accounts: Map<string, Account | null>,
    retried = false,
  ): Promise<{ sent: Sent; confirmed: Promise<boolean>; pipelined: boolean } | undefined> {
    if (msg.deleted) {
      await this.fail(msg, 'deleted before it was sent');
      return undefined;
    }
    let conv = convs.get(msg.conversationId);
    if (conv === undefined) {
      conv = (await selectRows(this.ds.manager, Conversation, { id: msg.conversationId }))[0] ?? null;
      convs.set(msg.conversationId, conv);
    }
    if (!conv) return undefined;
    let account = accounts.get(conv.accountId);
    if (account === undefined) {
      account = (await selectRows(this.ds.manager, Account, { id: conv.accountId }))[0] ?? null;
      accounts.set(conv.accountId, account);
    }
    if (!account) {
      await this.fail(msg, 'the account was removed');
      return undefined;
    }
    const client = await this.connectedClient(account.id);
    if (!client) {
      this.metrics.outboxSends.inc({ adapter: account.adapterId, outcome: 'retry' });
      throw new AccountNotConnected(
        `account ${account.id} is not connected; the message waits in the outbox`,
      );
    }
    // A bridged copy with files: fetched, checked and linked (or uploaded) just before it goes out (ADR 0014).
    const media =
      msg.origin && msg.attachments?.length
        ? await this.media.prepareCopy(
            msg,
            account.adapterId,
            isAttachmentsCapable(client) ? client : undefined,
          )
        : undefined;
    if (media) msg = media.msg;
    let replyTo: RemoteMessageId | undefined;
    if (msg.replyToId) {
      const ref = await this.ds
        .getRepository(MessageRemoteId)
        .findOne({ where: { messageId: msg.replyToId, accountId: account.id } });
      if (ref) replyTo = RemoteMessageId(ref.remoteId);
    }
    this.ownSends.expect(msg.transactionId);
    let outbound: OutboundMessage = {
      roomId: RemoteRoomId(conv.remoteId),
      transactionId: TransactionId(msg.transactionId),
      kind: msg.kind,
      text: msg.text,
      formatted: msg.html ? fromHtml(msg.html) : undefined,
      replyTo,
      ...(media?.links.length ? { attachments: media.links } : {}),
    };
    // A network that cannot confirm a line written just before a crash (IRC) may show it in the history it
    // replayed when we rejoined: then it got through, and sending it again would post it twice.
    if (retried && isSentCheckCapable(client)) {
      const ids = await client
        .findOwnSend(outbound, new Date(msg.sentAt).toISOString())
        .catch(() => undefined);
      if (ids?.length) {
        this.logger.info('a send cut short by a restart had got through; not sent again', {
          message: msg.id,
        });
        return { sent: { msg, conv, account, ids }, confirmed: Promise.resolve(true), pipelined: false };
      }
    }
    try {
      if (media?.upload && isAttachmentsCapable(client)) {
        try {
          const id = await client.sendAttachment(outbound.roomId, media.upload, outbound.transactionId);
          return {
            sent: { msg, conv, account, ids: [id] },
            confirmed: Promise.resolve(true),
            pipelined: false,
          };
        } catch (err) {
          if (!(isSendError(err) && !err.retryable) || !media.linked) throw err;
          // The target refused the file itself after all (an XMPP upload service that does not take this
          // type): the copy goes with its link, as to a network that takes no files.
          this.logger.info('the target did not take a bridged file; relayed as a link', {
            message: msg.id,
            err: err.message,
          });
          const { text, html } = media.linked;
          await this.ds.getRepository(Message).update({ id: msg.id }, { text, html });
          msg = { ...msg, text, html };
          outbound = {
            ...outbound,
            text,
            formatted: html ? fromHtml(html) : undefined,
            ...(media.links.length ? { attachments: media.links } : {}),
          };
        }
      }
      // A network that pipelines takes the next message before this one is confirmed.
      if (isPipelinedSendCapable(client)) {
        const w = await client.sendPipelined(outbound);
        return { sent: { msg, conv, account, ids: w.messageIds }, confirmed: w.confirmed, pipelined: true };
      }
      const result = await client.send(outbound);
      return {
        sent: { msg, conv, account, ids: result.messageIds },
        confirmed: Promise.resolve(true),
        pipelined: false,
      };
    } catch (err) {
      if (isSendError(err) && !err.retryable) {
        await this.fail(msg, err.message);
        return undefined;
      }
      this.metrics.outboxSends.inc({ adapter: account.adapterId, outcome: 'retry' });
      throw err;
    }
  }

  /** Sent messages: their remote ids and status in one transaction, then one batch of events per owner. */
  private async recordSent(sent: Sent[]): Promise<void> {
    if (sent.length === 0) return;
    const byOwner = new Map<string, { type: 'message.status'; data: unknown }[]>();
    for (const { msg, account } of sent) {
      this.metrics.outboxSends.inc({ adapter: account.adapterId, outcome: 'sent' });
      let list = byOwner.get(msg.ownerId);
      if (!list) byOwner.set(msg.ownerId, (list = []));
      list.push({
        type: 'message.status',
        data: { id: msg.id, conversationId: msg.conversationId, status: 'sent' },
      });
    }
    // The status events are written in the same transaction (one commit) and pushed after it.
    const deliveries = await this.ds.transaction(async (m) => {
      for (const { msg, conv, account, ids } of sent) {
        for (const rid of new Set(ids))
          if (
            (await selectValue(m, MessageRemoteId, 'id', {
              accountId: account.id,
              roomId: conv.remoteId,
              remoteId: rid,
            })) === undefined
          )
            await insertRow(m, MessageRemoteId, {
              id: randomUUID(),
              messageId: msg.id,
              accountId: account.id,
              roomId: conv.remoteId,
              remoteId: rid,
              createdAt: Date.now(),
            });
      }
      for (const { msg } of sent) await updateById(m, Message, msg.id, { status: 'sent' });
      const last = new Map<string, number>();
      for (const { msg } of sent)
        last.set(msg.conversationId, Math.max(last.get(msg.conversationId) ?? 0, msg.sentAt));
      for (const [id, at] of last) await updateById(m, Conversation, id, { lastMessageAt: at });
      const staged: (() => Promise<void>)[] = [];
      for (const [owner, items] of byOwner) staged.push(await this.events.stage(m, owner, items));
      return staged;
    });
    for (const deliver of deliveries) await deliver();
  }

  /**
   * The account's client once it is connected, waiting a few seconds for a reconnect in progress so that a
   * short outage does not push the message into the queue's longer backoff.
   */
  private async connectedClient(accountId: string) {
    const deadline = Date.now() + 5000;
    for (;;) {
      const client = this.accounts.connectedClient(accountId);
      if (client) return client;
      const state = this.accounts.supervisor.status(accountId)?.state;
      // Parked accounts (bad credentials, logged out) will not come back by themselves: do not hold a worker.
      if (Date.now() > deadline || state === 'bad_credentials' || state === 'logged_out') return undefined;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private async fail(msg: Message, reason: string): Promise<void> {
    this.relayClock.done(msg.id);
    await this.ds.getRepository(Message).update({ id: msg.id }, { status: 'failed', failReason: reason });
    this.metrics.outboxSends.inc({ adapter: 'unknown', outcome: 'failed' });
    await this.events.publish(msg.ownerId, 'message.status', {
      id: msg.id,
      conversationId: msg.conversationId,
      status: 'failed',
      reason,
    });
  }

  async list(ownerId: string, conversationId: string, before: string | undefined, limit: number) {
    const conv = await this.ds
      .getRepository(Conversation)
      .findOne({ where: { id: conversationId, ownerId } });
    if (!conv) throw ApiError.notFound('conversation');
    const qb = this.ds
      .getRepository(Message)
      .createQueryBuilder('m')
      .where('m.conversationId = :id', { id: conversationId })
      .orderBy('m.sentAt', 'DESC')
      .addOrderBy('m.id', 'DESC')
      .take(limit);
    if (before) {
      const ref = await this.ds.getRepository(Message).findOne({ where: { id: before, conversationId } });
      if (!ref)
        throw ApiError.validation('before names no message of this conversation', [{ field: 'before' }]);
      // Ties on sentAt are ordered by id: the ref's equals that sort before it are older, not skipped.
      qb.andWhere('(m.sentAt < :at OR (m.sentAt = :at AND m.id < :refId))', {
        at: ref.sentAt,
        refId: ref.id,
      });
    }
    const rows = await qb.getMany();
    return rows.reverse().map(messageView);
  }
}
