import { Injectable } from '@nestjs/common';
import { MetricsService } from '../api/health/metrics.service';

/** Copies remembered at most while they wait to go out; the oldest are forgotten first. */
const MAX_WAITING = 50_000;

/**
 * How long a bridged message takes to cross the gateway: from the moment its network's adapter handed it
 * over to the moment its copy was written to the target network (`switchboard_relay_latency_seconds`, by
 * target adapter). It covers storing the message and its copies, the commit and the wait for the disk, the
 * outbox and any retries, and leaves out both servers and the network. Measured for copies made and sent by
 * the same process (a copy still waiting when the process stops is not counted after the restart).
 */
@Injectable()
export class RelayClock {
  private readonly waiting = new Map<string, number>();

  constructor(private readonly metrics: MetricsService) {}

  /** The copies just stored for messages received at `receivedAt` (a `performance.now()` time). */
  received(copyIds: readonly string[], receivedAt: number): void {
    for (const id of copyIds) {
      this.waiting.delete(id);
      this.waiting.set(id, receivedAt);
    }
    for (const id of this.waiting.keys()) {
      if (this.waiting.size <= MAX_WAITING) break;
      this.waiting.delete(id);
    }
  }

  /** A copy was written to its network (observed once), or will never be (`adapter` undefined). */
  done(copyId: string, adapter?: string): void {
    const at = this.waiting.get(copyId);
    if (at === undefined) return;
    this.waiting.delete(copyId);
    if (adapter !== undefined)
      this.metrics.relayLatency.observe({ adapter }, (performance.now() - at) / 1000);
  }
}
