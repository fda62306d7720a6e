import type { RemoteEvent } from '../sdk';
import type { AccountRef } from './queues';

/** Events per flush at most; a longer burst is several flushes, still in order. */
const MAX_EVENTS = 2000;

interface Buffer {
  account: AccountRef;
  events: RemoteEvent[];
  /** When its first event was added (`performance.now()`). */
  since: number;
  done: Promise<void>;
  resolve(): void;
  reject(e: unknown): void;
}

interface AccountQueue {
  buffers: Buffer[];
  /** A flush is scheduled or running: a new buffer waits for it (one account's flushes never overlap). */
  busy: boolean;
}

/**
 * Group commit for inbound events: what one account emits within the same turn of the event loop (or
 * while its previous flush is being written) is handed to `flush` as one ordered list, so the durable
 * queue commits once for many events instead of once per event (an fsync each in the embedded queue).
 * Each caller's promise resolves when the flush holding its event is durable, so `ctx.emit` keeps its
 * meaning; events of one account are flushed in the order they were added.
 */
export class IngestBatcher {
  private readonly accounts = new Map<string, AccountQueue>();

  constructor(
    private readonly flush: (account: AccountRef, events: RemoteEvent[], since: number) => Promise<void>,
  ) {}

  add(account: AccountRef, event: RemoteEvent): Promise<void> {
    let q = this.accounts.get(account.accountId);
    if (!q) this.accounts.set(account.accountId, (q = { buffers: [], busy: false }));
    let b = q.buffers[q.buffers.length - 1];
    if (!b || b.events.length >= MAX_EVENTS) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const done = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // The callers get the rejection; this only keeps one nobody awaits from crashing the process.
      done.catch(() => undefined);
      b = { account, events: [], since: performance.now(), done, resolve, reject };
      q.buffers.push(b);
    }
    b.events.push(event);
    if (!q.busy) {
      q.busy = true;
      setImmediate(() => void this.drain(account.accountId));
    }
    return b.done;
  }

  private async drain(accountId: string): Promise<void> {
    const q = this.accounts.get(accountId);
    if (!q) return;
    for (let b = q.buffers.shift(); b; b = q.buffers.shift()) {
      try {
        await this.flush(b.account, b.events, b.since);
        b.resolve();
      } catch (e) {
        b.reject(e);
      }
    }
    q.busy = false;
    this.accounts.delete(accountId);
  }
}
