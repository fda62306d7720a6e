import { BridgeId, ConversationId, MessageId } from './ids';
import {
  bridgeProblems,
  BridgeRuleError,
  defineBridge,
  relayOriginOf,
  relayTargets,
  shouldRelay,
  type Bridge,
  type RelayCandidate,
} from './bridge-rules';

const [irc, matrix, xmpp, sip] = ['irc', 'matrix', 'xmpp', 'sip'].map(ConversationId) as [
  ConversationId,
  ConversationId,
  ConversationId,
  ConversationId,
];
const bridge = (id: string, ...conversations: ConversationId[]): Bridge => ({
  id: BridgeId(id),
  conversations,
});
const msg = (
  id: string,
  conversationId: ConversationId,
  extra: Partial<RelayCandidate> = {},
): RelayCandidate => ({
  id: MessageId(id),
  conversationId,
  ...extra,
});

describe('bridge definition', () => {
  it('links at least two distinct conversations', () => {
    expect(defineBridge(bridge('b1', irc, matrix)).conversations).toEqual([irc, matrix]);
    expect(() => defineBridge(bridge('b1', irc))).toThrow(BridgeRuleError);
    expect(() => defineBridge(bridge('b1'))).toThrow(/at least 2 distinct conversations/);
    expect(() => defineBridge(bridge('b1', irc, irc))).toThrow(/listed twice/);
  });

  it('reports every problem with a code', () => {
    expect(bridgeProblems([irc, irc]).map((p) => p.code)).toEqual([
      'duplicate_conversation',
      'too_few_conversations',
    ]);
    expect(bridgeProblems([irc, matrix, xmpp])).toEqual([]);
  });
});

describe('shouldRelay', () => {
  const b = bridge('b1', irc, matrix, xmpp);

  it('relays an original message to the other conversations of the bridge', () => {
    expect(shouldRelay(msg('m1', irc), b)).toEqual({ relay: true, targets: [matrix, xmpp] });
  });

  it('refuses a message that is itself a relay (it carries an origin)', () => {
    const copy = msg('m2', matrix, {
      origin: relayOriginOf({ id: MessageId('m1'), conversationId: irc }, b),
    });
    expect(copy.origin).toEqual({ bridgeId: b.id, conversationId: irc, messageId: MessageId('m1') });
    expect(shouldRelay(copy, b)).toEqual({ relay: false, reason: 'relay_echo' });
  });

  it('recognises the network echoing our relay back by message id, not by text', () => {
    const relayed = new Set([MessageId('echo-of-m1')]);
    expect(shouldRelay(msg('echo-of-m1', matrix), b, relayed)).toEqual({
      relay: false,
      reason: 'relay_echo',
    });
    // Someone typing the same words is a new message with its own id, and is relayed.
    expect(shouldRelay(msg('m3', matrix), b, relayed)).toEqual({ relay: true, targets: [irc, xmpp] });
  });

  it('refuses a message whose conversation is not in the bridge', () => {
    expect(shouldRelay(msg('m1', sip), b)).toEqual({ relay: false, reason: 'not_in_bridge' });
  });

  it('refuses deleted messages and broken bridges', () => {
    expect(shouldRelay(msg('m1', irc, { deleted: true }), b)).toEqual({ relay: false, reason: 'deleted' });
    expect(shouldRelay(msg('m1', irc), bridge('bad', irc))).toEqual({
      relay: false,
      reason: 'invalid_bridge',
    });
  });
});

describe('relayTargets', () => {
  it('returns each target once even when two bridges share conversations', () => {
    const bridges = [bridge('b1', irc, matrix), bridge('b2', matrix, irc, xmpp), bridge('b3', xmpp, sip)];
    expect(relayTargets(bridges, irc)).toEqual([matrix, xmpp]);
    expect(relayTargets(bridges, matrix)).toEqual([irc, xmpp]);
    // Bridges are not chained: sip is reached from xmpp only.
    expect(relayTargets(bridges, xmpp)).toEqual([matrix, irc, sip]);
    expect(relayTargets(bridges, sip)).toEqual([xmpp]);
  });

  it('is empty for a conversation in no bridge, and skips invalid bridges', () => {
    expect(relayTargets([bridge('b1', irc, matrix)], sip)).toEqual([]);
    expect(relayTargets([bridge('bad', irc, irc)], irc)).toEqual([]);
  });
});
