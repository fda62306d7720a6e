/**
 * Membership notices of a bridge (option `relayMembership`): who joined, left, was kicked or changed nick in
 * one bridged conversation, as a short line for the others. Pure (rendering and the burst rules), so every
 * rule is table-tested; the timing lives in `MembershipCoalescer` with an injected clock.
 */

export type MemberChangeKind = 'join' | 'leave' | 'kick' | 'ban' | 'rename';

export interface MemberChange {
  kind: MemberChangeKind;
  /** The member's display name (the old one, for a rename). */
  name: string;
  /** For a rename: the new name. */
  newName?: string;
  reason?: string;
  /** A network-wide quit (IRC QUIT), reported in each shared room. */
  quit?: boolean;
}

/** Where the change happened: the source conversation's title and its network (adapter id). */
export interface MembershipPlace {
  room: string;
  network: string;
}

/** A burst of this many changes or fewer is written out one line each; a larger one is summarised. */
export const VERBATIM_BURST = 3;
/** Names listed in a summary line before it says "N users" instead. */
const NAMES_LISTED = 4;
const MAX_REASON = 200;
const MAX_NAME = 64;

const NETWORK_LABELS: Readonly<Record<string, string>> = {
  irc: 'IRC',
  xmpp: 'XMPP',
  matrix: 'Matrix',
  sip: 'SIP',
};

/** One line, no control characters (a line break would start a line that looks like someone speaking). */
function oneLine(s: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  const chars = [...clean];
  return chars.length <= max ? clean : `${chars.slice(0, max - 1).join('')}…`;
}

function where(place: MembershipPlace): string {
  const network = NETWORK_LABELS[place.network] ?? place.network;
  return `${oneLine(place.room, 100)} (${network})`;
}

/**
 * A split server's quit message: the two servers' names ("hub.example.net leaf.example.net"), or the
 * hidden form "*.net *.split" that InspIRCd, UnrealIRCd and others send.
 */
export function isNetsplitReason(reason: string | undefined): boolean {
  return reason !== undefined && /^[\w*.-]+\.[\w*-]+ [\w*.-]+\.[\w*-]+$/.test(reason.trim());
}

/** The line for one change, e.g. `* alice joined #chan (IRC)`, `* alice is now known as alice_`. */
export function renderMemberChange(change: MemberChange, place: MembershipPlace): string {
  const name = oneLine(change.name, MAX_NAME);
  const reason = change.reason ? oneLine(change.reason, MAX_REASON) : '';
  const why = reason ? `: ${reason}` : '';
  switch (change.kind) {
    case 'join':
      return `* ${name} joined ${where(place)}`;
    case 'leave':
      return change.quit ? `* ${name} quit ${where(place)}${why}` : `* ${name} left ${where(place)}${why}`;
    case 'kick':
      return `* ${name} was kicked from ${where(place)}${why}`;
    case 'ban':
      return `* ${name} was banned from ${where(place)}${why}`;
    case 'rename':
      return `* ${name} is now known as ${oneLine(change.newName ?? change.name, MAX_NAME)}`;
  }
}

function who(names: readonly string[]): string {
  const unique = [...new Set(names.map((n) => oneLine(n, MAX_NAME)))];
  if (unique.length > NAMES_LISTED) return `${unique.length} users`;
  if (unique.length === 1) return unique[0]!;
  return `${unique.slice(0, -1).join(', ')} and ${unique[unique.length - 1]!}`;
}

/**
 * The lines for a burst of changes in one conversation, in order. Up to `VERBATIM_BURST` changes are
 * written one line each; a larger burst becomes at most three lines — who joined, who left (a netsplit
 * when every leave was a quit with a split server's message: "* 37 users quit #chan (IRC) (netsplit)"),
 * and how many changed nick — so a split of 200 users is one line on each network, not 200.
 */
export function summarizeMemberChanges(changes: readonly MemberChange[], place: MembershipPlace): string[] {
  if (changes.length <= VERBATIM_BURST) return changes.map((c) => renderMemberChange(c, place));
  const joins = changes.filter((c) => c.kind === 'join');
  const leaves = changes.filter((c) => c.kind === 'leave' || c.kind === 'kick' || c.kind === 'ban');
  const renames = changes.filter((c) => c.kind === 'rename');
  const lines: string[] = [];
  if (joins.length === 1) lines.push(renderMemberChange(joins[0]!, place));
  else if (joins.length > 1) lines.push(`* ${who(joins.map((c) => c.name))} joined ${where(place)}`);
  if (leaves.length === 1) lines.push(renderMemberChange(leaves[0]!, place));
  else if (leaves.length > 1) {
    const split = leaves.every((c) => c.kind === 'leave' && c.quit && isNetsplitReason(c.reason));
    lines.push(
      split
        ? `* ${who(leaves.map((c) => c.name))} quit ${where(place)} (netsplit)`
        : `* ${who(leaves.map((c) => c.name))} left ${where(place)}`,
    );
  }
  if (renames.length === 1) lines.push(renderMemberChange(renames[0]!, place));
  else if (renames.length > 1) lines.push(`* ${renames.length} users changed nick in ${where(place)}`);
  return lines;
}

export interface CoalescerOptions {
  /** A burst ends after this long without a change. */
  quietMs: number;
  /** A burst that goes on is written out at least this often. */
  maxDelayMs: number;
  now?: () => number;
}

/**
 * Groups each key's (conversation's) changes into bursts. The first change after a quiet period goes out
 * at once (a join is announced before the newcomer's first words), unless it looks like the start of a
 * netsplit (a quit with a split server's message); the changes that follow within `quietMs` of each other
 * are held and handed over together when the burst ends, or every `maxDelayMs` while it goes on.
 */
export class MembershipCoalescer<T extends MemberChange> {
  private readonly bursts = new Map<
    string,
    { items: T[]; startedAt: number; timer: ReturnType<typeof setTimeout> }
  >();
  private readonly now: () => number;

  constructor(
    private readonly flush: (key: string, items: T[]) => void,
    private readonly opts: CoalescerOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  add(key: string, item: T): void {
    const burst = this.bursts.get(key);
    if (!burst) {
      const hold = item.kind === 'leave' && item.quit === true && isNetsplitReason(item.reason);
      if (!hold) this.flush(key, [item]);
      this.bursts.set(key, { items: hold ? [item] : [], startedAt: this.now(), timer: this.arm(key) });
      return;
    }
    burst.items.push(item);
    clearTimeout(burst.timer);
    if (this.now() - burst.startedAt >= this.opts.maxDelayMs) {
      this.bursts.delete(key);
      this.flush(key, burst.items);
      return;
    }
    burst.timer = this.arm(key);
  }

  private arm(key: string): ReturnType<typeof setTimeout> {
    const t = setTimeout(() => this.end(key), this.opts.quietMs);
    t.unref?.();
    return t;
  }

  private end(key: string): void {
    const burst = this.bursts.get(key);
    if (!burst) return;
    this.bursts.delete(key);
    if (burst.items.length > 0) this.flush(key, burst.items);
  }

  /** Hands over everything held (at shutdown) and stops every timer. */
  drain(): void {
    for (const key of [...this.bursts.keys()]) {
      clearTimeout(this.bursts.get(key)!.timer);
      this.end(key);
    }
  }
}
