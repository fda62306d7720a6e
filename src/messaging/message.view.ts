import { iso } from '../common/time';
import type { Message } from '../storage/entities';

/** A stored message as API.md shows it to clients (REST answers and WebSocket events alike). */
export function messageView(m: Message) {
  return {
    id: m.id,
    conversationId: m.conversationId,
    sender: { endpointId: m.senderEndpointId ?? undefined, displayName: m.senderName, self: m.self },
    text: m.text,
    html: m.html ?? undefined,
    replyTo: m.replyToId ?? undefined,
    editedAt: iso(m.editedAt),
    deleted: m.deleted || undefined,
    attachments: m.attachments ?? undefined,
    sentAt: iso(m.sentAt),
    status: m.status,
  };
}
