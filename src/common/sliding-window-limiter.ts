/**
 * At most `maxAttempts` recorded events per key in a sliding window: failed logins per (username, client
 * address), media downloads per client address. In memory per process: in cluster mode each instance counts
 * on its own (documented in README).
 */
export class SlidingWindowLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxAttempts: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until another attempt is allowed, or 0. */
  retryAfter(key: string): number {
    const list = this.prune(key);
    if (list.length < this.maxAttempts) return 0;
    return Math.max(1, (list[0] ?? 0) + this.windowMs - this.now());
  }

  record(key: string): void {
    const list = this.prune(key);
    list.push(this.now());
    this.failures.set(key, list);
    if (this.failures.size > 100_000) this.sweep();
  }

  reset(key: string): void {
    this.failures.delete(key);
  }

  private prune(key: string): number[] {
    const cutoff = this.now() - this.windowMs;
    const list = (this.failures.get(key) ?? []).filter((t) => t > cutoff);
    if (list.length === 0) this.failures.delete(key);
    return list;
  }

  private sweep(): void {
    for (const key of [...this.failures.keys()]) this.prune(key);
  }
}
