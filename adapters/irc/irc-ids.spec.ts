import { casefold, derivedMessageId, isChannelName, nickOfUserId, roomIdOf, userIdOf } from './irc-ids';

describe('IRC ids', () => {
  it('casefolds under rfc1459, strict-rfc1459 and ascii', () => {
    expect(casefold('Nick[]\\~')).toBe('nick{}|^');
    expect(casefold('Nick[]\\~', 'strict-rfc1459')).toBe('nick{}|~');
    expect(casefold('Nick[]\\~', 'ascii')).toBe('nick[]\\~');
  });

  it('qualifies users by server and names rooms by channel or peer', () => {
    expect(userIdOf('Alice', 'IRC.Example.org')).toBe('alice!irc.example.org');
    expect(nickOfUserId('alice!irc.example.org')).toBe('alice');
    expect(nickOfUserId('bob')).toBe('bob');
    expect(roomIdOf('#Main')).toBe('#main');
    expect(isChannelName('#x')).toBe(true);
    expect(isChannelName('x')).toBe(false);
    expect(isChannelName('#')).toBe(false);
  });

  it('derives the same id for the same message and another for any difference', () => {
    const m = { sender: 'a', target: '#c', at: '2026-01-01T00:00:00.000Z', text: 'hi' };
    expect(derivedMessageId(m)).toBe(derivedMessageId({ ...m }));
    expect(derivedMessageId(m)).toMatch(/^h:[A-Za-z0-9_-]{22}$/);
    for (const k of ['sender', 'target', 'at', 'text'] as const)
      expect(derivedMessageId({ ...m, [k]: `${m[k]}x` })).not.toBe(derivedMessageId(m));
  });
});
