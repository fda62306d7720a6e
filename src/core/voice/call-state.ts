/**
 * The call session's state machine, pure: negotiating → ringing → connected → ended | failed. The calls
 * module feeds it what the network and the user did and stores what it returns.
 */

export const CALL_STATES = ['negotiating', 'ringing', 'connected', 'ended', 'failed'] as const;
export type CallSessionState = (typeof CALL_STATES)[number];

export const END_REASONS = ['hangup', 'rejected', 'busy', 'no_answer', 'failed'] as const;
export type CallEndReason = (typeof END_REASONS)[number];

export type CallEvent =
  | { type: 'ringing' }
  | { type: 'answered' }
  /** Either side hung up (or cancelled before the answer). */
  | { type: 'hangup' }
  | { type: 'rejected' }
  | { type: 'busy' }
  /** The answer timeout fired. */
  | { type: 'timeout' }
  | { type: 'error'; message?: string };

export interface CallStatus {
  state: CallSessionState;
  endReason?: CallEndReason;
}

export function isFinalState(s: CallSessionState): boolean {
  return s === 'ended' || s === 'failed';
}

/**
 * The next status, or `undefined` when the event does not apply in this state (a late "ringing" after
 * the answer, anything after the end): callers ignore it rather than failing the call.
 */
export function nextCallStatus(current: CallStatus, event: CallEvent): CallStatus | undefined {
  const s = current.state;
  if (isFinalState(s)) return undefined;
  switch (event.type) {
    case 'ringing':
      return s === 'negotiating' ? { state: 'ringing' } : undefined;
    case 'answered':
      return s === 'connected' ? undefined : { state: 'connected' };
    case 'hangup':
      return { state: 'ended', endReason: 'hangup' };
    case 'rejected':
      return s === 'connected'
        ? { state: 'ended', endReason: 'hangup' }
        : { state: 'ended', endReason: 'rejected' };
    case 'busy':
      return s === 'connected' ? undefined : { state: 'ended', endReason: 'busy' };
    case 'timeout':
      return s === 'connected' ? undefined : { state: 'ended', endReason: 'no_answer' };
    case 'error':
      return { state: 'failed', endReason: 'failed' };
  }
}

/**
 * Glare: both sides invited each other at once. Both ends apply the same rule to the same two ids, so
 * they agree without talking: the call with the lower id (code-point order) survives, the other is dropped
 * (as Matrix VoIP v1 does with call ids).
 */
export function glareWinner(ourCallId: string, theirCallId: string): 'ours' | 'theirs' {
  return ourCallId < theirCallId ? 'ours' : 'theirs';
}
