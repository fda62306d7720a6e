/** The event types API.md promises on the WebSocket stream (plus `replay.truncated`). */
export type ClientEventType =
  | 'account.state'
  | 'contact.updated'
  | 'contact.request'
  | 'presence.changed'
  | 'conversation.updated'
  | 'message.received'
  | 'message.updated'
  | 'message.status'
  | 'typing'
  | 'bridge.updated'
  | 'call.state'
  | 'replay.truncated';

export interface ClientEventFrame {
  type: ClientEventType;
  data: unknown;
  /** ISO 8601 with milliseconds; strictly increasing per user, so `?since=<at>` resumes exactly. */
  at: string;
  /** The event's position in the user's log (also accepted by `?since=`). */
  seq: number;
}
