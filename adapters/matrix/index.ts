import { defineAdapter } from '@switchboard/sdk';
import { MatrixNetworkClient } from './matrix.client';
import { matrixLoginKey, matrixOptionsSchema, type MatrixOptions } from './matrix.options';

export default defineAdapter<MatrixOptions>({
  id: 'matrix',
  displayName: 'Matrix',
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
    reactions: true,
    attachments: true,
    voice: true,
    media: { audio: true, video: true },
    // The spec's event limit is 65536 bytes for the whole event; leave room for the envelope and HTML.
    maxMessageBytes: 30000,
  },
  optionsSchema: matrixOptionsSchema,
  secretOptions: ['password', 'accessToken'],
  loginKey: matrixLoginKey,
  createClient: (options, ctx) => new MatrixNetworkClient(options, ctx),
});
