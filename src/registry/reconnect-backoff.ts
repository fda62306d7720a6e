/** How the supervisor paces reconnects. All durations in milliseconds. */
export interface ReconnectPolicy {
  /** Ceiling of the first retry's delay. */
  initialDelayMs: number;
  /** The ceiling never grows past this. */
  maxDelayMs: number;
  multiplier: number;
  /** Connected this long without trouble resets the backoff to the first step. */
  stableAfterMs: number;
  /** `connect()` that reports no outcome (connected or a failure state) within this is treated as hung. */
  connectTimeoutMs: number;
  /** How long a disposed client's `disconnect()` may take before the supervisor moves on. */
  disconnectTimeoutMs: number;
}

export const DEFAULT_RECONNECT_POLICY: Readonly<ReconnectPolicy> = Object.freeze({
  initialDelayMs: 1_000,
  maxDelayMs: 5 * 60_000,
  multiplier: 2,
  stableAfterMs: 60_000,
  connectTimeoutMs: 60_000,
  disconnectTimeoutMs: 10_000,
});

/** The upper bound of the delay before retry number `attempt` (0 for the first retry). */
export function backoffCeiling(attempt: number, policy: ReconnectPolicy): number {
  // Exponent capped so a long outage cannot overflow to Infinity/NaN.
  const raw = policy.initialDelayMs * Math.pow(policy.multiplier, Math.min(Math.max(attempt, 0), 64));
  return Math.min(policy.maxDelayMs, raw);
}

/**
 * "Full jitter" (AWS Architecture Blog, Exponential Backoff and Jitter): a uniform delay in
 * [0, ceiling], so accounts that dropped together (a server restart) do not reconnect in lockstep.
 */
export function backoffDelay(attempt: number, policy: ReconnectPolicy, random: () => number): number {
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.floor(r * backoffCeiling(attempt, policy));
}
