/**
 * Which of the gateway's own lines a channel's history replay shows, to tell after a crash whether a line
 * written just before it got through (SentCheckCapable). InspIRCd's m_chanhistory (mode +H) replays the
 * last lines of a channel to a joiner as `BATCH +id chathistory #chan` right after RPL_ENDOFNAMES, in the
 * same write as the NAMES reply, with second-precision server-time and the lines' original msgids; a
 * channel without +H sends no batch at all.
 */
import type { RemoteMessageId } from '@switchboard/sdk';
import type { LineKind } from './irc-render';

/** One of our own lines as the replay showed it. */
export interface OwnLine {
  /** The id the adapter emits for the replayed line (its msgid, or the derived id). */
  id: RemoteMessageId;
  /** Server time (ms since the epoch); NaN when the line carried none. */
  at: number;
  kind: LineKind;
  /** The line's text as received (mIRC codes kept; an emote without its CTCP wrapper). */
  text: string;
}

export interface WantedLines {
  kind: LineKind;
  pieces: readonly string[];
}

/** Replayed server-time has whole seconds: a line written at 12.9 s shows 12.000. */
export const SENT_CHECK_SLACK_MS = 1000;

/**
 * The first run of lines, in replay order, that are the wanted pieces in order, one after the other among
 * our own lines, each said at or after `notBefore - slackMs` and none claimed yet; their ids, or undefined.
 */
export function findOwnRun(
  lines: readonly OwnLine[],
  wanted: WantedLines,
  notBefore: number,
  isClaimed: (id: RemoteMessageId) => boolean,
  slackMs = SENT_CHECK_SLACK_MS,
): RemoteMessageId[] | undefined {
  const n = wanted.pieces.length;
  if (n === 0) return undefined;
  const fits = (l: OwnLine | undefined, piece: string | undefined): boolean =>
    l !== undefined &&
    l.kind === wanted.kind &&
    l.text === piece &&
    // NaN (no server-time) never fits: a line of unknown age could be any earlier post.
    l.at >= notBefore - slackMs &&
    !isClaimed(l.id);
  for (let i = 0; i + n <= lines.length; i++) {
    let j = 0;
    while (j < n && fits(lines[i + j], wanted.pieces[j])) j++;
    if (j === n) return lines.slice(i, i + n).map((l) => l.id);
  }
  return undefined;
}

type Phase =
  /** Our JOIN came; NAMES is not over yet. */
  | 'joining'
  /** RPL_ENDOFNAMES came: the replay, if any, is the very next line. */
  | 'names'
  /** Inside the replay batch. */
  | 'replaying'
  /** The replay was read, or there is none. */
  | 'done';

interface RoomReplay {
  phase: Phase;
  batchId?: string;
  lines: OwnLine[];
}

export interface ReplayTrackerLimits {
  /** Own lines kept per channel (the newest). */
  maxLines: number;
  /** Claimed ids remembered (the newest). */
  maxClaimed: number;
  /** How long after RPL_ENDOFNAMES a silent server means "no replay". */
  quietMs: number;
}

const DEFAULT_LIMITS: ReplayTrackerLimits = { maxLines: 200, maxClaimed: 2000, quietMs: 1000 };

/**
 * Per channel (keys are casefolded names), the phase of the replay of our latest JOIN and our own lines in
 * it. Fed by the client from the wire, in wire order; pure otherwise (no I/O).
 */
export class ReplayTracker {
  private readonly rooms = new Map<string, RoomReplay>();
  private readonly claimed = new Set<string>();
  private readonly waiters = new Map<string, Set<() => void>>();
  /** The room whose RPL_ENDOFNAMES was the last line: the next line tells whether a replay follows. */
  private afterNames?: string;
  private quietTimer?: NodeJS.Timeout;
  private readonly limits: ReplayTrackerLimits;

  constructor(limits: Partial<ReplayTrackerLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Our JOIN to `room`: what an earlier join replayed is forgotten. */
  joined(room: string): void {
    if (this.afterNames === room) this.clearAfterNames();
    this.rooms.set(room, { phase: 'joining', lines: [] });
  }

  /** RPL_ENDOFNAMES for `room` (call `serverLine` for this line first). */
  namesEnded(room: string): void {
    const r = this.rooms.get(room);
    if (r?.phase !== 'joining') return;
    r.phase = 'names';
    this.afterNames = room;
    // A server that has nothing more to say sends no next line: silence means no replay. Timers run before
    // the event loop reads the socket, so after a stall the verdict waits for one read (setImmediate).
    this.quietTimer = setTimeout(
      () =>
        setImmediate(() => {
          if (this.afterNames === room) this.noReplayAfterNames();
        }),
      this.limits.quietMs,
    );
    this.quietTimer.unref?.();
  }

  /** Every line from the server, before it is handled; `batch` when it opens a batch. */
  serverLine(batch?: { id: string; type: string; room?: string }): void {
    const room = this.afterNames;
    if (room === undefined) return;
    const r = this.rooms.get(room);
    if (r && batch && batch.room === room && /(^|\/)chathistory$/.test(batch.type)) {
      this.clearAfterNames();
      r.phase = 'replaying';
      r.batchId = batch.id;
      return;
    }
    this.noReplayAfterNames();
  }

  /** One of our own lines, delivered inside batch `batchId` to `room`: kept when it is that room's replay. */
  ownLine(room: string, batchId: string, line: OwnLine): void {
    const r = this.rooms.get(room);
    if (r?.phase !== 'replaying' || r.batchId !== batchId) return;
    r.lines.push(line);
    if (r.lines.length > this.limits.maxLines) r.lines.splice(0, r.lines.length - this.limits.maxLines);
  }

  /** A batch ended, after all its lines were handled. */
  batchEnded(id: string): void {
    for (const [room, r] of this.rooms) if (r.phase === 'replaying' && r.batchId === id) this.settle(room, r);
  }

  /** The server refused our JOIN to `room`: a probe waiting for its replay need not wait any longer. */
  joinRefused(room: string): void {
    if (!this.rooms.has(room)) this.wake(room);
  }

  /** We left `room` (PART, KICK): its replay is gone with it. */
  left(room: string): void {
    if (this.afterNames === room) this.clearAfterNames();
    this.rooms.delete(room);
    this.wake(room);
  }

  /** The connection is over: nothing more will be replayed; every waiter is released. */
  close(): void {
    this.clearAfterNames();
    for (const [room, r] of this.rooms) if (r.phase !== 'done') this.settle(room, r);
    for (const room of [...this.waiters.keys()]) this.wake(room);
  }

  /**
   * A wait for `room`'s replay ran out: it is taken as read with what came (usually nothing), so the next
   * probes answer at once instead of each waiting again; our next JOIN starts over.
   */
  giveUp(room: string): void {
    const r = this.rooms.get(room);
    if (r) {
      if (r.phase !== 'done') {
        if (this.afterNames === room) this.clearAfterNames();
        this.settle(room, r);
      }
    } else this.rooms.set(room, { phase: 'done', lines: [] });
  }

  /** True when we joined `room` and its replay has been read (or there is none). */
  isSettled(room: string): boolean {
    return this.rooms.get(room)?.phase === 'done';
  }

  /** Resolves when `room`'s replay has been read, or after `timeoutMs`, or at `close`. */
  whenSettled(room: string, timeoutMs: number): Promise<void> {
    if (this.isSettled(room)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const set = this.waiters.get(room) ?? new Set<() => void>();
      this.waiters.set(room, set);
      const done = (): void => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0 && this.waiters.get(room) === set) this.waiters.delete(room);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      set.add(done);
    });
  }

  /** The ids of the first unclaimed run of our lines in `room`'s replay that is `wanted`; they become claimed. */
  claim(room: string, wanted: WantedLines, notBefore: number): RemoteMessageId[] | undefined {
    const r = this.rooms.get(room);
    if (!r) return undefined;
    const ids = findOwnRun(r.lines, wanted, notBefore, (id) => this.claimed.has(id));
    if (!ids) return undefined;
    for (const id of ids) {
      this.claimed.add(id);
      if (this.claimed.size > this.limits.maxClaimed) {
        const oldest = this.claimed.values().next().value;
        if (oldest !== undefined) this.claimed.delete(oldest);
      }
    }
    return ids;
  }

  private noReplayAfterNames(): void {
    const room = this.afterNames;
    this.clearAfterNames();
    const r = room === undefined ? undefined : this.rooms.get(room);
    if (room !== undefined && r?.phase === 'names') this.settle(room, r);
  }

  private clearAfterNames(): void {
    this.afterNames = undefined;
    if (this.quietTimer) clearTimeout(this.quietTimer);
    this.quietTimer = undefined;
  }

  private settle(room: string, r: RoomReplay): void {
    r.phase = 'done';
    r.batchId = undefined;
    this.wake(room);
  }

  private wake(room: string): void {
    for (const w of [...(this.waiters.get(room) ?? [])]) w();
  }
}

/** The command and parameters of a raw server line (tags and source skipped); undefined when it has none. */
export function parseServerLine(line: string): { command: string; params: string[] } | undefined {
  // irc-framework's raw lines may keep the CR of CR LF.
  const m = /^(?:@\S+ +)?(?::\S+ +)?(\S+)(?: +(.*))?$/.exec(line.replace(/\r?\n?$/, ''));
  if (!m) return undefined;
  const rest = m[2] ?? '';
  const t = rest.startsWith(':') ? 0 : rest.indexOf(' :');
  const params = (t < 0 ? rest : rest.slice(0, t)).split(' ').filter((p) => p !== '');
  if (t >= 0) params.push(rest.slice(t === 0 ? 1 : t + 2));
  return { command: m[1]!.toUpperCase(), params };
}
