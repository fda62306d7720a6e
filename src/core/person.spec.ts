import { RemoteUserId } from '../sdk';
import { EndpointId, PersonId } from './ids';
import {
  MAX_SHARED_KEY_GROUP,
  normaliseDisplayName,
  normaliseEmail,
  normalisePhone,
  personDisplayName,
  suggestMerges,
  type MergeCandidate,
  type MergeDecision,
} from './person';

let n = 0;
function endpoint(displayName: string, extra: Partial<MergeCandidate> = {}): MergeCandidate {
  n++;
  return {
    id: EndpointId(`e${n}`),
    personId: PersonId(`p${n}`),
    address: RemoteUserId(`user${n}!irc.example.org`),
    displayName,
    ...extra,
  };
}
const pairs = (s: { a: string; b: string }[]) => s.map(({ a, b }) => [a, b]);

describe('normaliseDisplayName', () => {
  it.each([
    ['Zoë Müller', 'zoe muller'],
    ['ZOE  MULLER!!', 'zoe muller'],
    ['Straße', 'strasse'],
    ['ＡＬＩＣＥ', 'alice'],
    ['ﬁona', 'fiona'],
    ['  Jean-Luc  Picard ', 'jeanluc picard'],
    ['O’Brien 🚀', 'obrien'],
    ['ΣΟΦΟΣ', 'σοφοσ'],
    ['!!!', ''],
  ])('%j → %j', (input, expected) => {
    expect(normaliseDisplayName(input)).toBe(expected);
  });
});

describe('normaliseEmail / normalisePhone', () => {
  it('normalises e-mail addresses and refuses non-addresses', () => {
    expect(normaliseEmail(' Alice@Example.ORG ')).toBe('alice@example.org');
    expect(normaliseEmail('mailto:alice@example.org')).toBe('alice@example.org');
    expect(normaliseEmail('not an address')).toBeUndefined();
  });

  it('compares phone numbers by digits', () => {
    expect(normalisePhone('+44 20 7946 0958')).toBe('442079460958');
    expect(normalisePhone('0044 (20) 7946-0958')).toBe('442079460958');
    expect(normalisePhone('tel:+442079460958')).toBe('442079460958');
    expect(normalisePhone('123')).toBeUndefined();
  });
});

describe('suggestMerges', () => {
  it('proposes endpoints with the same normalised display name', () => {
    const a = endpoint('Zoë Müller');
    const b = endpoint('zoe muller');
    const c = endpoint('Someone Else');
    expect(suggestMerges([a, b, c])).toEqual([
      { a: a.id, b: b.id, reasons: [{ kind: 'display_name', value: 'zoe muller' }] },
    ]);
  });

  it('proposes endpoints sharing an e-mail, a phone or a handle, listing every reason', () => {
    const a = endpoint('Alice', { hints: { emails: ['alice@example.org'], phones: ['+1 555 010 0000'] } });
    const b = endpoint('A. Liddell', { hints: { emails: ['ALICE@example.org'] } });
    const c = endpoint('al', { hints: { phones: ['001-555-010-0000'] } });
    const d = endpoint('xmpp alice', { address: RemoteUserId('alice@xmpp.example.org') });
    const e = endpoint('matrix alice', { hints: { handles: ['Alice@XMPP.example.org'] } });
    expect(suggestMerges([a, b, c, d, e])).toEqual([
      { a: a.id, b: b.id, reasons: [{ kind: 'email', value: 'alice@example.org' }] },
      { a: a.id, b: c.id, reasons: [{ kind: 'phone', value: '15550100000' }] },
      { a: d.id, b: e.id, reasons: [{ kind: 'handle', value: 'alice@xmpp.example.org' }] },
    ]);
    const both = suggestMerges([
      endpoint('Bob', { hints: { emails: ['bob@example.org'] } }),
      endpoint('bob', { hints: { emails: ['bob@example.org'] } }),
    ]);
    expect(both[0]!.reasons.map((r) => r.kind)).toEqual(['display_name', 'email']);
  });

  it('does not propose endpoints that are already one person', () => {
    const a = endpoint('Carol');
    const b = endpoint('Carol', { personId: a.personId! });
    expect(suggestMerges([a, b])).toEqual([]);
    const c = endpoint('Carol');
    expect(suggestMerges([a, c], [{ kind: 'merged', a: a.id, b: c.id }])).toEqual([]);
  });

  it('never proposes a pair the user split, whatever evidence there is', () => {
    const a = endpoint('Dave', { hints: { emails: ['dave@example.org'] } });
    const b = endpoint('Dave', { hints: { emails: ['dave@example.org'] } });
    const split: MergeDecision = { kind: 'split', a: b.id, b: a.id };
    expect(suggestMerges([a, b])).toHaveLength(1);
    expect(suggestMerges([a, b], [split])).toEqual([]);
  });

  it('does not join persons that hold a split pair between them', () => {
    // a and c are one person; b looks like c. Once the user split a from b, merging c with b would
    // put a and b back together, so that is not proposed either.
    const a = endpoint('Erin');
    const c = endpoint('Erin E', { personId: a.personId! });
    const b = endpoint('erin e');
    expect(pairs(suggestMerges([a, b, c]))).toEqual([[b.id, c.id]]);
    expect(pairs(suggestMerges([a, b, c], [{ kind: 'split', a: a.id, b: b.id }]))).toEqual([]);
    // A merge decision joins persons the same way a shared personId does.
    const d = endpoint('Erin');
    const e = endpoint('erin e');
    expect(pairs(suggestMerges([d, e, b]))).toEqual([[e.id, b.id]]);
    expect(
      pairs(
        suggestMerges(
          [d, e, b],
          [
            { kind: 'merged', a: d.id, b: e.id },
            { kind: 'split', a: d.id, b: b.id },
          ],
        ),
      ),
    ).toEqual([]);
  });

  it('lets the latest decision about a pair win', () => {
    const a = endpoint('Frank');
    const b = endpoint('Frank');
    const merged: MergeDecision = { kind: 'merged', a: a.id, b: b.id };
    const split: MergeDecision = { kind: 'split', a: a.id, b: b.id };
    expect(suggestMerges([a, b], [merged, split])).toEqual([]); // split last: not proposed
    expect(suggestMerges([a, b], [split, merged])).toEqual([]); // merged last: already one person
    const c = endpoint('Frank');
    // After merge-then-split, c may still be proposed with each of them, but never a with b.
    expect(pairs(suggestMerges([a, b, c], [merged, split]))).toEqual([
      [a.id, c.id],
      [b.id, c.id],
    ]);
  });

  it('ignores values shared by too many endpoints to mean anything', () => {
    const guests = Array.from({ length: MAX_SHARED_KEY_GROUP + 1 }, () => endpoint('Guest'));
    expect(suggestMerges(guests)).toEqual([]);
    expect(suggestMerges(guests.slice(0, 3))).toHaveLength(3);
  });

  it('ignores one-letter and symbol-only names, and repeated endpoints', () => {
    expect(suggestMerges([endpoint('A'), endpoint('a')])).toEqual([]);
    expect(suggestMerges([endpoint('🚀'), endpoint('🚀')])).toEqual([]);
    const a = endpoint('Gina');
    expect(suggestMerges([a, a])).toEqual([]);
  });
});

describe('personDisplayName', () => {
  it('uses the first non-blank display name, else the address', () => {
    const address = RemoteUserId('@h:example.org');
    expect(
      personDisplayName([
        { displayName: ' ', address },
        { displayName: 'Hana', address },
      ]),
    ).toBe('Hana');
    expect(personDisplayName([{ displayName: '', address }])).toBe('@h:example.org');
    expect(personDisplayName([])).toBe('');
  });
});
