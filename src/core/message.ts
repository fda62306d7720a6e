import type { FormattedBody, RemoteAttachment, RemoteMessageId, RemoteUserId } from '../sdk';
import type { BridgeId, ConversationId, EndpointId, MessageId } from './ids';

/**
 * Delivery status of a message, in the order a send moves through it: `queued` (in our outbox),
 * `sent` (the network accepted it), `delivered` (the recipient's side confirmed it), or `failed`.
 */
export const MESSAGE_STATUSES = ['queued', 'sent', 'delivered', 'failed'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

export function isMessageStatus(v: unknown): v is MessageStatus {
  return typeof v === 'string' && (MESSAGE_STATUSES as readonly string[]).includes(v);
}

/**
 * Who sent a message. `self` is our own account (sent from this gateway or another client of
 * ours); others are identified by their network address and, once known to the roster, endpoint.
 */
export interface MessageSender {
  endpointId?: EndpointId;
  remoteUserId?: RemoteUserId;
  displayName: string;
  self: boolean;
}

/** What makes two senders the same: the network identity, else the endpoint, else both being us. */
export type SenderIdentity = Pick<MessageSender, 'endpointId' | 'remoteUserId' | 'self'>;

export type MessageAttachment = RemoteAttachment;

/** Where a relayed message came from: set on every copy a bridge writes, never on an original. */
export interface RelayOrigin {
  bridgeId: BridgeId;
  conversationId: ConversationId;
  messageId: MessageId;
}

export interface Message {
  id: MessageId;
  conversationId: ConversationId;
  /** The network's id, once the network has one (after send, or from ingest). */
  remoteId?: RemoteMessageId;
  sender: MessageSender;
  text: string;
  html?: string;
  formatted?: FormattedBody;
  /** The message this one replies to, in the same conversation. */
  replyTo?: MessageId;
  editedAt?: string;
  deleted?: boolean;
  attachments?: MessageAttachment[];
  sentAt: string;
  status: MessageStatus;
  origin?: RelayOrigin;
}

/**
 * The status transitions that make sense. Forward only (queued → sent → delivered), so a late or
 * duplicated report never moves a message back (delivered → sent is refused). A failure can follow
 * queued or sent (a bounce after the server took it) but not delivered. From failed: a retry
 * re-queues it, and a confirmation that arrives after we gave up wins (the network did take it).
 */
const ALLOWED: Readonly<Record<MessageStatus, readonly MessageStatus[]>> = {
  queued: ['sent', 'delivered', 'failed'],
  sent: ['delivered', 'failed'],
  delivered: [],
  failed: ['queued', 'sent', 'delivered'],
};

export function canTransition(from: MessageStatus, to: MessageStatus): boolean {
  return from === to || ALLOWED[from].includes(to);
}

/** The status to store when `to` is reported for a message in `from`: `to` if legal, else `from`. */
export function nextStatus(from: MessageStatus, to: MessageStatus): MessageStatus {
  return canTransition(from, to) ? to : from;
}

/** Whether two senders are the same party. Unknown identity on either side is never a match. */
export function sameSender(a: SenderIdentity, b: SenderIdentity): boolean {
  if (a.self || b.self) return a.self === b.self;
  if (a.remoteUserId !== undefined && b.remoteUserId !== undefined) return a.remoteUserId === b.remoteUserId;
  if (a.endpointId !== undefined && b.endpointId !== undefined) return a.endpointId === b.endpointId;
  return false;
}

/** An edit is applied only when it comes from the original sender, to a message that still exists. */
export function canApplyEdit(
  original: Pick<Message, 'sender' | 'deleted'>,
  editSender: SenderIdentity,
): boolean {
  return original.deleted !== true && sameSender(original.sender, editSender);
}

/** A redaction is applied only when it comes from the original sender. */
export function canApplyRedaction(
  original: Pick<Message, 'sender'>,
  redactionSender: SenderIdentity,
): boolean {
  return sameSender(original.sender, redactionSender);
}

export interface MessageEdit {
  sender: SenderIdentity;
  text: string;
  html?: string;
  formatted?: FormattedBody;
  editedAt: string;
}

export type EditRefusal = 'not_sender' | 'deleted' | 'stale';
export type EditOutcome = { ok: true; message: Message } | { ok: false; reason: EditRefusal };

function time(iso: string | undefined): number {
  const t = iso === undefined ? Number.NaN : Date.parse(iso);
  return Number.isNaN(t) ? Number.NEGATIVE_INFINITY : t;
}

/**
 * Applies an edit: new content, `editedAt` set. Refused from anyone but the sender, on a deleted
 * message, and when older than the edit already applied (edits can arrive out of order).
 */
export function applyEdit(original: Message, edit: MessageEdit): EditOutcome {
  if (original.deleted === true) return { ok: false, reason: 'deleted' };
  if (!sameSender(original.sender, edit.sender)) return { ok: false, reason: 'not_sender' };
  if (original.editedAt !== undefined && time(edit.editedAt) < time(original.editedAt)) {
    return { ok: false, reason: 'stale' };
  }
  const { html: _html, formatted: _formatted, ...rest } = original;
  return {
    ok: true,
    message: {
      ...rest,
      text: edit.text,
      ...(edit.html !== undefined ? { html: edit.html } : {}),
      ...(edit.formatted !== undefined ? { formatted: edit.formatted } : {}),
      editedAt: edit.editedAt,
    },
  };
}

export type RedactionOutcome = { ok: true; message: Message } | { ok: false; reason: 'not_sender' };

/** Applies a redaction: the message keeps its place in the conversation and loses its content. */
export function applyRedaction(original: Message, redactionSender: SenderIdentity): RedactionOutcome {
  if (!canApplyRedaction(original, redactionSender)) return { ok: false, reason: 'not_sender' };
  const {
    html: _html,
    formatted: _formatted,
    attachments: _attachments,
    replyTo: _replyTo,
    ...rest
  } = original;
  return { ok: true, message: { ...rest, text: '', deleted: true } };
}

/** A reply must point at a message of the same conversation (ids do not cross conversations). */
export function isValidReplyTarget(
  conversationId: ConversationId,
  target: Pick<Message, 'conversationId'> | undefined,
): boolean {
  return target !== undefined && target.conversationId === conversationId;
}
