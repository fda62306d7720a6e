/**
 * The SIP adapter, on the `sip` package. See docs/adr/0010-voice.md for what it does and why.
 */
import { defineAdapter } from '@switchboard/sdk';
import { SipClient } from './sip.client';
import { type SipOptions, sipLoginKey, sipOptionsSchema } from './sip.options';

export type { SipOptions } from './sip.options';
export { SipClient } from './sip.client';

export default defineAdapter<SipOptions>({
  id: 'sip',
  displayName: 'SIP',
  version: '0.1.0',
  sdk: '^1.0.0',
  // MESSAGE bodies travel in one UDP datagram: keep them well under the path MTU.
  capabilities: { voice: true, roster: true, media: { audio: true, video: false }, maxMessageBytes: 1200 },
  optionsSchema: sipOptionsSchema,
  secretOptions: ['password'],
  loginKey: sipLoginKey,
  createClient: (options, ctx) => new SipClient(options, ctx),
});
