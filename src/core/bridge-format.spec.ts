import { DEFAULT_RELAY_MAX_LENGTH, DEFAULT_RELAY_TEMPLATES, renderRelay, type RelaySource } from './bridge-format';

const src = (o: Partial<RelaySource> = {}): RelaySource => ({
  nick: 'alice',
  text: 'hello',
  kind: 'text',
  network: 'matrix',
  ...o,
});

describe('renderRelay', () => {
  it.each([
    ['irc', src(), { text: '<alice> hello' }],
    ['xmpp', src(), { text: 'alice: hello', html: '<strong>alice</strong>: hello' }],
    ['matrix', src({ network: 'irc' }), { text: 'alice: hello', html: '<strong>alice</strong>: hello' }],
    ['irc', src({ kind: 'emote', text: 'waves' }), { text: '* alice waves' }],
    [
      'matrix',
      src({ kind: 'emote', text: 'waves' }),
      { text: '* alice waves', html: '* <strong>alice</strong> waves' },
    ],
  ])('to %s: %j', (target, source, expected) => {
    expect(renderRelay(source, target)).toEqual(expected);
  });

  it('keeps the source formatting for HTML networks and escapes the name and plain text', () => {
    expect(renderRelay(src({ nick: '<b>x</b>', text: 'a < b', html: null }), 'matrix')).toEqual({
      text: '<b>x</b>: a < b',
      html: '<strong>&lt;b&gt;x&lt;/b&gt;</strong>: a &lt; b',
    });
    expect(renderRelay(src({ text: 'bold', html: '<b>bold</b>' }), 'xmpp').html).toBe(
      '<strong>alice</strong>: <b>bold</b>',
    );
  });

  it('uses per-network templates, then the default one, with every placeholder', () => {
    const t = { irc: '[{network}] {nick}: {text}', default: '{bridge} | {nick} says {text}' };
    expect(renderRelay(src({ bridgeName: 'proj' }), 'irc', t).text).toBe('[matrix] alice: hello');
    expect(renderRelay(src({ bridgeName: 'proj' }), 'xmpp', t)).toEqual({
      text: 'proj | alice says hello',
      html: 'proj | <strong>alice</strong> says hello',
    });
    // A nick that looks like a placeholder is not expanded again.
    expect(renderRelay(src({ nick: '{text}' }), 'irc').text).toBe('<{text}> hello');
    expect(DEFAULT_RELAY_TEMPLATES.irc).toBe('<{nick}> {text}');
  });

  it('appends attachment links (never fetched by the gateway) to the text and as links in HTML', () => {
    const a = src({ text: 'look', attachments: [{ name: 'cat.png', url: 'https://hs.example/cat.png' }] });
    expect(renderRelay(a, 'irc').text).toBe('<alice> look https://hs.example/cat.png');
    expect(renderRelay(a, 'matrix').html).toBe(
      '<strong>alice</strong>: look <a href="https://hs.example/cat.png">https://hs.example/cat.png</a>',
    );
  });

  it('keeps a display name on one line, so it cannot start a line that looks like someone else', () => {
    const spoof = src({ nick: 'evil\r\n<admin> trust me', text: 'x' });
    expect(renderRelay(spoof, 'irc').text).toBe('<evil <admin> trust me> x');
    expect(renderRelay({ ...spoof, kind: 'emote' }, 'irc').text).toBe('* evil <admin> trust me x');
  });

  it('links only safe attachment URLs: javascript: and data: stay text', () => {
    for (const url of [
      'javascript:alert(1)',
      ' JaVaScRiPt:alert(1)',
      'data:text/html,<script>alert(1)</script>',
    ]) {
      const html = renderRelay(src({ text: 'x', attachments: [{ name: 'f', url }] }), 'matrix').html!;
      expect(html).not.toContain('<a ');
      expect(html).not.toContain('<script');
    }
  });

  it('cuts a relay longer than the target allows and says how much is missing (no HTML then)', () => {
    const long = {
      nick: 'mia',
      text: 'x'.repeat(5000),
      kind: 'text' as const,
      network: 'matrix',
      html: '<b>x</b>',
    };
    const irc = renderRelay(long, 'irc');
    expect([...irc.text].length).toBeLessThanOrEqual(DEFAULT_RELAY_MAX_LENGTH.irc!);
    expect(irc.text.startsWith('<mia> xxx')).toBe(true);
    expect(irc.text).toMatch(/… \[\d+ more characters not relayed\]$/);
    const own = renderRelay(long, 'xmpp', {}, 100);
    expect([...own.text].length).toBeLessThanOrEqual(100);
    expect(own.html).toBeUndefined();
    // Short ones are untouched, and a cut never splits a surrogate pair.
    expect(renderRelay({ ...long, text: 'hi' }, 'irc').text).toBe('<mia> hi');
    const emoji = renderRelay({ ...long, text: '😀'.repeat(300) }, 'irc', {}, 120);
    expect(emoji.text).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
  });
});
