import type { BridgeId, ConversationId, MessageId } from './ids';
import type { Message, RelayOrigin } from './message';

/** A bridge: conversations (on any networks) whose messages are relayed to each other. */
export interface Bridge {
  id: BridgeId;
  name?: string;
  conversations: ConversationId[];
}

export type BridgeProblemCode = 'too_few_conversations' | 'duplicate_conversation';

export class BridgeRuleError extends Error {
  constructor(
    readonly code: BridgeProblemCode,
    message: string,
  ) {
    super(message);
    this.name = 'BridgeRuleError';
  }
}

/** What is wrong with a bridge's conversation list; empty when it is a valid bridge. */
export function bridgeProblems(conversations: readonly ConversationId[]): BridgeRuleError[] {
  const problems: BridgeRuleError[] = [];
  const seen = new Set<ConversationId>();
  for (const id of conversations) {
    if (seen.has(id))
      problems.push(new BridgeRuleError('duplicate_conversation', `conversation ${id} is listed twice`));
    seen.add(id);
  }
  if (seen.size < 2) {
    problems.push(
      new BridgeRuleError(
        'too_few_conversations',
        `a bridge links at least 2 distinct conversations, got ${seen.size}`,
      ),
    );
  }
  return problems;
}

/** A bridge, checked: throws the first BridgeRuleError when the conversation list is not valid. */
export function defineBridge(input: Bridge): Bridge {
  const [problem] = bridgeProblems(input.conversations);
  if (problem) throw problem;
  return { ...input, conversations: [...input.conversations] };
}

/** The copy a bridge writes of a message carries where it came from. */
export function relayOriginOf(
  message: Pick<Message, 'id' | 'conversationId'>,
  bridge: Pick<Bridge, 'id'>,
): RelayOrigin {
  return { bridgeId: bridge.id, conversationId: message.conversationId, messageId: message.id };
}

export type RelayRefusal = 'relay_echo' | 'not_in_bridge' | 'deleted' | 'invalid_bridge';
export type RelayDecision =
  { relay: true; targets: ConversationId[] } | { relay: false; reason: RelayRefusal };

export type RelayCandidate = Pick<Message, 'id' | 'conversationId' | 'origin' | 'deleted'>;

/**
 * Whether a message should be relayed across a bridge, and where to. A message that is itself a
 * relay — it carries an origin, or its id is one the gateway wrote as a relay (the network echoing
 * our own send back) — is never relayed again: that is what stops loops. Echoes are recognised by
 * message id, never by text, so a person repeating what someone said is still relayed.
 */
export function shouldRelay(
  message: RelayCandidate,
  bridge: Bridge,
  relayedMessageIds: ReadonlySet<MessageId> = new Set(),
): RelayDecision {
  if (bridgeProblems(bridge.conversations).length > 0) return { relay: false, reason: 'invalid_bridge' };
  if (message.origin !== undefined || relayedMessageIds.has(message.id))
    return { relay: false, reason: 'relay_echo' };
  if (!bridge.conversations.includes(message.conversationId))
    return { relay: false, reason: 'not_in_bridge' };
  if (message.deleted === true) return { relay: false, reason: 'deleted' };
  return { relay: true, targets: relayTargets([bridge], message.conversationId) };
}

/**
 * Every conversation a message from `conversationId` goes to, each once even when several bridges
 * link the same pair, in bridge order. Only bridges that contain the conversation count: bridges
 * are not chained (A–B and B–C do not send A's messages to C), which keeps routing predictable.
 */
export function relayTargets(bridges: readonly Bridge[], conversationId: ConversationId): ConversationId[] {
  const targets = new Set<ConversationId>();
  for (const bridge of bridges) {
    if (!bridge.conversations.includes(conversationId)) continue;
    if (bridgeProblems(bridge.conversations).length > 0) continue;
    for (const id of bridge.conversations) if (id !== conversationId) targets.add(id);
  }
  return [...targets];
}
