import { Account } from './account.entity';
import { AccountState } from './account-state.entity';
import { ApiToken } from './api-token.entity';
import { Bridge } from './bridge.entity';
import { BridgeMember } from './bridge-member.entity';
import { Call } from './call.entity';
import { ClientEvent } from './client-event.entity';
import { Conversation } from './conversation.entity';
import { Endpoint } from './endpoint.entity';
import { MediaFile } from './media-file.entity';
import { MembershipHold } from './membership-hold.entity';
import { Message } from './message.entity';
import { MessageRemoteId } from './message-remote-id.entity';
import { Person } from './person.entity';
import { PersonLinkDecision } from './person-link-decision.entity';
import { RelayLink } from './relay-link.entity';
import { User } from './user.entity';

export * from './account.entity';
export * from './account-state.entity';
export * from './api-token.entity';
export * from './bridge.entity';
export * from './bridge-member.entity';
export * from './call.entity';
export * from './client-event.entity';
export * from './conversation.entity';
export * from './endpoint.entity';
export * from './media-file.entity';
export * from './membership-hold.entity';
export * from './message.entity';
export * from './message-remote-id.entity';
export * from './person.entity';
export * from './person-link-decision.entity';
export * from './relay-link.entity';
export * from './user.entity';

/** Every entity, for the DataSource. */
export const ENTITIES = [
  User,
  ApiToken,
  Account,
  AccountState,
  Person,
  Endpoint,
  PersonLinkDecision,
  Conversation,
  Message,
  MessageRemoteId,
  Bridge,
  BridgeMember,
  RelayLink,
  MediaFile,
  MembershipHold,
  Call,
  ClientEvent,
] as const;
