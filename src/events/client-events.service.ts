import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { DataSource, LessThan, MoreThan, type EntityManager } from 'typeorm';
import type { AppConfig } from '../config';
import type { Logger } from '../common/logger';
import { insertMany } from '../storage/bulk-insert';
import { ClientEvent } from '../storage/entities';
import { CONFIG, DATA_SOURCE, LOGGER } from '../tokens';
import type { ClientEventFrame, ClientEventType } from './client-event.types';

type Listener = (frame: ClientEventFrame) => void;

const texts = new WeakMap<ClientEventFrame, string>();

/**
 * A frame as JSON text, made once per frame however many connections it goes to: a user with hundreds of
 * open clients would otherwise serialize the same event hundreds of times.
 */
export function frameText(frame: ClientEventFrame): string {
  let text = texts.get(frame);
  if (text === undefined) texts.set(frame, (text = JSON.stringify(frame)));
  return text;
}

/**
 * The per-user event log behind the WebSocket stream: every event is stored (bounded by retention) and
 * pushed to the user's live connections; a reconnecting client replays what it missed with `since`.
 */
@Injectable()
export class ClientEventsService implements OnModuleDestroy {
  private readonly listeners = new Map<string, Set<Listener>>();
  private lastAt = 0;
  private lastAtLoaded = false;
  private readonly pruneTimer: NodeJS.Timeout;
  // Writes of one user are chained so that `at` order equals insertion order.
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.pruneTimer = setInterval(() => void this.prune(), 10 * 60_000);
    this.pruneTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.pruneTimer);
  }

  private get repo() {
    return this.ds.getRepository(ClientEvent);
  }

  /**
   * Where the previous run of the process left off. A burst takes stamps ahead of the clock (one per
   * millisecond), so a restarted process that began from its own clock would stamp new events earlier
   * than old ones, and a client resuming with `since=<at>` would skip them.
   */
  private async loadLastAt(m: EntityManager): Promise<void> {
    if (this.lastAtLoaded) return;
    const [last] = await m.find(ClientEvent, { select: { at: true }, order: { seq: 'DESC' }, take: 1 });
    this.lastAt = Math.max(this.lastAt, last?.at ?? 0);
    this.lastAtLoaded = true;
  }

  /** Strictly increasing millisecond stamps, so no two events share an `at`, also across restarts. */
  private nextAt(): number {
    this.lastAt = Math.max(Date.now(), this.lastAt + 1);
    return this.lastAt;
  }

  async publish(userId: string, type: ClientEventType, data: unknown): Promise<ClientEventFrame> {
    const run = this.chain.then(async () => {
      await this.loadLastAt(this.ds.manager);
      const at = this.nextAt();
      // insert(), not save(): save() opens a transaction of its own, which SQLite's single connection must not.
      const res = await this.repo.insert({ userId, type, data: data as object, at });
      const seq = Number((res.identifiers[0] as { seq?: unknown } | undefined)?.seq);
      if (!Number.isSafeInteger(seq)) throw new Error('the event log did not return the new sequence number');
      const frame: ClientEventFrame = { type, data, at: new Date(at).toISOString(), seq };
      this.notify(userId, [frame]);
      return frame;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /**
   * Several events of one user at once, in order: one transaction of multi-row inserts instead of one
   * statement (and commit) per event. For bursts such as a roster of thousands arriving at login.
   */
  async publishMany(
    userId: string,
    items: readonly { type: ClientEventType; data: unknown }[],
  ): Promise<ClientEventFrame[]> {
    if (items.length === 0) return [];
    const run = this.chain.then(async () => {
      const { frames, deliver } = await this.ds.transaction((m) => this.insertFrames(m, userId, items));
      deliver();
      return frames;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /**
   * Events written inside the caller's transaction (one commit for a message and its events); the returned
   * function, called after the commit, pushes them to live connections. On SQLite transactions run one at
   * a time and every event is stamped inside one, so stamps follow commit order. Other databases run
   * transactions side by side: there the events are published after the commit instead.
   */
  async stage(
    m: EntityManager,
    userId: string,
    items: readonly { type: ClientEventType; data: unknown }[],
  ): Promise<() => Promise<void>> {
    if (items.length === 0) return () => Promise.resolve();
    if (this.ds.options.type !== 'better-sqlite3')
      return async () => {
        await this.publishMany(userId, items);
      };
    const { deliver } = await this.insertFrames(m, userId, items);
    return () => {
      deliver();
      return Promise.resolve();
    };
  }

  private async insertFrames(
    m: EntityManager,
    userId: string,
    items: readonly { type: ClientEventType; data: unknown }[],
  ): Promise<{ frames: ClientEventFrame[]; deliver: () => void }> {
    await this.loadLastAt(m);
    const rows = items.map((i) =>
      this.repo.create({ userId, type: i.type, data: i.data, at: this.nextAt() }),
    );
    const inserted = await insertMany(m, ClientEvent, rows, { returning: ['seq', 'at'] });
    // `at` is unique per event (strictly increasing), so it matches each row to its sequence number.
    const seqOf = new Map(inserted.map((r) => [Number(r.at), Number(r.seq)]));
    const seqs = rows.map((r) => seqOf.get(r.at));
    if (!seqs.every((s) => s !== undefined && Number.isSafeInteger(s)))
      throw new Error('the event log did not return the new sequence numbers');
    const frames = rows.map((r, i): ClientEventFrame => ({
      type: items[i]!.type,
      data: items[i]!.data,
      at: new Date(r.at).toISOString(),
      seq: seqs[i]!,
    }));
    const deliver = () => this.notify(userId, frames);
    return { frames, deliver };
  }

  /** Pushes frames to the user's live connections; a failing listener does not stop the others. */
  private notify(userId: string, frames: readonly ClientEventFrame[]): void {
    const listeners = [...(this.listeners.get(userId) ?? [])];
    for (const frame of frames)
      for (const l of listeners) {
        try {
          l(frame);
        } catch (err) {
          this.logger.warn('event listener failed', { err });
        }
      }
  }

  subscribe(userId: string, listener: Listener): () => void {
    let set = this.listeners.get(userId);
    if (!set) this.listeners.set(userId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(userId);
    };
  }

  /**
   * Events after `since` (an `at` as ISO time or epoch ms, or a `seq` prefixed `seq:`), oldest first, at most
   * `replayLimit`; `truncated` says there are more: the client resumes from the last frame's `at`.
   */
  async replay(userId: string, since: string): Promise<{ frames: ClientEventFrame[]; truncated: boolean }> {
    const limit = this.config.events.replayLimit;
    let where;
    if (since.startsWith('seq:')) {
      const seq = Number(since.slice(4));
      if (!Number.isSafeInteger(seq)) throw new RangeError('since=seq:N needs a whole number');
      where = { userId, seq: MoreThan(seq) };
    } else {
      const at = /^\d+$/.test(since) ? Number(since) : Date.parse(since);
      if (!Number.isFinite(at))
        throw new RangeError('since must be the `at` of an event (ISO 8601 time or epoch ms)');
      where = { userId, at: MoreThan(at) };
    }
    const rows = await this.repo.find({ where, order: { seq: 'ASC' }, take: limit + 1 });
    const truncated = rows.length > limit;
    const frames = rows.slice(0, limit).map((r) => ({
      type: r.type as ClientEventType,
      data: r.data,
      at: new Date(r.at).toISOString(),
      seq: r.seq,
    }));
    return { frames, truncated };
  }

  async prune(): Promise<void> {
    try {
      const cutoff = Date.now() - this.config.events.retentionHours * 3600_000;
      await this.repo.delete({ at: LessThan(cutoff) });
    } catch (err) {
      this.logger.warn('could not prune old client events', { err });
    }
  }
}
