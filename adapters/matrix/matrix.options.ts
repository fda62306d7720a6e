import { z } from '@switchboard/sdk';

/** What one Matrix account needs. Either a password (we log in and keep the device) or an access token. */
export const matrixOptionsSchema = z
  .object({
    /** Client-Server API base URL, e.g. https://matrix.example.org (no well-known discovery yet). */
    homeserverUrl: z.url({ protocol: /^https?$/ }),
    /** `@user:server`, or a bare localpart resolved against the server by login. */
    user: z.string().min(1),
    password: z.string().min(1).optional(),
    accessToken: z.string().min(1).optional(),
    /** Device id to log in with; otherwise the server picks one, which is then kept across restarts. */
    deviceId: z.string().min(1).optional(),
    deviceName: z.string().min(1).default('Switchboard'),
    /** Long-poll timeout for /sync. */
    syncTimeoutMs: z.number().int().min(0).max(120_000).default(30_000),
    /** Timeline events per room on the very first sync (later syncs resume from the stored token). */
    initialSyncLimit: z.number().int().min(0).max(100).default(20),
  })
  .refine((o) => o.password !== undefined || o.accessToken !== undefined, {
    message: 'either password or accessToken is required',
    path: ['password'],
  });

export type MatrixOptions = z.infer<typeof matrixOptionsSchema>;
