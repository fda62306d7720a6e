import { RemoteRoomId, RemoteUserId, type RemoteEventOf } from '../sdk';
import { holdId, memberChange, storedChange } from './membership-relay';

const ev = (over: Partial<RemoteEventOf<'room.member'>>): RemoteEventOf<'room.member'> => ({
  type: 'room.member',
  at: '2026-11-26T00:00:00.000Z',
  roomId: RemoteRoomId('#chan'),
  userId: RemoteUserId('alice!irc.example'),
  displayName: 'alice',
  membership: 'join',
  live: true,
  ...over,
});

describe('memberChange (which member events a bridge announces)', () => {
  it('announces live joins, leaves with their reason, quits, kicks and bans', () => {
    expect(memberChange(ev({}))).toEqual({ kind: 'join', name: 'alice' });
    expect(memberChange(ev({ membership: 'leave', reason: 'bye' }))).toEqual({
      kind: 'leave',
      name: 'alice',
      reason: 'bye',
    });
    expect(memberChange(ev({ membership: 'leave', reason: 'Ping timeout', quit: true }))).toEqual({
      kind: 'leave',
      name: 'alice',
      reason: 'Ping timeout',
      quit: true,
    });
    expect(memberChange(ev({ membership: 'kick', reason: 'spam' }))).toEqual({
      kind: 'kick',
      name: 'alice',
      reason: 'spam',
    });
    expect(memberChange(ev({ membership: 'ban' }))).toEqual({ kind: 'ban', name: 'alice' });
  });

  it('falls back to the user id when there is no display name', () => {
    expect(memberChange(ev({ displayName: undefined }))).toEqual({
      kind: 'join',
      name: 'alice!irc.example',
    });
  });

  it('never announces listings, our own account, invites or events not known to be live', () => {
    expect(memberChange(ev({ live: false }))).toBeUndefined();
    expect(memberChange(ev({ live: undefined }))).toBeUndefined();
    expect(memberChange(ev({ self: true }))).toBeUndefined();
    expect(memberChange(ev({ membership: 'leave', self: true }))).toBeUndefined();
    expect(memberChange(ev({ membership: 'invite' }))).toBeUndefined();
  });

  it('announces a rename once, on its join half', () => {
    const rename = { from: 'alice', to: 'alice_' };
    expect(memberChange(ev({ membership: 'leave', rename }))).toBeUndefined();
    expect(memberChange(ev({ membership: 'join', displayName: 'alice_', rename }))).toEqual({
      kind: 'rename',
      name: 'alice',
      newName: 'alice_',
    });
    expect(memberChange(ev({ rename: { from: 'a', to: 'a' } }))).toBeUndefined();
  });
});

describe('storedChange (a membership_holds row read back at boot)', () => {
  it('reads back what was written', () => {
    for (const c of [
      { kind: 'join', name: 'alice' },
      { kind: 'leave', name: 'bob', reason: '*.net *.split', quit: true },
      { kind: 'kick', name: 'troll', reason: 'spam' },
      { kind: 'rename', name: 'alice', newName: 'alice_' },
    ])
      expect(storedChange(JSON.parse(JSON.stringify(c)))).toEqual(c);
  });

  it('refuses what is not a change, and drops unknown or mistyped fields', () => {
    for (const v of [
      null,
      'join',
      42,
      [],
      {},
      { kind: 'wave', name: 'x' },
      { kind: 'join' },
      { kind: 'join', name: 7 },
    ])
      expect(storedChange(v)).toBeUndefined();
    expect(storedChange({ kind: 'leave', name: 'a', quit: 'yes', reason: 3, extra: 1 })).toEqual({
      kind: 'leave',
      name: 'a',
    });
  });
});

describe('holdId (a held change is recognised when its ingest job is redelivered)', () => {
  it('is the same for the same event and differs for another change, room or time', () => {
    const id = holdId('c1', ev({}));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(holdId('c1', ev({}))).toBe(id);
    for (const other of [
      holdId('c2', ev({})),
      holdId('c1', ev({ membership: 'leave' })),
      holdId('c1', ev({ at: '2026-11-26T00:00:00.001Z' })),
      holdId('c1', ev({ rename: { from: 'alice', to: 'alice_' } })),
    ])
      expect(other).not.toBe(id);
  });
});
