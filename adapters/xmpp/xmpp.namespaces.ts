/** The XML namespaces this adapter speaks, by the XEP that defines them. */
export const NS = {
  client: 'jabber:client',
  roster: 'jabber:iq:roster',
  tls: 'urn:ietf:params:xml:ns:xmpp-tls',
  sasl: 'urn:ietf:params:xml:ns:xmpp-sasl',
  stanzas: 'urn:ietf:params:xml:ns:xmpp-stanzas',
  discoInfo: 'http://jabber.org/protocol/disco#info',
  discoItems: 'http://jabber.org/protocol/disco#items',
  ping: 'urn:xmpp:ping',
  /** XEP-0115 */
  caps: 'http://jabber.org/protocol/caps',
  /** XEP-0045 */
  muc: 'http://jabber.org/protocol/muc',
  mucUser: 'http://jabber.org/protocol/muc#user',
  mucOwner: 'http://jabber.org/protocol/muc#owner',
  /** XEP-0004 */
  dataForms: 'jabber:x:data',
  /** XEP-0085 */
  chatStates: 'http://jabber.org/protocol/chatstates',
  /** XEP-0184 */
  receipts: 'urn:xmpp:receipts',
  /** XEP-0333 */
  markers: 'urn:xmpp:chat-markers:0',
  /** XEP-0280 */
  carbons: 'urn:xmpp:carbons:2',
  /** XEP-0297 */
  forward: 'urn:xmpp:forward:0',
  /** XEP-0203 */
  delay: 'urn:xmpp:delay',
  /** XEP-0308 */
  correct: 'urn:xmpp:message-correct:0',
  /** XEP-0424 (current, and the fastening form of version 0) */
  retract1: 'urn:xmpp:message-retract:1',
  retract0: 'urn:xmpp:message-retract:0',
  fasten: 'urn:xmpp:fasten:0',
  /** XEP-0461 and its XEP-0428 fallback */
  reply: 'urn:xmpp:reply:0',
  fallback: 'urn:xmpp:fallback:0',
  /** XEP-0359 */
  sid: 'urn:xmpp:sid:0',
  /** XEP-0066 (out-of-band data: a file's URL) */
  oob: 'jabber:x:oob',
  /** XEP-0313 and the XEP-0059 result set management it pages with */
  mam: 'urn:xmpp:mam:2',
  rsm: 'http://jabber.org/protocol/rsm',
  /** XEP-0334 */
  hints: 'urn:xmpp:hints',
} as const;
