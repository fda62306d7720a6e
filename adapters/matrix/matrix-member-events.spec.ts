import type { RemoteEvent } from '@switchboard/sdk';
import { MatrixInboundMapper, newMapperState } from './matrix-inbound.mapper';

// Which Matrix member events are live changes (room.member `live`), and display-name changes as renames.

const ME = '@me:hs';
const ROOM = '!r:hs';
let n = 0;
const member = (target: string, content: object, prev?: object, sender = target) => ({
  type: 'm.room.member',
  state_key: target,
  sender,
  content,
  event_id: `$m${++n}`,
  origin_server_ts: 1700000000000,
  ...(prev ? { unsigned: { prev_content: prev } } : {}),
});
const sync = (events: unknown[], limited = false) => ({
  next_batch: 's',
  rooms: { join: { [ROOM]: { timeline: { events, ...(limited ? { limited: true } : {}) } } } },
});
const members = (out: RemoteEvent[]) => out.filter((e) => e.type === 'room.member');

describe('MatrixInboundMapper member events', () => {
  const joinBob = member('@bob:hs', { membership: 'join', displayname: 'Bob' });

  it('is live only in a sync of the running loop whose timeline has no gap', () => {
    const m = () => new MatrixInboundMapper(ME, newMapperState());
    expect(members(m().map(sync([joinBob]), { live: true }))).toEqual([
      expect.objectContaining({ userId: '@bob:hs', displayName: 'Bob', membership: 'join', live: true }),
    ]);
    // The initial sync (backfill), the connect-time catch-up and a limited timeline are history.
    for (const out of [
      m().map(sync([joinBob]), { backfill: true, live: true }),
      m().map(sync([joinBob])),
      m().map(sync([joinBob], true), { live: true }),
    ])
      expect(members(out)).toEqual([expect.objectContaining({ membership: 'join', live: false })]);
  });

  it('names a leaver by the name they had, with the reason, and a kick by someone else', () => {
    const m = new MatrixInboundMapper(ME, newMapperState());
    const out = m.map(
      sync([
        member('@bob:hs', { membership: 'leave', reason: 'bye' }, { membership: 'join', displayname: 'Bob' }),
        member('@eve:hs', { membership: 'leave', reason: 'spam' }, { membership: 'join' }, '@mod:hs'),
      ]),
      { live: true },
    );
    expect(members(out)).toEqual([
      expect.objectContaining({ displayName: 'Bob', membership: 'leave', reason: 'bye', live: true }),
      expect.objectContaining({ userId: '@eve:hs', membership: 'kick', reason: 'spam', live: true }),
    ]);
  });

  it('reports a display-name change as a join carrying the rename; an avatar change is none', () => {
    const m = new MatrixInboundMapper(ME, newMapperState());
    const out = m.map(
      sync([
        member(
          '@bob:hs',
          { membership: 'join', displayname: 'Bobby' },
          { membership: 'join', displayname: 'Bob' },
        ),
        member(
          '@bob:hs',
          { membership: 'join', displayname: 'Bobby', avatar_url: 'mxc://hs/a' },
          { membership: 'join', displayname: 'Bobby' },
        ),
      ]),
      { live: true },
    );
    expect(members(out)).toEqual([
      expect.objectContaining({
        userId: '@bob:hs',
        displayName: 'Bobby',
        membership: 'join',
        live: true,
        rename: { from: 'Bob', to: 'Bobby' },
      }),
    ]);
  });

  it('marks our own membership as self', () => {
    const m = new MatrixInboundMapper(ME, newMapperState());
    expect(members(m.map(sync([member(ME, { membership: 'join' })]), { live: true }))).toEqual([
      expect.objectContaining({ userId: ME, self: true }),
    ]);
  });
});
