import { RemoteMessageId } from '@switchboard/sdk';
import xml from '@xmpp/xml';
import { boundedParser } from './bounded-xml.parser';
import {
  bareJid,
  mapMessage,
  mapRosterItem,
  messageIdOf,
  type MessageContext,
  stripReplyFallback,
} from './xmpp-inbound.mapper';

/** Parses one stanza the way the connection does. */
function parse(s: string): xml.Element {
  const P = boundedParser({ maxStanzaBytes: 1e6, maxDepth: 50 });
  const p = new P();
  let el: xml.Element | undefined;
  p.on('element', (e: xml.Element) => (el = e));
  p.on('error', (e: Error) => {
    throw e;
  });
  p.write("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>" + s);
  if (!el) throw new Error('no element');
  return el;
}

const ctx = (over: Partial<MessageContext> = {}): MessageContext => ({
  self: 'me@example.org',
  nickIn: () => undefined,
  roomMessageId: () => undefined,
  now: () => '2026-01-01T00:00:00.000Z',
  ...over,
});

describe('jids and ids', () => {
  it('bare JIDs are lowercased and lose the resource', () => {
    expect(bareJid('Alice@Example.ORG/Phone')).toBe('alice@example.org');
  });

  it('prefers origin-id, then the id attribute, then a stable hash', () => {
    expect(
      messageIdOf(parse("<message id='a'><origin-id xmlns='urn:xmpp:sid:0' id='o'/></message>"), 't'),
    ).toBe('o');
    expect(messageIdOf(parse("<message id='a'/>"), 't')).toBe('a');
    const h1 = messageIdOf(parse("<message from='x@y/z'><body>hi</body></message>"), '2026-01-01T00:00:00Z');
    const h2 = messageIdOf(parse("<message from='x@y/z'><body>hi</body></message>"), '2026-01-01T00:00:00Z');
    expect(h1).toBe(h2);
    expect(h1).toMatch(/^h:[0-9a-f]{32}$/);
    expect(
      messageIdOf(parse("<message from='x@y/z'><body>ho</body></message>"), '2026-01-01T00:00:00Z'),
    ).not.toBe(h1);
  });
});

describe('mapMessage', () => {
  it('maps a chat message with the delay stamp and a receipt request', () => {
    const m = mapMessage(
      parse(
        "<message from='Bob@example.org/laptop' to='me@example.org/sb' type='chat' id='m1'><body>hello</body>" +
          "<request xmlns='urn:xmpp:receipts'/><delay xmlns='urn:xmpp:delay' stamp='2025-12-31T23:00:00Z'/></message>",
      ),
      ctx(),
    );
    expect(m.events).toEqual([
      {
        type: 'message',
        at: '2025-12-31T23:00:00.000Z',
        roomId: 'bob@example.org',
        messageId: 'm1',
        sender: { userId: 'bob@example.org' },
        kind: 'text',
        text: 'hello',
        roomKind: 'direct',
      },
    ]);
    expect(m.receiptRequest).toEqual({ to: 'Bob@example.org/laptop', id: 'm1' });
  });

  it('unwraps carbons only from our own account', () => {
    const sent =
      "<message from='me@example.org' to='me@example.org/sb'><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>" +
      "<message from='me@example.org/phone' to='bob@example.org' type='chat' id='c1'><body>from my phone</body>" +
      "<origin-id xmlns='urn:xmpp:sid:0' id='c1'/></message></forwarded></sent></message>";
    expect(mapMessage(parse(sent), ctx()).events).toEqual([
      expect.objectContaining({
        type: 'message',
        roomId: 'bob@example.org',
        sender: { userId: 'me@example.org', self: true },
        text: 'from my phone',
        transactionId: 'c1',
      }),
    ]);
    const forged = sent.replace("from='me@example.org' to=", "from='mallory@example.org' to=");
    expect(mapMessage(parse(forged), ctx()).events).toEqual([]);
  });

  it('maps chat states to typing, corrections to edits, both retraction forms to redactions', () => {
    const base = "from='bob@example.org/l' type='chat'";
    expect(
      mapMessage(
        parse(`<message ${base}><composing xmlns='http://jabber.org/protocol/chatstates'/></message>`),
        ctx(),
      ).events,
    ).toEqual([expect.objectContaining({ type: 'typing', userId: 'bob@example.org', typing: true })]);
    expect(
      mapMessage(
        parse(`<message ${base}><paused xmlns='http://jabber.org/protocol/chatstates'/></message>`),
        ctx(),
      ).events,
    ).toEqual([expect.objectContaining({ type: 'typing', typing: false })]);
    expect(
      mapMessage(
        parse(
          `<message ${base} id='e2'><body>fixed</body><replace xmlns='urn:xmpp:message-correct:0' id='e1'/></message>`,
        ),
        ctx(),
      ).events,
    ).toEqual([
      expect.objectContaining({ type: 'message.edit', messageId: 'e1', editId: 'e2', text: 'fixed' }),
    ]);
    expect(
      mapMessage(
        parse(
          `<message ${base}><retract xmlns='urn:xmpp:message-retract:1' id='r1'/><body>fallback</body></message>`,
        ),
        ctx(),
      ).events,
    ).toEqual([expect.objectContaining({ type: 'message.redact', messageId: 'r1' })]);
    expect(
      mapMessage(
        parse(
          `<message ${base}><apply-to xmlns='urn:xmpp:fasten:0' id='r0'><retract xmlns='urn:xmpp:message-retract:0'/></apply-to></message>`,
        ),
        ctx(),
      ).events,
    ).toEqual([expect.objectContaining({ type: 'message.redact', messageId: 'r0' })]);
  });

  it('maps receipts and read markers', () => {
    expect(
      mapMessage(
        parse("<message from='bob@example.org/l'><received xmlns='urn:xmpp:receipts' id='m1'/></message>"),
        ctx(),
      ).events,
    ).toEqual([
      expect.objectContaining({
        type: 'receipt',
        messageId: 'm1',
        kind: 'delivered',
        userId: 'bob@example.org',
      }),
    ]);
    expect(
      mapMessage(
        parse(
          "<message from='bob@example.org/l' type='chat'><displayed xmlns='urn:xmpp:chat-markers:0' id='m1'/></message>",
        ),
        ctx(),
      ).events,
    ).toEqual([expect.objectContaining({ type: 'receipt', messageId: 'm1', kind: 'read' })]);
  });

  it('maps a reply and strips its fallback quote (counted in code points)', () => {
    const body = '> 😀 quoted\nmy answer';
    const stanza = parse(
      `<message from='bob@example.org/l' type='chat' id='x'><body>${body}</body><reply xmlns='urn:xmpp:reply:0' to='me@example.org' id='orig'/>` +
        "<fallback xmlns='urn:xmpp:fallback:0' for='urn:xmpp:reply:0'><body start='0' end='11'/></fallback></message>",
    );
    expect(mapMessage(stanza, ctx()).events).toEqual([
      expect.objectContaining({ text: 'my answer', replyTo: 'orig' }),
    ]);
    expect(stripReplyFallback(stanza, 'short')).toBe('short'); // a range beyond the body is ignored
  });

  it('maps group messages: occupant senders, our own reflection, the subject, history as backfill', () => {
    const c = ctx({
      nickIn: (r) => (r === 'room@muc.example.org' ? 'me' : undefined),
      roomMessageId: (_r, sid) => (sid === 'sid-1' ? RemoteMessageId('orig-1') : undefined),
    });
    const theirs = mapMessage(
      parse(
        "<message from='room@muc.example.org/bob' type='groupchat' id='g1'><body>hi</body>" +
          "<stanza-id xmlns='urn:xmpp:sid:0' by='room@muc.example.org' id='sid-9'/></message>",
      ),
      c,
    );
    expect(theirs.events).toEqual([
      expect.objectContaining({
        roomId: 'room@muc.example.org',
        roomKind: 'group',
        sender: { userId: 'room@muc.example.org/bob', displayName: 'bob' },
      }),
    ]);
    expect(theirs.roomStanzaId).toEqual({ room: 'room@muc.example.org', stanzaId: 'sid-9', messageId: 'g1' });
    const mine = mapMessage(
      parse(
        "<message from='room@muc.example.org/me' type='groupchat' id='tx'><body>mine</body><origin-id xmlns='urn:xmpp:sid:0' id='tx'/></message>",
      ),
      c,
    );
    expect(mine.events[0]).toMatchObject({ sender: { self: true }, transactionId: 'tx' });
    expect(
      mapMessage(
        parse("<message from='room@muc.example.org' type='groupchat'><subject>topic!</subject></message>"),
        c,
      ).events,
    ).toEqual([expect.objectContaining({ type: 'room.upsert', topic: 'topic!' })]);
    const old = mapMessage(
      parse(
        "<message from='room@muc.example.org/bob' type='groupchat' id='h'><body>old</body><delay xmlns='urn:xmpp:delay' stamp='2025-01-01T00:00:00Z'/></message>",
      ),
      c,
    );
    expect(old.events[0]).toMatchObject({ backfill: true, at: '2025-01-01T00:00:00.000Z' });
    // A group retraction references the room's stanza-id: translated to our message id.
    expect(
      mapMessage(
        parse(
          "<message from='room@muc.example.org/bob' type='groupchat'><retract xmlns='urn:xmpp:message-retract:1' id='sid-1'/></message>",
        ),
        c,
      ).events,
    ).toEqual([expect.objectContaining({ type: 'message.redact', messageId: 'orig-1' })]);
  });

  it('ignores errors, unknown payloads and bodiless noise', () => {
    expect(
      mapMessage(parse("<message type='error' from='bob@example.org'><body>x</body></message>"), ctx())
        .events,
    ).toEqual([]);
    expect(
      mapMessage(parse("<message from='bob@example.org'><x xmlns='urn:example:unknown'/></message>"), ctx())
        .events,
    ).toEqual([]);
  });
});

describe('mapRosterItem', () => {
  it('maps items and removals', () => {
    expect(
      mapRosterItem(parse("<item jid='Bob@Example.org' name=' Bob ' subscription='both'/>"), 't'),
    ).toEqual({
      type: 'contact.upsert',
      at: 't',
      userId: 'bob@example.org',
      displayName: 'Bob',
      hints: { handles: ['bob@example.org'] },
    });
    expect(mapRosterItem(parse("<item jid='bob@example.org' subscription='remove'/>"), 't')).toEqual({
      type: 'contact.remove',
      at: 't',
      userId: 'bob@example.org',
    });
    expect(mapRosterItem(parse('<item/>'), 't')).toBeUndefined();
  });
});
