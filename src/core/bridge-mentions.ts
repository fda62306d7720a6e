import {
  fromHtml,
  fromPlainText,
  toHtml,
  toPlainText,
  type BlockNode,
  type FormattedBody,
  type InlineNode,
} from '../sdk/formatting';
import { RemoteUserId } from '../sdk/ids';

/**
 * Mentions across a bridge. The gateway relays through its own account, so a person on network A shows
 * on network B only as the name in a relay's prefix; when someone on B addresses them ("alice: look"),
 * B's client cannot notify them. These pure functions rewrite a relayed body so that a mention reaches
 * the person in the target network's own form: a Matrix pill (and so `m.mentions`) for a Matrix user of
 * the target room, the plain nick for IRC and XMPP MUC, which highlight by nick in the text.
 */

/** Someone recently seen speaking natively in one conversation of a bridge. */
export interface BridgedSpeaker {
  /** Their id on their own network (Matrix user id, IRC nick, MUC occupant JID). */
  userId: string;
  /** The name they go by there, which is also the name their relays carry elsewhere. */
  name: string;
  /** Adapter id of their network. */
  network: string;
  /** The bridged conversation they were seen in. */
  conversationId: string;
}

/** Where a relayed copy goes. */
export interface MentionTarget {
  conversationId: string;
  network: string;
}

/** A body as stored: plain text, and sanitised HTML when it had formatting. */
export interface MentionBody {
  text: string;
  html?: string | null;
}

export interface RewrittenBody {
  text: string;
  /** HTML when the source had some or a pill was made; null otherwise. */
  html: string | null;
  /** Target-network user ids now mentioned natively (Matrix pills), in order, each once. */
  mentions: string[];
}

/**
 * How each network shows a mention. `pill`: a mention node (a matrix.to link, which the Matrix adapter
 * also lists in `m.mentions`); every other network highlights a nick written in plain text.
 */
export const MENTION_FORMS: Readonly<Record<string, 'pill' | 'plain'>> = { matrix: 'pill' };

const mentionForm = (network: string): 'pill' | 'plain' => MENTION_FORMS[network] ?? 'plain';

/**
 * A name folded for comparison the way its network compares nicks: IRC's rfc1459 casemapping (where
 * `[]\~` are the upper case of `{}|^`), plain lower case elsewhere.
 */
export function foldName(name: string, network: string): string {
  if (network === 'irc')
    return name.replace(/[A-Z[\]\\~]/g, (c) =>
      c === '[' ? '{' : c === ']' ? '}' : c === '\\' ? '|' : c === '~' ? '^' : c.toLowerCase(),
    );
  return name.toLowerCase();
}

const identity = (s: BridgedSpeaker) => `${s.network}\0${s.userId}`;

/** One name found in a text: [start, end) covers what is replaced (including a leading `@`). */
export interface NameMatch {
  start: number;
  end: number;
  speaker: BridgedSpeaker;
}

const WORD = /[\p{L}\p{N}_]/u;
/** Punctuation that may follow a name and still end it ("thanks @alice." / "alice: hi"). */
const TRAILING = /[:,.!?;)\]'"’”…]/u;
/** Spans never rewritten: URLs (and URIs of the schemes people paste), code in backticks. */
const PROTECTED =
  /```[\s\S]*?```|`[^`\n]*`|\b(?:[a-z][a-z0-9+.-]*:\/\/|(?:mailto|xmpp|sip|matrix|magnet):|www\.)\S+/gi;

function protectedRanges(text: string): [number, number][] {
  const out: [number, number][] = [];
  for (const m of text.matchAll(PROTECTED)) out.push([m.index, m.index + m[0].length]);
  return out;
}

/** Whether a name that ends at `end` ends a word there. */
function endsWord(text: string, end: number): boolean {
  if (end >= text.length) return true;
  const next = String.fromCodePoint(text.codePointAt(end)!);
  if (/\s/u.test(next)) return true;
  if (WORD.test(next) || !TRAILING.test(next)) return false;
  // Punctuation ends the name only when what follows ends too: "@alice:hs.org" and "alice.txt" are not her.
  const after = end + next.length;
  if (after >= text.length) return true;
  const following = String.fromCodePoint(text.codePointAt(after)!);
  return /\s/u.test(following) || TRAILING.test(following);
}

/**
 * The speaker whose name starts at `pos`: the longest name that matches there as a whole word. `null`
 * when two different people share that longest name (ambiguous: left as text).
 */
function nameAt(
  text: string,
  pos: number,
  speakers: readonly BridgedSpeaker[],
  accept: (end: number) => boolean,
): { speaker: BridgedSpeaker; end: number } | null {
  let best: { speaker: BridgedSpeaker; end: number } | null = null;
  let ambiguous = false;
  for (const s of speakers) {
    const len = s.name.length;
    if (len === 0 || pos + len > text.length) continue;
    if (best && len < best.end - pos) continue;
    if (foldName(text.slice(pos, pos + len), s.network) !== foldName(s.name, s.network)) continue;
    if (!accept(pos + len)) continue;
    if (best && len === best.end - pos) {
      if (identity(best.speaker) !== identity(s)) ambiguous = true;
      continue;
    }
    best = { speaker: s, end: pos + len };
    ambiguous = false;
  }
  return best && !ambiguous ? best : null;
}

/**
 * The names of `speakers` mentioned in `text`, in the forms people use: addressed at the start
 * ("alice: …", "alice, bob: …" when `atStart`) and `@alice` anywhere. Whole words only, compared as
 * each person's network compares nicks, longest name first; never inside a URL or a code span.
 */
export function findNameMentions(
  text: string,
  speakers: readonly BridgedSpeaker[],
  opts: { atStart?: boolean } = {},
): NameMatch[] {
  if (speakers.length === 0 || text.length === 0) return [];
  const ranges = protectedRanges(text);
  const free = (start: number, end: number) => ranges.every(([a, b]) => end <= a || start >= b);
  const found: NameMatch[] = [];
  let resumeAt = 0;
  if (opts.atStart) {
    // "alice: hi", "alice, bob: hi": names, each followed by a colon or comma and a space (or the end).
    let pos = text.length - text.trimStart().length;
    for (;;) {
      const hit = nameAt(text, pos, speakers, (end) => {
        const c = text[end];
        return (c === ':' || c === ',') && (end + 1 >= text.length || /\s/.test(text[end + 1]!));
      });
      if (!hit || !free(pos, hit.end)) break;
      found.push({ start: pos, end: hit.end, speaker: hit.speaker });
      pos = hit.end + 1;
      while (pos < text.length && /\s/.test(text[pos]!)) pos++;
      resumeAt = pos;
    }
  }
  for (let at = text.indexOf('@', resumeAt); at >= 0; at = text.indexOf('@', at + 1)) {
    // Not the middle of a word or an address (bob@alice.example).
    if (at > 0 && /[\p{L}\p{N}_.+-]/u.test(text[at - 1]!)) continue;
    const hit = nameAt(text, at + 1, speakers, (end) => endsWord(text, end));
    if (!hit || !free(at, hit.end)) continue;
    found.push({ start: at, end: hit.end, speaker: hit.speaker });
    at = hit.end - 1;
  }
  return found;
}

/** The speaker a pill (mention node) names: by id on the source network, else by its label. */
function resolvePill(
  node: Extract<InlineNode, { type: 'mention' }>,
  sourceNetwork: string,
  speakers: readonly BridgedSpeaker[],
): BridgedSpeaker | null {
  const byId = speakers.find((s) => s.network === sourceNetwork && s.userId === node.userId);
  if (byId) return byId;
  // A pill to someone who is not a speaker here (the gateway's own account, a stranger): its label may
  // still be a bridged person's name, as the sender's client showed it.
  const label = node.label.trim().replace(/^@/, '');
  if (label === '') return null;
  return nameAt(label, 0, speakers, (end) => end === label.length)?.speaker ?? null;
}

/**
 * The body rewritten for `target`, or `null` when nothing changes (the caller keeps the body as it was).
 * Names of people in the target conversation become the target's mention (a pill on Matrix); a pill in
 * the source naming a bridged person becomes, on the target, their native mention or else the name the
 * target knows them by — never a URL or another network's display name of them.
 */
export function rewriteMentions(
  body: MentionBody,
  sourceNetwork: string,
  target: MentionTarget,
  speakers: readonly BridgedSpeaker[],
): RewrittenBody | null {
  if (speakers.length === 0) return null;
  // Cheap exits: names in text change only on networks with pills, and need an "@" or an addressing
  // colon or comma; without a link in the HTML there is no pill to translate either.
  const pills = !!body.html && body.html.includes('<a ');
  const form = mentionForm(target.network);
  if (!pills && (form === 'plain' || !/[@:,]/.test(body.text))) return null;
  const model: FormattedBody = body.html ? fromHtml(body.html) : fromPlainText(body.text);
  // The gateway's own account never speaks "natively" (its messages are self), so it is never a speaker.
  const inTarget = new Set(speakers.filter((s) => s.conversationId === target.conversationId).map(identity));
  const native = (s: BridgedSpeaker) => inTarget.has(identity(s));
  const mentions: string[] = [];
  const state = { atStart: true, changed: false };

  const asMention = (s: BridgedSpeaker): InlineNode => {
    if (!mentions.includes(s.userId)) mentions.push(s.userId);
    return { type: 'mention', userId: RemoteUserId(s.userId), label: s.name };
  };

  const rewriteText = (text: string): InlineNode[] => {
    const atStart = state.atStart;
    if (text.trim() !== '') state.atStart = false;
    if (form !== 'pill') return [{ type: 'text', text }];
    const hits = findNameMentions(text, speakers, { atStart }).filter((h) => native(h.speaker));
    if (hits.length === 0) return [{ type: 'text', text }];
    state.changed = true;
    const out: InlineNode[] = [];
    let last = 0;
    for (const h of hits) {
      if (h.start > last) out.push({ type: 'text', text: text.slice(last, h.start) });
      out.push(asMention(h.speaker));
      last = h.end;
    }
    if (last < text.length) out.push({ type: 'text', text: text.slice(last) });
    return out;
  };

  const rewriteInline = (nodes: readonly InlineNode[]): InlineNode[] =>
    nodes.flatMap((node): InlineNode[] => {
      switch (node.type) {
        case 'text':
          return rewriteText(node.text);
        case 'mention': {
          state.atStart = false;
          const s = resolvePill(node, sourceNetwork, speakers);
          if (!s) return [node];
          state.changed = true;
          if (native(s) && form === 'pill') return [asMention(s)];
          // Not in the target room, or a network that highlights by nick: the name the target knows.
          return [{ type: 'text', text: s.name }];
        }
        case 'bold':
        case 'italic':
        case 'underline':
        case 'strike':
          return [{ ...node, children: rewriteInline(node.children) }];
        case 'link':
        case 'code':
          // Never inside a link or code.
          state.atStart = false;
          return [node];
        default:
          return [node];
      }
    });

  const rewriteBlocks = (blocks: readonly BlockNode[]): BlockNode[] =>
    blocks.map((block): BlockNode => {
      switch (block.type) {
        case 'paragraph':
          return { ...block, children: rewriteInline(block.children) };
        case 'quote':
          state.atStart = false;
          return { ...block, children: rewriteBlocks(block.children) };
        default:
          state.atStart = false;
          return block;
      }
    });

  const rewritten: FormattedBody = { ...model, blocks: rewriteBlocks(model.blocks) };
  if (!state.changed) return null;
  return {
    text: toPlainText(rewritten),
    html: body.html || mentions.length > 0 ? toHtml(rewritten) : null,
    mentions,
  };
}
