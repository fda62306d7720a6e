import type { AccountId, Presence, RemoteUserId } from '../sdk';
import type { EndpointId, PersonId } from './ids';

/** What a network says about a contact that can link them to their other endpoints. */
export interface EndpointHints {
  emails?: string[];
  phones?: string[];
  handles?: string[];
}

export interface EndpointCapabilities {
  voice?: boolean;
  video?: boolean;
}

/** A contact on one network, seen through one of our accounts. */
export interface Endpoint {
  id: EndpointId;
  /** The person (metacontact) this endpoint belongs to; every endpoint belongs to exactly one. */
  personId: PersonId;
  accountId: AccountId;
  /** The adapter id of the network (`irc`, `xmpp`, `matrix`, `sip`, …). */
  network: string;
  address: RemoteUserId;
  displayName: string;
  presence: Presence;
  capabilities: EndpointCapabilities;
  hints?: EndpointHints;
}

/** A person: one entry in the buddy list, gathering their endpoints on every network. */
export interface Person {
  id: PersonId;
  displayName: string;
  endpointIds: EndpointId[];
}

/** A user's explicit decision about two endpoints; the latest decision about a pair is the one that counts. */
export interface MergeDecision {
  kind: 'merged' | 'split';
  a: EndpointId;
  b: EndpointId;
}

export type MergeReasonKind = 'display_name' | 'email' | 'phone' | 'handle';
export interface MergeReason {
  kind: MergeReasonKind;
  /** The normalised value both endpoints share. */
  value: string;
}

/** A proposal to link two endpoints into one person, with everything they were found to share. */
export interface MergeSuggestion {
  a: EndpointId;
  b: EndpointId;
  reasons: MergeReason[];
}

/** What `suggestMerges` needs to know of an endpoint. */
export type MergeCandidate = Pick<Endpoint, 'id' | 'address'> &
  Partial<Pick<Endpoint, 'personId' | 'displayName' | 'hints'>>;

/**
 * A value shared by more endpoints than this is not evidence of anything ("Guest", a company
 * switchboard number): it is ignored rather than proposing every pair.
 */
export const MAX_SHARED_KEY_GROUP = 20;

/**
 * A display name reduced to what people mean by "the same name": compatibility forms unified (NFKC),
 * case folded (upper-then-lower catches ß → ss; final sigma made σ), diacritics, punctuation and symbols
 * (emoji included) removed, whitespace collapsed. Returns '' when nothing meaningful is left.
 */
export function normaliseDisplayName(name: string): string {
  // toLowerCase writes a word-final sigma as ς; case folding makes every sigma σ.
  const folded = name.normalize('NFKC').toUpperCase().toLowerCase().replace(/ς/g, 'σ');
  const stripped = folded
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[\p{P}\p{S}]/gu, '')
    .replace(/\s+/gu, ' ')
    .trim();
  return stripped.normalize('NFKC');
}

export function normaliseEmail(email: string): string | undefined {
  const e = email
    .trim()
    .replace(/^mailto:/i, '')
    .toLowerCase();
  return /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(e) ? e : undefined;
}

/** Digits only, an international `00` prefix dropped; too short to identify anyone → undefined. */
export function normalisePhone(phone: string): string | undefined {
  let digits = phone.replace(/^\s*(?:tel:|sip:)?/i, '').replace(/\D/g, '');
  if (digits.startsWith('00')) digits = digits.slice(2);
  return digits.length >= 7 ? digits : undefined;
}

export function normaliseHandle(handle: string): string | undefined {
  const h = handle.trim().toLowerCase();
  return h.length >= 2 ? h : undefined;
}

class DisjointSets {
  private readonly parent = new Map<string, string>();
  find(x: string): string {
    let root = x;
    for (let p = this.parent.get(root); p !== undefined && p !== root; p = this.parent.get(root)) root = p;
    // Path compression keeps later finds flat.
    for (let node = x; node !== root;) {
      const next = this.parent.get(node)!;
      this.parent.set(node, root);
      node = next;
    }
    return root;
  }
  union(a: string, b: string): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(ra, rb);
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
}

/** The latest decision per unordered pair, in input order (decisions are listed oldest first). */
function latestDecisions(decisions: readonly MergeDecision[]): MergeDecision[] {
  const byPair = new Map<string, MergeDecision>();
  for (const d of decisions) {
    if (d.a === d.b) continue;
    const key = pairKey(d.a, d.b);
    byPair.delete(key); // re-insert so iteration order follows the latest decision
    byPair.set(key, d);
  }
  return [...byPair.values()];
}

/**
 * Proposes endpoint pairs that look like one person: the same normalised display name, a shared
 * e-mail or phone from the network's hints, or a matching handle (a hinted handle or the address
 * itself). The user's decisions always win: a pair already in one person (same `personId` or a
 * `merged` decision) is not proposed, and no pair is proposed whose merge would join two endpoints
 * the user `split` — not directly, and not through the persons they already belong to.
 */
export function suggestMerges(
  endpoints: readonly MergeCandidate[],
  decisions: readonly MergeDecision[] = [],
): MergeSuggestion[] {
  // The first occurrence of a repeated endpoint id counts.
  const known = new Set<string>();
  const list: MergeCandidate[] = [];
  for (const e of endpoints) {
    if (known.has(e.id)) continue;
    known.add(e.id);
    list.push(e);
  }

  // Groups of endpoints that are already one person: by personId, then by the user's merges.
  const groups = new DisjointSets();
  for (const e of list) if (e.personId !== undefined) groups.union(`e:${e.id}`, `p:${e.personId}`);
  const latest = latestDecisions(decisions).filter((d) => known.has(d.a) && known.has(d.b));
  for (const d of latest) if (d.kind === 'merged') groups.union(`e:${d.a}`, `e:${d.b}`);
  const groupOf = (id: EndpointId): string => groups.find(`e:${id}`);

  const forbidden = new Set<string>();
  for (const d of latest) {
    if (d.kind !== 'split') continue;
    const ga = groupOf(d.a);
    const gb = groupOf(d.b);
    if (ga !== gb) forbidden.add(pairKey(ga, gb));
  }

  const byKey = new Map<string, { reason: MergeReason; members: number[] }>();
  const addKey = (kind: MergeReasonKind, value: string | undefined, index: number): void => {
    if (value === undefined || value === '') return;
    const key = `${kind}\u0000${value}`;
    const entry = byKey.get(key) ?? { reason: { kind, value }, members: [] };
    if (entry.members[entry.members.length - 1] !== index) entry.members.push(index);
    byKey.set(key, entry);
  };
  list.forEach((e, index) => {
    const name = e.displayName === undefined ? '' : normaliseDisplayName(e.displayName);
    if ([...name].length >= 2) addKey('display_name', name, index);
    for (const email of e.hints?.emails ?? []) addKey('email', normaliseEmail(email), index);
    for (const phone of e.hints?.phones ?? []) addKey('phone', normalisePhone(phone), index);
    for (const handle of [...(e.hints?.handles ?? []), e.address])
      addKey('handle', normaliseHandle(handle), index);
  });

  const suggestions = new Map<string, MergeSuggestion & { order: [number, number] }>();
  for (const { reason, members } of byKey.values()) {
    if (members.length < 2 || members.length > MAX_SHARED_KEY_GROUP) continue;
    for (let i = 0; i < members.length; i++) {
      for (let j = i + 1; j < members.length; j++) {
        const a = list[members[i]!]!;
        const b = list[members[j]!]!;
        const ga = groupOf(a.id);
        const gb = groupOf(b.id);
        if (ga === gb || forbidden.has(pairKey(ga, gb))) continue;
        const key = pairKey(a.id, b.id);
        const existing = suggestions.get(key);
        if (existing) {
          if (!existing.reasons.some((r) => r.kind === reason.kind && r.value === reason.value))
            existing.reasons.push(reason);
        } else {
          suggestions.set(key, { a: a.id, b: b.id, reasons: [reason], order: [members[i]!, members[j]!] });
        }
      }
    }
  }
  return [...suggestions.values()]
    .sort((x, y) => x.order[0] - y.order[0] || x.order[1] - y.order[1])
    .map(({ a, b, reasons }) => ({ a, b, reasons }));
}

/** The name a person is listed under: the first endpoint's display name, else its address. */
export function personDisplayName(endpoints: readonly Pick<Endpoint, 'displayName' | 'address'>[]): string {
  for (const e of endpoints) if (e.displayName.trim() !== '') return e.displayName.trim();
  return endpoints[0]?.address ?? '';
}
