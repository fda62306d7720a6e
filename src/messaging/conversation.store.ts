import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { insertRow } from '../common/db';
import { selectRows } from '../storage/bulk-insert';
import { Conversation } from '../storage/entities';

export interface ConversationKey {
  ownerId: string;
  accountId: string;
  /** The network's room id (unique per account). */
  remoteId: string;
  kind: 'direct' | 'group';
  title?: string;
  peerEndpointId?: string;
}

/**
 * The conversation of an account's room, created on first sight. Ingest (a message arrives) and the API
 * (the user joins or opens a chat) can meet on the same room; the unique (accountId, remoteId) decides,
 * and the loser reads the winner's row.
 */
export async function findOrCreateConversation(
  m: EntityManager,
  key: ConversationKey,
): Promise<Conversation> {
  const where = { accountId: key.accountId, remoteId: key.remoteId };
  const [found] = await selectRows(m, Conversation, where, { limit: 1 });
  if (found) return found;
  const conv = m.create(Conversation, {
    id: randomUUID(),
    ownerId: key.ownerId,
    accountId: key.accountId,
    remoteId: key.remoteId,
    kind: key.kind,
    title: key.title ?? key.remoteId,
    topic: null,
    peerEndpointId: key.peerEndpointId ?? null,
    unread: 0,
    lastMessageAt: null,
    createdAt: Date.now(),
  });
  try {
    await insertRow(m, Conversation, conv);
    return conv;
  } catch (err) {
    const winner = await m.findOne(Conversation, { where });
    if (winner) return winner;
    throw err;
  }
}
