import { Injectable } from '@nestjs/common';

/** Transaction ids remembered at most; the oldest go first. */
const MAX_IDS = 50_000;

/**
 * The transaction ids of sends this process is making or has just made. A network hands our own message
 * back (IRC echo-message, a MUC's reflection, Matrix sync) carrying that id; the outbox already records the
 * remote ids its send returned, so the echo has nothing to add and is dropped at the door instead of costing
 * a durable job. After a crash the list is empty and echoes take the full path again, which is safe.
 */
@Injectable()
export class OwnSends {
  private readonly ids = new Set<string>();

  /** Called before the send is written, because an echo can arrive before the send returns. */
  expect(transactionId: string): void {
    this.ids.delete(transactionId);
    this.ids.add(transactionId);
    if (this.ids.size > MAX_IDS) {
      const oldest = this.ids.values().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
  }

  has(transactionId: string): boolean {
    return this.ids.has(transactionId);
  }
}
