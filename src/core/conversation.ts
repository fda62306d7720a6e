import type { AccountId, RemoteRoomId, RoomKind } from '../sdk';
import type { ConversationId, EndpointId } from './ids';
import type { Message } from './message';

export type ConversationKind = RoomKind;

/** A chat as the inbox shows it: one room, channel or direct chat of one of our accounts. */
export interface Conversation {
  id: ConversationId;
  accountId: AccountId;
  /** The adapter id of the network. */
  network: string;
  /** The network's address of the conversation (unique within the account). */
  remoteId: RemoteRoomId;
  kind: ConversationKind;
  title: string;
  unread: number;
  lastMessageAt?: string;
  /** For a direct conversation: the endpoint on the other side. */
  peerEndpointId?: EndpointId;
  topic?: string;
  encrypted?: boolean;
}

function time(iso: string | undefined): number {
  const t = iso === undefined ? Number.NaN : Date.parse(iso);
  return Number.isNaN(t) ? Number.NEGATIVE_INFINITY : t;
}

/**
 * The conversation after a new message: `lastMessageAt` moves forward only (backfill of older
 * history does not), a message from someone else counts as unread, and one of our own (from here
 * or another client of ours) means we have read the conversation.
 */
export function withMessage(
  conversation: Conversation,
  message: Pick<Message, 'sentAt'> & { sender: Pick<Message['sender'], 'self'> },
): Conversation {
  const newer = time(message.sentAt) > time(conversation.lastMessageAt);
  return {
    ...conversation,
    unread: message.sender.self ? 0 : conversation.unread + 1,
    ...(newer ? { lastMessageAt: message.sentAt } : {}),
  };
}

export function markRead(conversation: Conversation): Conversation {
  return conversation.unread === 0 ? conversation : { ...conversation, unread: 0 };
}
