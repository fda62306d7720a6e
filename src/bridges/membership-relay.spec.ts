import { RemoteRoomId, RemoteUserId, type RemoteEventOf } from '../sdk';
import { memberChange } from './membership-relay';

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
