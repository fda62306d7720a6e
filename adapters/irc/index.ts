/**
 * The IRC adapter, on irc-framework. See docs/adr/0006-irc-adapter.md for what it does and why.
 */
import { defineAdapter } from '@switchboard/sdk';
import { IrcClient } from './irc.client';
import { type IrcOptions, ircLoginKey, ircOptionsSchema } from './irc-options';
import { IRC_LINE_MAX_BYTES } from './irc-line.serializer';

export type { IrcOptions } from './irc-options';
export { IrcClient } from './irc.client';

export default defineAdapter<IrcOptions>({
  id: 'irc',
  displayName: 'IRC',
  version: '0.1.0',
  sdk: '^1.0.0',
  // Longer texts are split into several lines (one message id each).
  capabilities: { presence: true, rooms: true, roster: true, maxMessageBytes: IRC_LINE_MAX_BYTES * 8 },
  optionsSchema: ircOptionsSchema,
  secretOptions: ['password', 'sasl.password', 'sasl.key'],
  loginKey: ircLoginKey,
  createClient: (options, ctx) => new IrcClient(options, ctx),
});
