/**
 * An account's connection, as the buddy list shows it. `connect()` never throws: every failure becomes
 * one of these states (after mautrix bridgev2's bridge states).
 */
export const CONNECTION_STATES = [
  'connecting',
  'connected',
  'transient_disconnect',
  'bad_credentials',
  'logged_out',
  'error',
] as const;
export type ConnectionState = (typeof CONNECTION_STATES)[number];

export interface ConnectionStatus {
  state: ConnectionState;
  /** A sentence for a person: why the account is in this state ("server closed the connection"). */
  message?: string;
  /** A short stable code for programs ("ping_timeout", "sasl_failed"). */
  code?: string;
  /** Whether the gateway should retry by itself (false for bad credentials or a deliberate logout). */
  retryable?: boolean;
}

/** States from which the registry reconnects with backoff. */
export function isRetryableState(s: ConnectionStatus): boolean {
  if (s.retryable !== undefined) return s.retryable;
  return s.state === 'transient_disconnect' || s.state === 'error';
}
