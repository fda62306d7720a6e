import { z } from '@switchboard/sdk';

const ONE_LINE = /^[^\r\n\0]*$/;

const nick = z
  .string()
  .min(1)
  .max(30)
  .regex(/^[A-Za-z[\]\\`_^{|}][A-Za-z0-9[\]\\`_^{|}-]*$/, 'not a valid IRC nick');

/** An IRC account (../shared/API.md): server, identity, optional server password and SASL, rooms and buddies. */
export const ircOptionsSchema = z.object({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(6697),
  tls: z.boolean().default(true),
  /** Skip certificate checks (a test server); never the default. */
  tlsInsecure: z.boolean().default(false),
  nick,
  /** Tried in order when the nick is taken; after them the adapter appends `_` and digits. */
  altNicks: z.array(nick).default([]),
  username: z
    .string()
    .min(1)
    .max(32)
    .regex(/^[^\s\0@!]+$/, 'not a valid IRC user name')
    .optional(),
  // irc-framework writes USER and PASS itself: these must not be able to break the line either.
  realname: z.string().max(200).regex(ONE_LINE, 'must not contain CR, LF or NUL').optional(),
  /** Server password (PASS). */
  password: z.string().min(1).regex(ONE_LINE, 'must not contain CR, LF or NUL').optional(),
  sasl: z
    .object({
      mechanism: z.enum(['PLAIN', 'EXTERNAL']).default('PLAIN'),
      user: z.string().min(1).optional(),
      password: z.string().optional(),
      /** PEM client certificate and key for EXTERNAL (CertFP). */
      cert: z.string().optional(),
      key: z.string().optional(),
    })
    .refine((s) => s.mechanism === 'EXTERNAL' || (s.user !== undefined && s.password !== undefined), {
      message: 'SASL PLAIN needs user and password',
    })
    .optional(),
  channels: z
    .array(
      z
        .string()
        .min(2)
        // eslint-disable-next-line no-control-regex -- control characters are what is matched
        .regex(/^[#&][^\s,\x07\0\r\n]+$/, 'not a channel name'),
    )
    .default([]),
  watch: z.array(nick).default([]),
  /** Send queue: lines that may go at once, then one line per `floodIntervalMs`. */
  floodBurst: z.number().int().min(1).max(100).default(5),
  floodIntervalMs: z.number().int().min(0).max(10_000).default(500),
  /** No data from the server for this long ends the connection as a ping timeout. */
  pingTimeoutSeconds: z.number().int().min(5).max(600).default(120),
  /** How often to poll ISON when the server has no MONITOR. */
  isonIntervalSeconds: z.number().int().min(5).max(3600).default(60),
});

export type IrcOptions = z.infer<typeof ircOptionsSchema>;

/** A nick as the server compares it (RFC 1459 casemapping, the default: `[]\~` are the capitals of `{}|^`). */
export function ircLowerNick(nick: string): string {
  return nick.toLowerCase().replace(/[[\]\\~]/g, (c) => ({ '[': '{', ']': '}', '\\': '|', '~': '^' })[c]!);
}

/** The login an account uses (SDK `loginKey`): its nick on that server and port. */
export function ircLoginKey(o: IrcOptions): string {
  return `${ircLowerNick(o.nick)} at ${o.host.toLowerCase()}:${o.port}`;
}
