import type { JobSpec } from '../queue';
import { OUTBOX_QUEUE } from './queues';

/** One outbox job: send a message, or carry an edit or deletion of it to the network. */
export interface OutboxJob {
  messageId: string;
  op?: 'send' | 'edit' | 'redact';
  /** For edits: the text of this edit (later edits are jobs of their own). */
  text?: string;
  /** For edits: its formatting as sanitized HTML (a bridged copy's bold name and pills), when it has any. */
  html?: string;
  /** Enqueued by the boot sweep: the message may have been on its way when the last process died. */
  swept?: boolean;
}

/** An outbox job ready for `queue.enqueue(OUTBOX_QUEUE, …)`: ids dedupe, groups keep a conversation's order. */
export type OutboxJobSpec = JobSpec<OutboxJob>;

export { OUTBOX_QUEUE };

// Retryable failures (disconnected, rate limited) keep trying with capped backoff: about a week.
const ATTEMPTS = 10_000;

export const sendJob = (messageId: string, conversationId: string, swept = false): OutboxJobSpec => ({
  id: `send:${messageId}`,
  group: conversationId,
  data: swept ? { messageId, swept } : { messageId },
  maxAttempts: ATTEMPTS,
});

export const editJob = (
  messageId: string,
  conversationId: string,
  text: string,
  editedAt: number,
  html?: string | null,
): OutboxJobSpec => ({
  id: `edit:${messageId}:${editedAt}`,
  group: conversationId,
  data: { messageId, op: 'edit', text, ...(html ? { html } : {}) },
  maxAttempts: ATTEMPTS,
});

export const redactJob = (messageId: string, conversationId: string): OutboxJobSpec => ({
  id: `redact:${messageId}`,
  group: conversationId,
  data: { messageId, op: 'redact' },
  maxAttempts: ATTEMPTS,
});
