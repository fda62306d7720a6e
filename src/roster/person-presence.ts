import { iso } from '../common/time';
import { aggregatePresence, effectivePresence } from '../core';
import type { Presence } from '../sdk';
import type { Endpoint } from '../storage/entities';

function stored(e: Endpoint): Presence {
  return {
    state: e.presenceState,
    ...(e.presenceStatus ? { status: e.presenceStatus } : {}),
    ...(e.presenceSince ? { since: iso(e.presenceSince) } : {}),
  };
}

/** One endpoint's presence as clients see it: `unknown` while our account on that network is not connected. */
export function endpointPresence(e: Endpoint, accountConnected: boolean): Presence {
  return effectivePresence({ presence: stored(e), accountConnected });
}

/** A person's presence from their stored endpoints (src/core's rule: the best endpoint decides). */
export function personPresence(
  endpoints: readonly Endpoint[],
  isConnected: (accountId: string) => boolean,
): Presence {
  const { decidedBy: _decidedBy, ...presence } = aggregatePresence(
    endpoints.map((e) => ({
      presence: stored(e),
      accountConnected: isConnected(e.accountId),
      lastActiveAt: iso(e.lastActiveAt),
    })),
  );
  return presence;
}
