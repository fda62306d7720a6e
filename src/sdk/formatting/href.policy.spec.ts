import { RemoteUserId } from '../ids';
import { matrixToMentionHref, matrixToMentionParser, safeHref } from './href.policy';

describe('safeHref', () => {
  it.each([
    'https://example.org',
    'http://example.org/a?b=c#d',
    'HTTPS://EXAMPLE.ORG/',
    'https://matrix.to/#/@alice:example.org',
    'mailto:alice@example.org',
    'xmpp:alice@example.org?message',
  ])('allows %s', (href) => {
    expect(safeHref(href)).toBe(href);
  });

  it.each([
    'javascript:alert(1)',
    ' JaVaScRiPt:alert(1)',
    'java\tscript:alert(1)',
    'java\nscript:alert(1)',
    '\u0001javascript:alert(1)',
    'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==',
    'vbscript:msgbox(1)',
    'file:///etc/passwd',
    '/relative/path',
    '//evil.example/x',
    '#fragment',
    'https:evil.example',
    'https:///evil',
    'https://',
    'mailto:',
    'https://exa mple.org',
    'https://example.org/\u0000x',
    'https://example.org/\u0085',
    '',
    '   ',
  ])('refuses %j', (href) => {
    expect(safeHref(href)).toBeUndefined();
  });

  it('cleans like a browser before judging, and returns what it judged', () => {
    expect(safeHref('  https://example.org/a\tb\n ')).toBe('https://example.org/ab');
    expect(safeHref('ht\ttps://example.org')).toBe('https://example.org');
  });

  it('refuses non-strings and absurdly long hrefs', () => {
    expect(safeHref(undefined)).toBeUndefined();
    expect(safeHref(42)).toBeUndefined();
    expect(safeHref('https://example.org/' + 'a'.repeat(9000))).toBeUndefined();
  });
});

describe('matrix.to mentions', () => {
  it('builds a permalink for Matrix user ids and reads it back', () => {
    const id = RemoteUserId('@alice:example.org');
    const href = matrixToMentionHref(id);
    expect(href).toBe('https://matrix.to/#/@alice:example.org');
    expect(matrixToMentionParser(href!)).toBe(id);
  });

  it('encodes unusual characters and decodes them back', () => {
    const id = RemoteUserId('@a/b?c#d é:server.example:8448');
    expect(matrixToMentionHref(id)).toBeUndefined(); // not a valid user id (space, slash)
    const odd = RemoteUserId('@a=b+c_é:server.example:8448');
    const href = matrixToMentionHref(odd)!;
    expect(href).toBe('https://matrix.to/#/@a%3Db%2Bc_%C3%A9:server.example:8448');
    expect(matrixToMentionParser(href)).toBe(odd);
  });

  it('has no link for ids of other networks, or ids it cannot encode', () => {
    expect(matrixToMentionHref(RemoteUserId('alice!irc.example.org'))).toBeUndefined();
    expect(matrixToMentionHref(RemoteUserId('alice@example.org'))).toBeUndefined();
    expect(matrixToMentionHref(RemoteUserId('@\ud800:example.org'))).toBeUndefined();
  });

  it('reads user permalinks only: not rooms, events or other sites', () => {
    expect(matrixToMentionParser('https://matrix.to/#/%40bob%3Aexample.org?via=example.org')).toBe(
      '@bob:example.org',
    );
    expect(matrixToMentionParser('https://matrix.to/#/#room:example.org')).toBeUndefined();
    expect(matrixToMentionParser('https://matrix.to/#/!room:example.org/$event')).toBeUndefined();
    expect(matrixToMentionParser('https://evil.example/#/@bob:example.org')).toBeUndefined();
    expect(matrixToMentionParser('https://matrix.to/#/%E0%A4%A')).toBeUndefined();
  });
});
