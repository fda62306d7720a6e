/**
 * A token bucket for outbound lines: `burst` lines may go at once, then one per `intervalMs`, so an
 * account stays under the server's flood limit instead of being fakelagged or killed for flooding.
 * Lines leave in the order they were queued.
 */
export class SendQueue {
  private tokens: number;
  private last = Date.now();
  private tail: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly waits = new Map<NodeJS.Timeout, () => void>();

  constructor(
    private readonly burst: number,
    private readonly intervalMs: number,
  ) {
    this.tokens = burst;
  }

  /** Runs `write` when the bucket allows; rejects if the queue is closed before. */
  push<T>(write: () => T): Promise<T> {
    const run = this.tail.then(async () => {
      await this.take();
      if (this.closed) throw new Error('the connection closed before the line was sent');
      return write();
    });
    this.tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  close(): void {
    this.closed = true;
    for (const [t, resolve] of this.waits) {
      clearTimeout(t);
      resolve();
    }
    this.waits.clear();
  }

  private refill(): void {
    if (this.intervalMs <= 0) {
      this.tokens = this.burst;
      return;
    }
    const now = Date.now();
    const gained = Math.floor((now - this.last) / this.intervalMs);
    if (gained > 0) {
      this.tokens = Math.min(this.burst, this.tokens + gained);
      this.last += gained * this.intervalMs;
    }
    if (this.tokens >= this.burst) this.last = now;
  }

  private async take(): Promise<void> {
    for (;;) {
      if (this.closed) return;
      this.refill();
      if (this.tokens > 0) {
        this.tokens -= 1;
        return;
      }
      const wait = Math.max(1, this.last + this.intervalMs - Date.now());
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.waits.delete(t);
          resolve();
        }, wait);
        this.waits.set(t, resolve);
      });
    }
  }
}
