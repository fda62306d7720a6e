import { ircLoginKey, ircLowerNick, ircOptionsSchema } from './irc-options';

describe('IRC login key', () => {
  const key = (o: Record<string, unknown>) =>
    ircLoginKey(ircOptionsSchema.parse({ host: 'irc.example.org', ...o }));

  it('is the nick (RFC 1459 casemapping) at the server and port, defaults filled in', () => {
    expect(ircLowerNick('Nick[Away]\\~')).toBe('nick{away}|^');
    expect(key({ nick: 'Alice' })).toBe('alice at irc.example.org:6697');
    expect(key({ nick: 'ALICE', host: 'IRC.Example.ORG', port: 6697 })).toBe(key({ nick: 'alice' }));
    expect(key({ nick: 'alice[m]' })).toBe(key({ nick: 'Alice{M}' }));
  });

  it('differs for another nick, server or port', () => {
    const base = key({ nick: 'alice' });
    expect(key({ nick: 'alice_' })).not.toBe(base);
    expect(key({ nick: 'alice', host: 'irc.other.org' })).not.toBe(base);
    expect(key({ nick: 'alice', port: 6667, tls: false })).not.toBe(base);
  });
});
