import type { Presence, PresenceState } from '@switchboard/sdk';

/** One resource's last available presence. */
export interface ResourcePresence {
  /** XMPP `<show/>`: absent means plain available. */
  show?: 'chat' | 'away' | 'xa' | 'dnd';
  status?: string;
  priority: number;
  /** Order of arrival, to break ties by recency. */
  seq: number;
}

export function parseShow(v: string | null | undefined): ResourcePresence['show'] {
  return v === 'chat' || v === 'away' || v === 'xa' || v === 'dnd' ? v : undefined;
}

export function showToState(show: ResourcePresence['show']): PresenceState {
  switch (show) {
    case undefined:
    case 'chat':
      return 'available';
    case 'away':
    case 'xa':
      return 'away';
    case 'dnd':
      return 'busy';
  }
}

/** Most present first: someone free to chat beats available, beats away, beats extended away, beats dnd. */
const SHOW_RANK: Record<string, number> = { chat: 5, available: 4, away: 3, xa: 2, dnd: 1 };
const rank = (p: ResourcePresence): number => SHOW_RANK[p.show ?? 'available'] ?? 0;

/**
 * One contact's presence from all its online resources: the best `show` wins, then the higher priority,
 * then the most recent. Offline when no resource is online. `resource` names the resource that won.
 */
export function aggregatePresence(resources: ReadonlyMap<string, ResourcePresence>): {
  presence: Presence;
  resource?: string;
} {
  let best: [string, ResourcePresence] | undefined;
  for (const entry of resources) {
    if (best === undefined) {
      best = entry;
      continue;
    }
    const [, b] = best;
    const [, c] = entry;
    const better =
      rank(c) > rank(b) ||
      (rank(c) === rank(b) && (c.priority > b.priority || (c.priority === b.priority && c.seq > b.seq)));
    if (better) best = entry;
  }
  if (best === undefined) return { presence: { state: 'offline' } };
  const [resource, p] = best;
  return {
    presence: { state: showToState(p.show), ...(p.status ? { status: p.status } : {}) },
    resource,
  };
}
