import { boundedParser } from './bounded-xml.parser';
import { mucMemberEvent, type MucPresenceContext } from './xmpp-inbound.mapper';
import type xml from '@xmpp/xml';

// The MUC occupant presences of XEP-0045 as `room.member` events (mucMemberEvent, in xmpp-inbound.mapper).

function parse(s: string): xml.Element {
  const P = boundedParser({ maxStanzaBytes: 1e6, maxDepth: 50 });
  const p = new P();
  let el: xml.Element | undefined;
  p.on('element', (e: xml.Element) => (el = e));
  p.write("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>" + s);
  if (!el) throw new Error('no element');
  return el;
}

const ROOM = 'room@conf.example';
const AT = '2026-11-26T00:00:00.000Z';
const presence = (nick: string, inner = '', type = '') =>
  parse(
    `<presence from='${ROOM}/${nick}'${type ? ` type='${type}'` : ''}>` +
      `<x xmlns='http://jabber.org/protocol/muc#user'>${inner}</x></presence>`,
  );
const item = (extra = '') => `<item affiliation='none' role='participant'${extra}/>`;
const ctx = (over: Partial<MucPresenceContext> = {}): MucPresenceContext => ({
  room: ROOM,
  joined: true,
  known: false,
  ...over,
});

describe('mucMemberEvent', () => {
  it('marks the occupant list sent before our own presence as not live, and our own presence as self', () => {
    expect(mucMemberEvent(presence('alice', item()), 'alice', ctx({ joined: false }), AT)).toEqual({
      type: 'room.member',
      at: AT,
      roomId: ROOM,
      userId: `${ROOM}/alice`,
      displayName: 'alice',
      membership: 'join',
      live: false,
    });
    const mine = mucMemberEvent(
      presence('gw', `${item()}<status code='110'/>`),
      'gw',
      ctx({ joined: false }),
      AT,
    );
    expect(mine).toMatchObject({ membership: 'join', live: false, self: true });
  });

  it('marks a join after our own presence as live; a status change of a listed occupant is no event', () => {
    expect(mucMemberEvent(presence('bob', item()), 'bob', ctx(), AT)).toMatchObject({
      membership: 'join',
      live: true,
    });
    expect(mucMemberEvent(presence('bob', item()), 'bob', ctx({ known: true }), AT)).toBeUndefined();
  });

  it('carries a leave with its status text, and a kick or ban with the moderator reason', () => {
    const leave = parse(
      `<presence from='${ROOM}/bob' type='unavailable'><status>gone fishing</status>` +
        `<x xmlns='http://jabber.org/protocol/muc#user'>${item()}</x></presence>`,
    );
    expect(mucMemberEvent(leave, 'bob', ctx({ known: true }), AT)).toMatchObject({
      membership: 'leave',
      reason: 'gone fishing',
      live: true,
    });
    const kick = presence(
      'troll',
      `<item affiliation='none' role='none'><reason>spam</reason></item><status code='307'/>`,
      'unavailable',
    );
    expect(mucMemberEvent(kick, 'troll', ctx({ known: true }), AT)).toMatchObject({
      membership: 'kick',
      reason: 'spam',
    });
    const ban = presence('troll', `${item()}<status code='301'/>`, 'unavailable');
    expect(mucMemberEvent(ban, 'troll', ctx({ known: true }), AT)).toMatchObject({ membership: 'ban' });
    expect(mucMemberEvent(ban, 'troll', ctx({ known: true }), AT)).not.toHaveProperty('reason');
  });

  it('reports a nick change (status 303) as a leave and a join that both carry the rename', () => {
    const old = presence('alice', `${item(" nick='alice_'")}<status code='303'/>`, 'unavailable');
    expect(mucMemberEvent(old, 'alice', ctx({ known: true }), AT)).toEqual({
      type: 'room.member',
      at: AT,
      roomId: ROOM,
      userId: `${ROOM}/alice`,
      displayName: 'alice',
      membership: 'leave',
      live: true,
      rename: { from: 'alice', to: 'alice_' },
    });
    expect(
      mucMemberEvent(presence('alice_', item()), 'alice_', ctx({ renamedFrom: 'alice' }), AT),
    ).toMatchObject({
      userId: `${ROOM}/alice_`,
      membership: 'join',
      live: true,
      rename: { from: 'alice', to: 'alice_' },
    });
  });

  it('marks our own leave as self', () => {
    const self = presence('gw', `${item()}<status code='110'/>`, 'unavailable');
    expect(mucMemberEvent(self, 'gw', ctx({ known: true }), AT)).toMatchObject({
      membership: 'leave',
      self: true,
      live: false,
    });
  });
});
