import { defineAdapter } from '@switchboard/sdk';
import { XmppClient } from './xmpp.client';
import { type XmppOptions, xmppLoginKey, xmppOptionsSchema } from './xmpp.options';

export type { XmppOptions } from './xmpp.options';
export { XmppClient } from './xmpp.client';

export default defineAdapter<XmppOptions>({
  id: 'xmpp',
  displayName: 'XMPP (Jabber)',
  version: '0.1.0',
  sdk: '^1.0.0',
  capabilities: {
    presence: true,
    roster: true,
    rooms: true,
    typing: true,
    receipts: true,
    edit: true,
    redact: true,
    reply: true,
    history: true,
    // Files out through the server's XEP-0363 upload service, when it has one (acceptsAttachment).
    attachments: true,
    voice: true,
    media: { audio: true, video: true },
    // Servers commonly cap stanzas at 256 KiB; leave room for the envelope.
    maxMessageBytes: 200_000,
  },
  optionsSchema: xmppOptionsSchema,
  secretOptions: ['password'],
  loginKey: xmppLoginKey,
  createClient: (options, ctx) => new XmppClient(options, ctx),
});
