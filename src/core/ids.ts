import type { Brand } from '../sdk';

/**
 * The gateway's own identifiers (the network's are in the SDK). All are assigned by the gateway and
 * unique across it; a brand stops a conversation id being passed where a message id is wanted.
 */
export type PersonId = Brand<string, 'PersonId'>;
export type EndpointId = Brand<string, 'EndpointId'>;
export type ConversationId = Brand<string, 'ConversationId'>;
export type MessageId = Brand<string, 'MessageId'>;
export type BridgeId = Brand<string, 'BridgeId'>;

export const PersonId = (v: string): PersonId => v as PersonId;
export const EndpointId = (v: string): EndpointId => v as EndpointId;
export const ConversationId = (v: string): ConversationId => v as ConversationId;
export const MessageId = (v: string): MessageId => v as MessageId;
export const BridgeId = (v: string): BridgeId => v as BridgeId;
