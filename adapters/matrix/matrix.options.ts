import { z } from '@switchboard/sdk';

/** What one Matrix account needs. Either a password (we log in and keep the device) or an access token. */
export const matrixOptionsSchema = z
  .object({
    /** Client-Server API base URL, e.g. https://matrix.example.org (no well-known discovery yet). */
    homeserverUrl: z.url({ protocol: /^https?$/ }),
    /** `@user:server`, or a bare localpart resolved against the server by login (API.md: `userId`). */
    userId: z.string().min(1),
    password: z.string().min(1).optional(),
    accessToken: z.string().min(1).optional(),
    /** Device id to log in with; otherwise the server picks one, which is then kept across restarts. */
    deviceId: z.string().min(1).optional(),
    deviceName: z.string().min(1).default('Switchboard'),
    /** Long-poll timeout for /sync. */
    syncTimeoutMs: z.number().int().min(0).max(120_000).default(30_000),
    /**
     * Join rooms we are invited to as a direct chat (`is_direct`), as a person's client would: a DM someone
     * opens with you then reaches the buddy list and inbox. Invites to group rooms are only reported.
     */
    acceptDirectInvites: z.boolean().default(true),
    /** Timeline events per room on the very first sync (later syncs resume from the stored token). */
    initialSyncLimit: z.number().int().min(0).max(100).default(20),
  })
  .refine((o) => o.password !== undefined || o.accessToken !== undefined, {
    message: 'either password or accessToken is required',
    path: ['password'],
  });

export type MatrixOptions = z.infer<typeof matrixOptionsSchema>;

/**
 * The login an account uses (SDK `loginKey`): the user's localpart on that homeserver, so that `alice` and
 * `@alice:example.org` given for one server are one login (a homeserver serves one server name).
 */
export function matrixLoginKey(o: MatrixOptions): string {
  const localpart = /^@([^:]+):/.exec(o.userId)?.[1] ?? o.userId;
  return `${localpart.toLowerCase()} at ${new URL(o.homeserverUrl).origin}`;
}
