import type { FormattedBody } from './formatting/model';
import type { RemoteMessageId, RemoteRoomId, TransactionId } from './ids';

/** A message the gateway asks an adapter to send. Retries of one send carry the same transactionId. */
export interface OutboundMessage {
  roomId: RemoteRoomId;
  transactionId: TransactionId;
  kind?: 'text' | 'notice' | 'emote';
  text: string;
  formatted?: FormattedBody;
  replyTo?: RemoteMessageId;
  /**
   * Files the text links to (served by the gateway, or links the sender's network gave): a network that
   * can mark a link as a file (XMPP XEP-0066 OOB) does, so its clients show it inline. The text already
   * carries the links; networks without such markup ignore this.
   */
  attachments?: { url: string; name: string; mimeType?: string }[];
}

/**
 * What a send returned. `messageIds` has more than one id when the network split the message
 * (IRC's 512-byte lines). `confirmed` is true when the network acknowledged delivery to the server
 * (Matrix event id, XMPP stream-management ack, IRC echo-message); false when the bytes were written
 * but the network cannot confirm them.
 */
export interface SendResult {
  messageIds: RemoteMessageId[];
  confirmed: boolean;
}

/**
 * Why a send failed, for the outbox: `retryable` failures are retried with backoff (disconnected,
 * rate-limited, server error); the others fail the message with the reason shown to the user.
 */
export class SendError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly code: string = retryable ? 'temporary' : 'rejected',
    /** For rate limits: when the network says to try again (ms). */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'SendError';
  }
}

export function isSendError(e: unknown): e is SendError {
  return e instanceof Error && e.name === 'SendError' && typeof (e as SendError).retryable === 'boolean';
}
