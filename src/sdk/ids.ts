/**
 * Branded identifiers. A brand stops a room id being passed where a user id is wanted; the value is
 * still a plain string on the wire and in storage.
 *
 * Uniqueness rules (what an adapter must guarantee):
 * - `AccountId`: assigned by the gateway; unique across the whole gateway. Adapters never invent one.
 * - `RemoteUserId`: the network's own stable address of a user, unique within one network
 *   (IRC: casefolded nick per server, `nick@host` form `nick!irc.example.org`; XMPP: bare JID;
 *   Matrix: `@user:server`; SIP: AOR URI). Adapters normalise it (case, whitespace) so that equal
 *   people compare equal.
 * - `RemoteRoomId`: the network's address of a conversation, unique within one account
 *   (IRC channel `#chan` or a nick for a DM; XMPP MUC bare JID or a contact's bare JID for a DM;
 *   Matrix room id `!id:server`).
 * - `RemoteMessageId`: the network's id of a message, unique within one room of one account. Where the
 *   network has none (IRC without `msgid`), the adapter derives a stable one (a hash of the sender, the
 *   server time and the text) so that a reconnect or history backfill produces the same id again.
 * - `TransactionId`: chosen by the gateway for every outbound send; the same id is used for every retry
 *   of that send, so an adapter can make a retried send idempotent on networks that support it.
 */
declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

export type AccountId = Brand<string, 'AccountId'>;
export type RemoteUserId = Brand<string, 'RemoteUserId'>;
export type RemoteRoomId = Brand<string, 'RemoteRoomId'>;
export type RemoteMessageId = Brand<string, 'RemoteMessageId'>;
export type TransactionId = Brand<string, 'TransactionId'>;
export type CallId = Brand<string, 'CallId'>;

export const AccountId = (v: string): AccountId => v as AccountId;
export const RemoteUserId = (v: string): RemoteUserId => v as RemoteUserId;
export const RemoteRoomId = (v: string): RemoteRoomId => v as RemoteRoomId;
export const RemoteMessageId = (v: string): RemoteMessageId => v as RemoteMessageId;
export const TransactionId = (v: string): TransactionId => v as TransactionId;
export const CallId = (v: string): CallId => v as CallId;
