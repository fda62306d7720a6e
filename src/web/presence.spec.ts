import type { Contact } from './api';
import { groupByPresence, parseOptions } from './presence';

const person = (displayName: string, state: Contact['presence']['state']): Contact => ({
  id: displayName,
  displayName,
  presence: { state },
  endpoints: [],
});

describe('groupByPresence', () => {
  it('orders sections best first, names alphabetically, and drops empty sections', () => {
    const groups = groupByPresence([
      person('zoe', 'away'),
      person('bob', 'unknown'),
      person('amy', 'away'),
      person('cy', 'available'),
    ]);
    expect(groups.map((g) => [g.state, g.people.map((p) => p.displayName)])).toEqual([
      ['available', ['cy']],
      ['away', ['amy', 'zoe']],
      ['unknown', ['bob']],
    ]);
  });
});

describe('parseOptions', () => {
  it('reads key = value lines, typing JSON values', () => {
    expect(parseOptions('host = irc.example\nport = 6697\ntls = true\n# note\nchannels = ["#a"]')).toEqual({
      host: 'irc.example',
      port: 6697,
      tls: true,
      channels: ['#a'],
    });
  });
  it('reads a JSON object and explains bad input', () => {
    expect(parseOptions('{"network":"a"}')).toEqual({ network: 'a' });
    expect(() => parseOptions('{"network":')).toThrow(/not valid JSON/);
    expect(() => parseOptions('just words')).toThrow(/key = value/);
  });
});
