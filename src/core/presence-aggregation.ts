import { isPresenceState, type Presence, type PresenceState } from '../sdk';

/**
 * How much a state says "reachable now", best first. Busy (do-not-disturb) ranks below away: an
 * endpoint where the person is merely away is a better way to reach them than one where they asked
 * not to be disturbed. Offline is knowledge; unknown is the lack of it.
 */
export const PRESENCE_RANK: Readonly<Record<PresenceState, number>> = {
  available: 4,
  away: 3,
  busy: 2,
  offline: 1,
  unknown: 0,
};

/** One endpoint's presence as the roster knows it. */
export interface EndpointPresence {
  presence: Presence;
  /** Whether our account on that network is connected; if not, its presence data is stale. */
  accountConnected: boolean;
  /** When the contact was last seen active there (ISO 8601), used when `presence.since` is absent. */
  lastActiveAt?: string;
}

export interface AggregatedPresence extends Presence {
  /** Index (in the input) of the endpoint whose presence this is; absent for an empty input. */
  decidedBy?: number;
}

/**
 * What an endpoint's presence counts as: through a disconnected account we simply do not know (the
 * contact may well be online), so it is `unknown`, never `offline`, and its status text is not shown.
 */
export function effectivePresence(endpoint: EndpointPresence): Presence {
  if (!endpoint.accountConnected || !isPresenceState(endpoint.presence.state)) return { state: 'unknown' };
  return endpoint.presence;
}

function timestamp(iso: string | undefined): number {
  if (iso === undefined) return Number.NEGATIVE_INFINITY;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? Number.NEGATIVE_INFINITY : t;
}

/**
 * A person's presence: the best of their endpoints' (available > away > busy > offline > unknown),
 * with the status text and `since` of the endpoint that decided it. Ties go to the most recent
 * `since` (or `lastActiveAt` where the network gives no `since`), then to the earlier endpoint.
 */
export function aggregatePresence(endpoints: readonly EndpointPresence[]): AggregatedPresence {
  let best: { index: number; presence: Presence; rank: number; time: number } | undefined;
  for (let index = 0; index < endpoints.length; index++) {
    const endpoint = endpoints[index]!;
    const presence = effectivePresence(endpoint);
    const rank = PRESENCE_RANK[presence.state];
    const time = timestamp(presence.since ?? endpoint.lastActiveAt);
    if (best === undefined || rank > best.rank || (rank === best.rank && time > best.time)) {
      best = { index, presence, rank, time };
    }
  }
  if (best === undefined) return { state: 'unknown' };
  const { state, status, since } = best.presence;
  return {
    state,
    ...(status !== undefined ? { status } : {}),
    ...(since !== undefined ? { since } : {}),
    decidedBy: best.index,
  };
}
