import {
  findNameMentions,
  foldName,
  rewriteMentions,
  type BridgedSpeaker,
  type MentionTarget,
} from './bridge-mentions';

const alice: BridgedSpeaker = { userId: '@alice:hs', name: 'alice', network: 'matrix', conversationId: 'mx' };
const aliceSmith: BridgedSpeaker = {
  userId: '@as:hs',
  name: 'Alice Smith',
  network: 'matrix',
  conversationId: 'mx',
};
const ian: BridgedSpeaker = { userId: 'ian', name: 'ian', network: 'irc', conversationId: 'irc' };
const brackets: BridgedSpeaker = { userId: '[dev]', name: '[dev]', network: 'irc', conversationId: 'irc' };
const xena: BridgedSpeaker = {
  userId: 'room@muc/xena',
  name: 'xena',
  network: 'xmpp',
  conversationId: 'muc',
};
const speakers = [alice, aliceSmith, ian, brackets, xena];

const MATRIX: MentionTarget = { conversationId: 'mx', network: 'matrix' };
const IRC: MentionTarget = { conversationId: 'irc', network: 'irc' };
const XMPP: MentionTarget = { conversationId: 'muc', network: 'xmpp' };
const pill = (id: string, label: string) => `<a href="https://matrix.to/#/${id}">${label}</a>`;

describe('foldName', () => {
  it.each([
    ['Alice', 'matrix', 'alice'],
    ['[Dev]~', 'irc', '{dev}^'],
    ['A\\B', 'irc', 'a|b'],
    ['[Dev]', 'xmpp', '[dev]'],
    ['ÉLODIE', 'xmpp', 'élodie'],
  ])('%s on %s is %s', (name, network, folded) => {
    expect(foldName(name, network)).toBe(folded);
  });
});

describe('findNameMentions', () => {
  const names = (text: string, atStart = true) =>
    findNameMentions(text, speakers, { atStart }).map((m) => [text.slice(m.start, m.end), m.speaker.userId]);

  it.each<[string, string[][]]>([
    ['alice: look at this', [['alice', '@alice:hs']]],
    ['ALICE, look', [['ALICE', '@alice:hs']]],
    ['  alice: hi', [['alice', '@alice:hs']]],
    [
      'alice, ian: both of you',
      [
        ['alice', '@alice:hs'],
        ['ian', 'ian'],
      ],
    ],
    ['Alice Smith: longest name first', [['Alice Smith', '@as:hs']]],
    [
      'ask @alice and @IAN.',
      [
        ['@alice', '@alice:hs'],
        ['@IAN', 'ian'],
      ],
    ],
    ['{dev}: rfc1459 casemapping', [['{dev}', '[dev]']]],
    ['thanks @xena!', [['@xena', 'room@muc/xena']]],
    // Not a mention: a word that only starts with a name, no addressing form, an address, a URL, code.
    ['alicea: no', []],
    ['alice is here', []],
    ['mail bob@alice.example', []],
    ['see @alice:hs.org', []],
    ['see https://x.example/@alice and `@alice`', []],
    ['hello alice: not at the start', []],
    ['@alice_b hi', []],
  ])('%s', (text, expected) => {
    expect(names(text)).toEqual(expected);
  });

  it('addresses only at the start when told so', () => {
    expect(names('alice: hi', false)).toEqual([]);
  });

  it('leaves a name two people share as text, but still finds a longer unique one', () => {
    const twin: BridgedSpeaker = { ...alice, userId: 'alice', network: 'irc', conversationId: 'irc' };
    expect(findNameMentions('alice: hi', [alice, twin], { atStart: true })).toEqual([]);
    expect(
      findNameMentions('Alice Smith: hi', [alice, twin, aliceSmith], { atStart: true }).map(
        (m) => m.speaker.userId,
      ),
    ).toEqual(['@as:hs']);
    // The same person seen in two rooms is one person.
    const again = { ...alice, conversationId: 'mx2' };
    expect(findNameMentions('alice: hi', [alice, again], { atStart: true })).toHaveLength(1);
  });
});

describe('rewriteMentions', () => {
  it.each<[string, { text: string; html?: string | null }, string, MentionTarget, object | null]>([
    [
      'an IRC line addressing a Matrix user becomes a pill on Matrix',
      { text: 'alice: look at this' },
      'irc',
      MATRIX,
      {
        text: 'alice: look at this',
        html: `${pill('@alice:hs', 'alice')}: look at this`,
        mentions: ['@alice:hs'],
      },
    ],
    [
      '@name anywhere, written as the display name',
      { text: 'ping @ALICE smith please' },
      'xmpp',
      MATRIX,
      {
        text: 'ping Alice Smith please',
        html: `ping ${pill('@as:hs', 'Alice Smith')} please`,
        mentions: ['@as:hs'],
      },
    ],
    [
      'formatting kept, links and code untouched',
      {
        text: 'alice: see',
        html: 'alice: <b>see</b> <code>@alice</code> <a href="https://x.example/">@alice</a>',
      },
      'xmpp',
      MATRIX,
      {
        text: 'alice: see @alice @alice (https://x.example/)',
        html: `${pill('@alice:hs', 'alice')}: <strong>see</strong> <code>@alice</code> <a href="https://x.example/">@alice</a>`,
        mentions: ['@alice:hs'],
      },
    ],
    ['nobody of the target room: unchanged', { text: 'ian: hi' }, 'xmpp', MATRIX, null],
    ['plain networks keep the text as written', { text: 'alice: hi' }, 'matrix', IRC, null],
    ['no names: unchanged', { text: 'hello there: all' }, 'irc', MATRIX, null],
    [
      'a Matrix pill to an IRC user reads as the IRC nick on IRC',
      { text: '@Ian: ping', html: `${pill('@relay:hs', '@Ian')}: ping` },
      'matrix',
      IRC,
      { text: 'ian: ping', html: 'ian: ping', mentions: [] },
    ],
    [
      'a pill to a Matrix user reads as their relayed name elsewhere, never the URL',
      { text: 'Alice S.: hi', html: `${pill('@as:hs', 'Alice S.')}: hi` },
      'matrix',
      XMPP,
      { text: 'Alice Smith: hi', html: 'Alice Smith: hi', mentions: [] },
    ],
    [
      'an unknown pill stays what it was',
      { text: 'Bob: hi', html: `${pill('@bob:hs', 'Bob')}: hi` },
      'matrix',
      IRC,
      null,
    ],
  ])('%s', (_, body, sourceNetwork, target, expected) => {
    expect(rewriteMentions(body, sourceNetwork, target, speakers)).toEqual(expected);
  });

  it('never pills the same person twice in the mentions list, and knows no one without speakers', () => {
    expect(rewriteMentions({ text: 'alice: @alice' }, 'irc', MATRIX, speakers)?.mentions).toEqual([
      '@alice:hs',
    ]);
    expect(rewriteMentions({ text: 'alice: hi' }, 'irc', MATRIX, [])).toBeNull();
  });
});
