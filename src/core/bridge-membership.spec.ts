import {
  isNetsplitReason,
  MembershipCoalescer,
  renderMemberChange,
  summarizeMemberChanges,
  type MemberChange,
} from './bridge-membership';

const irc = { room: '#chan', network: 'irc' };
const muc = { room: 'room@conference.example', network: 'xmpp' };

describe('renderMemberChange', () => {
  it.each<[MemberChange, typeof irc, string]>([
    [{ kind: 'join', name: 'alice' }, irc, '* alice joined #chan (IRC)'],
    [{ kind: 'join', name: 'bob' }, muc, '* bob joined room@conference.example (XMPP)'],
    [{ kind: 'join', name: 'eve' }, { room: '!r:hs', network: 'telegram' }, '* eve joined !r:hs (telegram)'],
    [{ kind: 'leave', name: 'alice' }, irc, '* alice left #chan (IRC)'],
    [{ kind: 'leave', name: 'alice', reason: 'bye all' }, irc, '* alice left #chan (IRC): bye all'],
    [
      { kind: 'leave', name: 'alice', reason: 'Ping timeout', quit: true },
      irc,
      '* alice quit #chan (IRC): Ping timeout',
    ],
    [{ kind: 'kick', name: 'troll', reason: 'spam' }, irc, '* troll was kicked from #chan (IRC): spam'],
    [{ kind: 'ban', name: 'troll' }, muc, '* troll was banned from room@conference.example (XMPP)'],
    [{ kind: 'rename', name: 'alice', newName: 'alice_' }, irc, '* alice is now known as alice_'],
  ])('%j in %j → %s', (change, place, line) => {
    expect(renderMemberChange(change, place)).toBe(line);
  });

  it('keeps names and reasons on one line and short', () => {
    const line = renderMemberChange(
      { kind: 'leave', name: 'evil\r\n<admin>', reason: `x\u0000y ${'z'.repeat(500)}` },
      irc,
    );
    expect(line).not.toMatch(/[\r\n\0]/);
    expect(line.startsWith('* evil <admin> left #chan (IRC): x y zzz')).toBe(true);
    expect([...line].length).toBeLessThan(260);
    expect(line.endsWith('…')).toBe(true);
  });
});

describe('isNetsplitReason', () => {
  it.each([
    ['*.net *.split', true],
    ['hub.example.net leaf.example.org', true],
    ['irc.a-b.net irc2.x.org', true],
    ['Ping timeout: 240 seconds', false],
    ['Quit: bye', false],
    ['', false],
    [undefined, false],
  ])('%j → %s', (reason, want) => expect(isNetsplitReason(reason)).toBe(want));
});

describe('summarizeMemberChanges', () => {
  it('writes a small burst out verbatim', () => {
    expect(
      summarizeMemberChanges(
        [
          { kind: 'join', name: 'a' },
          { kind: 'leave', name: 'b', reason: 'bye' },
          { kind: 'rename', name: 'c', newName: 'd' },
        ],
        irc,
      ),
    ).toEqual(['* a joined #chan (IRC)', '* b left #chan (IRC): bye', '* c is now known as d']);
  });

  it('makes a netsplit of 200 quits one line', () => {
    const quits = Array.from({ length: 200 }, (_, i) => ({
      kind: 'leave' as const,
      name: `u${i}`,
      reason: '*.net *.split',
      quit: true,
    }));
    expect(summarizeMemberChanges(quits, irc)).toEqual(['* 200 users quit #chan (IRC) (netsplit)']);
  });

  it('names a few and counts many; mixed leaves are not called a netsplit', () => {
    expect(
      summarizeMemberChanges(
        [
          { kind: 'join', name: 'a' },
          { kind: 'join', name: 'b' },
          { kind: 'join', name: 'c' },
          { kind: 'join', name: 'd' },
          { kind: 'leave', name: 'x', reason: 'Ping timeout', quit: true },
          { kind: 'leave', name: 'y', reason: '*.net *.split', quit: true },
          { kind: 'rename', name: 'p', newName: 'q' },
          { kind: 'rename', name: 'r', newName: 's' },
        ],
        irc,
      ),
    ).toEqual([
      '* a, b, c and d joined #chan (IRC)',
      '* x and y left #chan (IRC)',
      '* 2 users changed nick in #chan (IRC)',
    ]);
    const joins = Array.from({ length: 5 }, (_, i) => ({ kind: 'join' as const, name: `n${i}` }));
    expect(summarizeMemberChanges(joins, muc)).toEqual(['* 5 users joined room@conference.example (XMPP)']);
  });

  it('keeps a lone change of a kind in full inside a big burst', () => {
    const joins = Array.from({ length: 4 }, (_, i) => ({ kind: 'join' as const, name: `n${i}` }));
    expect(summarizeMemberChanges([...joins, { kind: 'kick', name: 'troll', reason: 'spam' }], irc)).toEqual([
      '* n0, n1, n2 and n3 joined #chan (IRC)',
      '* troll was kicked from #chan (IRC): spam',
    ]);
  });
});

describe('MembershipCoalescer', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  const setup = () => {
    const flushed: [string, string[]][] = [];
    const c = new MembershipCoalescer<MemberChange>(
      (key, items) => flushed.push([key, items.map((i) => i.name)]),
      { quietMs: 1000, maxDelayMs: 5000 },
    );
    return { c, flushed };
  };
  const quit = (name: string): MemberChange => ({ kind: 'leave', name, reason: '*.net *.split', quit: true });

  it('sends the first change of a quiet room at once and holds the rest of a burst', () => {
    const { c, flushed } = setup();
    c.add('k', { kind: 'join', name: 'a' });
    expect(flushed).toEqual([['k', ['a']]]);
    c.add('k', { kind: 'join', name: 'b' });
    jest.advanceTimersByTime(500);
    c.add('k', { kind: 'join', name: 'c' });
    jest.advanceTimersByTime(999);
    expect(flushed).toHaveLength(1);
    jest.advanceTimersByTime(1);
    expect(flushed).toEqual([
      ['k', ['a']],
      ['k', ['b', 'c']],
    ]);
    // Quiet again: the next one goes out at once.
    jest.advanceTimersByTime(1000);
    c.add('k', { kind: 'join', name: 'd' });
    expect(flushed.at(-1)).toEqual(['k', ['d']]);
  });

  it('holds a netsplit from its first quit, and keys are independent', () => {
    const { c, flushed } = setup();
    for (let i = 0; i < 37; i++) c.add('split', quit(`u${i}`));
    c.add('other', { kind: 'join', name: 'z' });
    expect(flushed).toEqual([['other', ['z']]]);
    jest.advanceTimersByTime(1000);
    expect(flushed[1]?.[0]).toBe('split');
    expect(flushed[1]?.[1]).toHaveLength(37);
  });

  it('writes a burst that goes on at least every maxDelayMs', () => {
    const { c, flushed } = setup();
    c.add('k', quit('first'));
    for (let i = 0; i < 60; i++) {
      jest.advanceTimersByTime(100);
      c.add('k', quit(`u${i}`));
    }
    expect(flushed.length).toBeGreaterThanOrEqual(1);
    expect(flushed[0]?.[1].length).toBeGreaterThan(40);
    jest.advanceTimersByTime(1000);
    expect(flushed.flatMap(([, names]) => names)).toHaveLength(61);
  });

  it('hands over what it holds when drained', () => {
    const { c, flushed } = setup();
    c.add('k', quit('a'));
    c.add('k', quit('b'));
    c.drain();
    expect(flushed).toEqual([['k', ['a', 'b']]]);
    jest.advanceTimersByTime(5000);
    expect(flushed).toHaveLength(1);
  });
});
