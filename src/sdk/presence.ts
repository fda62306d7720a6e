/** What a contact (or you) is doing, in one vocabulary every network maps into. */
export const PRESENCE_STATES = ['available', 'away', 'busy', 'offline', 'unknown'] as const;
export type PresenceState = (typeof PRESENCE_STATES)[number];

export interface Presence {
  state: PresenceState;
  /** The custom status message ("in a meeting until 3"), when the network carries one. */
  status?: string;
  /** When this state began, if the network says (ISO 8601). */
  since?: string;
}

export function isPresenceState(v: unknown): v is PresenceState {
  return typeof v === 'string' && (PRESENCE_STATES as readonly string[]).includes(v);
}
