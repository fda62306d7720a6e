import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from '../common/logger';
import type { EnqueueResult, QueuePort } from '../queue';
import { LOGGER, QUEUE } from '../tokens';
import { OUTBOX_QUEUE, sendJob, type OutboxJob, type OutboxJobSpec } from './outbox.jobs';

/** Messages a lane hands to one `deliverMany` call at most. */
const LANE_BATCH = 64;

interface Lane {
  ids: string[];
  running: boolean;
  /** Set while the lane waits for confirmations: new copies wake it to write them at once. */
  wake?: () => void;
}

/** What `OutboxService.deliverMany` reports: how many of the ids were handled, and why it stopped. */
export type DeliverOutcome = { sent: number; failed?: { err: unknown } };

/**
 * The fast path to the networks for bridge copies. A copy is already stored `queued` (durable: the boot
 * sweep sends whatever a crash leaves), so while its conversation has no durable outbox job waiting in
 * this process, it is sent at once through an in-process lane per conversation (in order, a backlog in one
 * batch) instead of paying three queue commits and a worker wake-up. The first send a lane cannot make
 * hands that message and everything after it to the durable queue, which retries with backoff; new copies
 * for that conversation then queue behind them until the queue has handled them. All outbox jobs are
 * enqueued through here, so the lanes know what is waiting. `inFlight` keeps a lane and a queue worker
 * from sending one message at the same time.
 */
@Injectable()
export class OutboxLanes {
  /** Durable jobs per conversation enqueued by this process and not handled yet. */
  private readonly pending = new Map<string, number>();
  private readonly lanes = new Map<string, Lane>();
  /** Message ids being sent right now, by a lane or a queue worker. */
  readonly inFlight = new Set<string>();
  /** The outbox's sender, set once it is ready (before that, everything goes through the queue). */
  runner?: (messageIds: string[], onWritten: () => void) => Promise<DeliverOutcome>;

  constructor(
    @Inject(QUEUE) private readonly queue: QueuePort,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  private add(conversationId: string | undefined, n: number): void {
    if (conversationId === undefined) return;
    const v = Math.max(0, (this.pending.get(conversationId) ?? 0) + n);
    if (v === 0) this.pending.delete(conversationId);
    else this.pending.set(conversationId, v);
  }

  /**
   * Durable outbox jobs (API sends, edits, deletions, the boot sweep). `countExisting`: a job that is
   * already in the queue (left by a previous run of the process) counts as waiting too.
   */
  async enqueue(
    jobs: readonly OutboxJobSpec[],
    opts: { countExisting?: boolean } = {},
  ): Promise<EnqueueResult[]> {
    if (jobs.length === 0) return [];
    // Counted first: a worker may finish a job before enqueueMany returns.
    for (const j of jobs) this.add(j.group, 1);
    let results: EnqueueResult[];
    try {
      results = await this.queue.enqueueMany<OutboxJob>(OUTBOX_QUEUE, jobs);
    } catch (err) {
      for (const j of jobs) this.add(j.group, -1);
      throw err;
    }
    if (!opts.countExisting) results.forEach((r, i) => !r.added && this.add(jobs[i]!.group, -1));
    return results;
  }

  /** Queue workers report the jobs they finished (completed, or failed for good). */
  handled(jobs: readonly { group?: string }[]): void {
    for (const j of jobs) this.add(j.group, -1);
  }

  /** New copies: through their conversation's lane when nothing durable waits there, else the queue. */
  async send(jobs: readonly OutboxJobSpec[]): Promise<void> {
    const durable: OutboxJobSpec[] = [];
    const queued = new Set<string | undefined>(); // a later job of these conversations must not overtake
    const touched = new Map<string, Lane>();
    for (const job of jobs) {
      const conv = job.group;
      const op = job.data.op ?? 'send';
      if (!this.runner || conv === undefined || op !== 'send' || this.pending.has(conv) || queued.has(conv)) {
        durable.push(job);
        queued.add(conv);
        continue;
      }
      let lane = this.lanes.get(conv);
      if (!lane) this.lanes.set(conv, (lane = { ids: [], running: false }));
      lane.ids.push(job.data.messageId);
      touched.set(conv, lane);
    }
    // Started after all are in: a burst handed over at once is one batch.
    for (const [conv, lane] of touched) {
      if (!lane.running) void this.run(conv, lane);
      else lane.wake?.();
    }
    await this.enqueue(durable);
  }

  /**
   * Sends the lane's messages in order, a batch at a time. The next batch is written as soon as the previous
   * one is written, without waiting for the network to confirm it and for its record to commit (XMPP
   * pipelines: a ping confirms everything before it on the stream), so a busy room's copies never wait for a
   * round trip and an fsync per batch. Outcomes are taken in order: a batch that failed hands its unsent rest
   * to the durable queue after any earlier batch's rest, and the lane writes nothing more in this run (what
   * came after it is handed over too, in order).
   */
  private async run(conv: string, lane: Lane): Promise<void> {
    lane.running = true;
    // The outcomes of the batches written so far, taken in order; `false` once one of them failed.
    let settled: Promise<boolean> = Promise.resolve(true);
    let outstanding = 0;
    let failed = false;
    try {
      for (;;) {
        if (lane.ids.length === 0 || failed) {
          if (outstanding === 0) {
            // A failure stops this run: whatever is left queues behind the handed-over rest.
            if (failed && lane.ids.length > 0) await this.handOver(conv, lane.ids.splice(0), undefined);
            break;
          }
          // Confirmations outstanding: wait for them, or for new copies to write meanwhile.
          await Promise.race([settled, new Promise<void>((r) => (lane.wake = r))]);
          lane.wake = undefined;
          continue;
        }
        // Durable work for this conversation appeared meanwhile: the rest queues behind it, in order.
        if (this.pending.has(conv) || !this.runner) {
          await settled;
          await this.handOver(conv, lane.ids.splice(0), undefined);
          continue;
        }
        const ids = lane.ids.splice(0, LANE_BATCH);
        let onWritten!: () => void;
        const written = new Promise<void>((r) => (onWritten = r));
        const outcome = this.runner(ids, onWritten).catch((err: unknown): DeliverOutcome => ({
          sent: 0,
          failed: { err },
        }));
        outstanding += 1;
        // A failure stops the writing at once; its hand-over waits for the earlier batches' outcomes.
        void outcome.then((o) => {
          if (o.failed) failed = true;
        });
        const before = settled;
        settled = (async () => {
          const ok = await before;
          const o = await outcome;
          outstanding -= 1;
          if (!o.failed) return ok;
          await this.handOver(conv, ids.slice(o.sent), o.failed.err);
          return false;
        })();
        await Promise.race([written, outcome]);
      }
    } finally {
      lane.running = false;
      lane.wake = undefined;
      if (lane.ids.length === 0) this.lanes.delete(conv);
      else void this.run(conv, lane); // arrived while handing over
    }
  }

  private async handOver(conv: string, ids: string[], err: unknown): Promise<void> {
    if (ids.length === 0) return;
    if (err !== undefined)
      this.logger.debug('a send could not be made at once; the outbox queue retries it', {
        conversation: conv,
        count: ids.length,
        err: err instanceof Error ? err.message : JSON.stringify(err),
      });
    try {
      await this.enqueue(ids.map((id) => sendJob(id, conv)));
    } catch (e) {
      // The messages stay `queued` in the database: the boot sweep sends them.
      this.logger.warn('could not queue copies for a retry; they are sent at the next start', {
        conversation: conv,
        count: ids.length,
        err: String(e),
      });
    }
  }
}
