import {
  buildChatState,
  buildCorrection,
  buildPresence,
  buildRetraction,
  buildTextMessage,
} from './xmpp-outbound.builder';

describe('outbound stanzas', () => {
  it('a chat message carries the same id as stanza id and origin-id, and asks for a receipt', () => {
    expect(buildTextMessage({ to: 'bob@x', type: 'chat', id: 'tx1', text: 'a < b' }).toString()).toBe(
      '<message to="bob@x" type="chat" id="tx1"><body>a &lt; b</body><origin-id xmlns="urn:xmpp:sid:0" id="tx1"/>' +
        '<request xmlns="urn:xmpp:receipts"/><markable xmlns="urn:xmpp:chat-markers:0"/><active xmlns="http://jabber.org/protocol/chatstates"/></message>',
    );
  });

  it('a reply with a quote has a fallback range over the quote, in code points', () => {
    const m = buildTextMessage({
      to: 'r@muc',
      type: 'groupchat',
      id: 't',
      text: 'yes',
      replyTo: { id: 'o', to: 'r@muc/bob', quote: '😀 hi' },
    });
    expect(m.getChildText('body')).toBe('> 😀 hi\nyes');
    expect(m.getChild('reply', 'urn:xmpp:reply:0')?.attrs).toMatchObject({ id: 'o', to: 'r@muc/bob' });
    expect(m.getChild('fallback', 'urn:xmpp:fallback:0')?.getChild('body')?.attrs).toEqual({
      start: '0',
      end: '7',
    });
    expect(m.getChild('request')).toBeUndefined(); // no receipts in rooms
  });

  it('corrections, retractions and chat states', () => {
    expect(
      buildCorrection({ to: 'b@x', type: 'chat', id: 'n', replaces: 'o', text: 't' }).getChild('replace')
        ?.attrs,
    ).toEqual({
      xmlns: 'urn:xmpp:message-correct:0',
      id: 'o',
    });
    const r = buildRetraction({ to: 'b@x', type: 'chat', id: 'n', retracts: 'o', reason: 'oops' });
    expect(r.getChild('retract', 'urn:xmpp:message-retract:1')?.attrs.id).toBe('o');
    expect(r.getChild('retract')?.getChildText('reason')).toBe('oops');
    expect(r.getChild('store', 'urn:xmpp:hints')).toBeDefined();
    expect(buildChatState({ to: 'b@x', type: 'chat', typing: true }).getChild('composing')).toBeDefined();
    expect(buildChatState({ to: 'b@x', type: 'chat', typing: false }).getChild('active')).toBeDefined();
  });

  it('maps our presence to show values', () => {
    expect(buildPresence({ state: 'available' }).toString()).toBe(
      '<presence><priority>0</priority></presence>',
    );
    expect(buildPresence({ state: 'away', status: 'lunch' }).toString()).toBe(
      '<presence><show>away</show><status>lunch</status><priority>0</priority></presence>',
    );
    expect(buildPresence({ state: 'busy' }).getChildText('show')).toBe('dnd');
    expect(buildPresence({ state: 'offline' }).attrs.type).toBe('unavailable');
  });
});
