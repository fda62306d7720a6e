import {
  checkMiddle,
  flattenText,
  IrcLineError,
  serializeLine,
  splitText,
  textBudget,
} from './irc-line.serializer';

describe('serializeLine', () => {
  it('builds a line with middle parameters, a trailing text and tags', () => {
    expect(serializeLine('PRIVMSG', ['#chan'], 'hello world')).toBe('PRIVMSG #chan :hello world');
    expect(serializeLine('privmsg', ['bob'], 'x', { label: 'a;b c' })).toBe(
      '@label=a\\:b\\sc PRIVMSG bob :x',
    );
    expect(serializeLine('AWAY', [])).toBe('AWAY');
  });

  it.each([['\r\nQUIT :x'], ['\nPRIVMSG #other :x'], ['a\0b'], ['a\rb']])(
    'refuses CR, LF and NUL in every parameter: %j',
    (bad) => {
      expect(() => serializeLine('PRIVMSG', ['#chan'], bad)).toThrow(IrcLineError);
      expect(() => serializeLine('PRIVMSG', [bad], 'x')).toThrow(IrcLineError);
      expect(() => serializeLine('NICK', [`nick${bad}`])).toThrow(IrcLineError);
      expect(() => serializeLine('TOPIC', ['#c'], bad)).toThrow(IrcLineError);
      expect(() => serializeLine('AWAY', [], bad)).toThrow(IrcLineError);
    },
  );

  it('refuses a middle parameter with a space, a leading colon or nothing, and a bad command', () => {
    expect(() => checkMiddle('a b')).toThrow('space');
    expect(() => checkMiddle(':x')).toThrow("starts with ':'");
    expect(() => checkMiddle('')).toThrow('empty');
    expect(() => serializeLine('PRIV MSG', [], 'x')).toThrow('bad IRC command');
    expect(() => serializeLine('PRIVMSG', ['#c'], 'x', { 'bad key': 'v' })).toThrow('bad tag name');
  });

  it('refuses a line over 512 bytes', () => {
    expect(() => serializeLine('PRIVMSG', ['#c'], 'é'.repeat(300))).toThrow('longer than 512');
    expect(serializeLine('PRIVMSG', ['#c'], 'a'.repeat(498))).toHaveLength(510);
  });

  it('flattens free text to one line', () => {
    expect(flattenText('a\r\nQUIT :x\0\nb')).toBe('a QUIT :x b');
  });
});

describe('splitText', () => {
  it('splits on UTF-8 boundaries within the budget and loses nothing', () => {
    const text = 'ä€😀'.repeat(300) + ' end';
    const pieces = splitText(text, 100);
    expect(pieces.join('')).toBe(text);
    for (const p of pieces) {
      expect(Buffer.byteLength(p)).toBeLessThanOrEqual(100);
      expect(Buffer.from(p, 'utf8').toString('utf8')).toBe(p);
      expect(p).not.toMatch(/[\uD800-\uDBFF]$/);
    }
    expect(pieces.length).toBeGreaterThan(1);
  });

  it('prefers to cut after a space near the end of a piece', () => {
    expect(splitText('aaaa bbbb cccc', 10)).toEqual(['aaaa bbbb ', 'cccc']);
  });

  it('keeps a colour code with its digits', () => {
    const pieces = splitText('1234567\x0304red', 9);
    expect(pieces).toEqual(['1234567', '\x0304red']);
  });

  it('turns line breaks into separate pieces and drops NUL and lone CR', () => {
    expect(splitText('one\r\ntwo\nthree\0\r', 100)).toEqual(['one', 'two', 'three']);
    expect(splitText('\n\n', 100)).toEqual([]);
  });

  it('budgets the relayed prefix', () => {
    expect(textBudget('PRIVMSG', '#c', { nick: 'n', user: '~u', host: 'h' })).toBe(
      512 - 2 - ':n!~u@h PRIVMSG #c :'.length,
    );
    expect(textBudget('PRIVMSG', '#c', { nick: 'n' })).toBeLessThan(430);
  });
});
