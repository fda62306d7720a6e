import type { FormattedBody } from './formatting/model';
import type { CallId, RemoteMessageId, RemoteRoomId, RemoteUserId, TransactionId } from './ids';
import type { Presence } from './presence';
import type { RemoteAttachment, RoomKind } from './events';
import type { OutboundMessage } from './outbound';

/**
 * Optional features are small interfaces a client implements when its network can do them, each with
 * a type guard; there is no fat interface whose methods throw "not implemented".
 */

export interface PresenceCapable {
  setPresence(presence: Presence): Promise<void>;
}

export interface RosterContact {
  userId: RemoteUserId;
  displayName?: string;
}
export interface RosterCapable {
  listContacts(): Promise<RosterContact[]>;
  addContact(userId: RemoteUserId, opts?: { message?: string }): Promise<void>;
  removeContact(userId: RemoteUserId): Promise<void>;
  /** Answer a `contact.request` (XMPP subscription request and the like). */
  answerContactRequest?(userId: RemoteUserId, accept: boolean): Promise<void>;
}

export interface RoomSummary {
  roomId: RemoteRoomId;
  kind: RoomKind;
  title?: string;
}
export interface RoomsCapable {
  joinRoom(address: string): Promise<RoomSummary>;
  leaveRoom(roomId: RemoteRoomId): Promise<void>;
  /** Open (or find) the direct conversation with a user. */
  openDirect(userId: RemoteUserId): Promise<RoomSummary>;
  listRooms(): Promise<RoomSummary[]>;
  setTopic?(roomId: RemoteRoomId, topic: string): Promise<void>;
}

export interface TypingCapable {
  setTyping(roomId: RemoteRoomId, typing: boolean): Promise<void>;
}

export interface ReceiptsCapable {
  markRead(roomId: RemoteRoomId, messageId: RemoteMessageId): Promise<void>;
}

export interface EditCapable {
  editMessage(
    roomId: RemoteRoomId,
    messageId: RemoteMessageId,
    text: string,
    formatted: FormattedBody | undefined,
    transactionId: TransactionId,
  ): Promise<void>;
}

export interface RedactCapable {
  redactMessage(roomId: RemoteRoomId, messageId: RemoteMessageId, reason?: string): Promise<void>;
}

/** Native replies: the adapter honours `OutboundMessage.replyTo`. A marker interface with a flag. */
export interface ReplyCapable {
  readonly nativeReplies: true;
}

export interface ReactionsCapable {
  react(
    roomId: RemoteRoomId,
    messageId: RemoteMessageId,
    key: string,
    transactionId: TransactionId,
  ): Promise<void>;
}

export interface AttachmentsCapable {
  sendAttachment(
    roomId: RemoteRoomId,
    /** `caption`: the text shown with the file (a relay's attribution); the file name when absent. */
    file: { name: string; mimeType: string; data: Uint8Array; caption?: string },
    transactionId: TransactionId,
  ): Promise<RemoteMessageId>;
  /**
   * The file behind an attachment this network sent, at most `maxBytes` (larger: throw). Failures are
   * `SendError`s: retryable when trying again later may help (the server is down or busy, the connection
   * failed), so the gateway holds the bridged copy back and retries; `code: 'too_large'` past `maxBytes`;
   * anything else is final and the copy says the file could not be fetched.
   */
  fetchAttachment(
    attachment: RemoteAttachment,
    maxBytes: number,
  ): Promise<{ mimeType: string; data: Uint8Array }>;
  /**
   * Optional (SDK 1.2): whether this account can take this file now — e.g. the XMPP server offers HTTP
   * upload with a large enough limit. When false the gateway sends a link instead. Absent: every file.
   */
  acceptsAttachment?(file: { name: string; mimeType: string; size: number }): Promise<boolean>;
}

export interface HistoryCapable {
  /** Emit `message` events with `backfill: true` for what was missed since `after` (a message id or time). */
  backfill(
    roomId: RemoteRoomId,
    after: { messageId?: RemoteMessageId; at?: string },
    limit: number,
  ): Promise<number>;
}

/**
 * A network that cannot confirm a line written just before a crash (IRC) but replays recent history on join
 * (InspIRCd's channel mode +H, IRCv3 chathistory) can tell afterwards whether the line got through.
 */
export interface SentCheckCapable {
  /**
   * The remote ids of the gateway's own earlier post of `message` (exactly what `send` was given), said at
   * or after `notBefore` (ISO 8601), as the network's replay shows it (every line of a split message); `undefined` when it is not there or the room has no replay
   * (then the gateway sends the message again). Resolves once the replay of the room's latest join has been
   * read (or after a few seconds without one). A line matched once is never matched again, so two messages
   * with the same text are told apart.
   */
  findOwnSend(message: OutboundMessage, notBefore: string): Promise<RemoteMessageId[] | undefined>;
}

/**
 * A network whose sends can be written back to back and confirmed together (XMPP: the server's answer to
 * one ping proves it took every stanza written before it), so a backlog goes out without a round trip per
 * message.
 */
export interface PipelinedSendCapable {
  /**
   * Writes the message like `send` and resolves once it is written (messages are written in call order),
   * with its ids and `confirmed`, which settles like `send` would have: true when the network confirmed it,
   * or a `SendError` (retryable when it cannot tell).
   */
  sendPipelined(
    message: OutboundMessage,
  ): Promise<{ messageIds: RemoteMessageId[]; confirmed: Promise<boolean> }>;
}

export interface CallOffer {
  callId: CallId;
  to: RemoteUserId;
  roomId?: RemoteRoomId;
  media: 'audio' | 'video';
  sdp: string;
}
/** A STUN or TURN server a network offers its users (Matrix `/voip/turnServer`, XMPP XEP-0215). */
export interface IceServerInfo {
  urls: string[];
  username?: string;
  credential?: string;
  /** When time-limited credentials expire (ISO 8601). */
  expiresAt?: string;
}
export interface VoiceCapable {
  placeCall(offer: CallOffer): Promise<void>;
  answerCall(callId: CallId, sdp: string): Promise<void>;
  sendCandidates(
    callId: CallId,
    candidates: { candidate: string; sdpMid?: string; sdpMLineIndex?: number }[],
  ): Promise<void>;
  hangup(callId: CallId, reason: 'hangup' | 'rejected' | 'busy' | 'no_answer' | 'failed'): Promise<void>;
  /** Optional: the ICE servers the network offers (the gateway adds them to the ones it hands clients). */
  iceServers?(): Promise<IceServerInfo[]>;
}

function hasMethods(o: unknown, ...names: string[]): boolean {
  if (typeof o !== 'object' || o === null) return false;
  const rec = o as Record<string, unknown>;
  return names.every((n) => typeof rec[n] === 'function');
}

export const isPresenceCapable = (c: unknown): c is PresenceCapable => hasMethods(c, 'setPresence');
export const isRosterCapable = (c: unknown): c is RosterCapable =>
  hasMethods(c, 'listContacts', 'addContact', 'removeContact');
export const isRoomsCapable = (c: unknown): c is RoomsCapable =>
  hasMethods(c, 'joinRoom', 'leaveRoom', 'openDirect', 'listRooms');
export const isTypingCapable = (c: unknown): c is TypingCapable => hasMethods(c, 'setTyping');
export const isReceiptsCapable = (c: unknown): c is ReceiptsCapable => hasMethods(c, 'markRead');
export const isEditCapable = (c: unknown): c is EditCapable => hasMethods(c, 'editMessage');
export const isRedactCapable = (c: unknown): c is RedactCapable => hasMethods(c, 'redactMessage');
export const isReplyCapable = (c: unknown): c is ReplyCapable =>
  typeof c === 'object' && c !== null && (c as { nativeReplies?: unknown }).nativeReplies === true;
export const isReactionsCapable = (c: unknown): c is ReactionsCapable => hasMethods(c, 'react');
export const isAttachmentsCapable = (c: unknown): c is AttachmentsCapable =>
  hasMethods(c, 'sendAttachment', 'fetchAttachment');
export const isHistoryCapable = (c: unknown): c is HistoryCapable => hasMethods(c, 'backfill');
export const isSentCheckCapable = (c: unknown): c is SentCheckCapable => hasMethods(c, 'findOwnSend');
export const isPipelinedSendCapable = (c: unknown): c is PipelinedSendCapable =>
  hasMethods(c, 'sendPipelined');
export const isVoiceCapable = (c: unknown): c is VoiceCapable =>
  hasMethods(c, 'placeCall', 'answerCall', 'sendCandidates', 'hangup');

/** The capability names reported by `GET /api/v1/adapters`, derived from a client by the guards. */
export const CAPABILITY_GUARDS = {
  presence: isPresenceCapable,
  roster: isRosterCapable,
  rooms: isRoomsCapable,
  typing: isTypingCapable,
  receipts: isReceiptsCapable,
  edit: isEditCapable,
  redact: isRedactCapable,
  reply: isReplyCapable,
  reactions: isReactionsCapable,
  attachments: isAttachmentsCapable,
  history: isHistoryCapable,
  voice: isVoiceCapable,
} as const;
export type CapabilityName = keyof typeof CAPABILITY_GUARDS;
export type CapabilitySet = Partial<Record<CapabilityName, boolean>>;
