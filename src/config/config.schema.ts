import { z } from 'zod';

/**
 * The shape of config/switchboard.yaml. Every key carries a description and, where it applies, the
 * environment variable that overrides it and whether it is a secret. The JSON schema
 * (config/switchboard.schema.json), the key table in docs/configuration.md and the example file are all
 * generated from these annotations (config-docs.ts), and the loader reads the same annotations to apply
 * environment overrides and to keep secrets out of messages.
 */

/** How a secret is masked: the whole value, or only the password inside a URL's user info. */
export type Sensitivity = 'secret' | 'url-credentials';

export interface KeyInfo {
  /** One or two sentences for the docs, the JSON schema and the example file. */
  description: string;
  /** The environment variable that overrides this key. */
  env?: string;
  sensitive?: Sensitivity;
  /** The default in words, where it is computed at load time rather than a fixed value. */
  defaultText?: string;
  /** An illustrative value for the example file, for keys with no fixed default. */
  example?: unknown;
}

/**
 * Annotates a key. The annotations go into zod's global registry as JSON-schema keywords: the standard
 * `description` and `examples`, and `x-env`, `x-sensitive`, `x-default` for ours.
 */
export function key<T extends z.ZodType>(schema: T, info: KeyInfo): T {
  return schema.meta({
    description: info.description,
    ...(info.env !== undefined && { 'x-env': info.env }),
    ...(info.sensitive !== undefined && { 'x-sensitive': info.sensitive }),
    ...(info.defaultText !== undefined && { 'x-default': info.defaultText }),
    ...(info.example !== undefined && { examples: [info.example] }),
  });
}

// Builders whose error text says what is expected; the loader appends what it got.

function int(min: number, max?: number) {
  const expected =
    max === undefined
      ? `expected an integer of at least ${min}`
      : `expected an integer from ${min} to ${max}`;
  const base = z.number({ error: expected }).int({ error: expected }).min(min, { error: expected });
  return max === undefined ? base : base.max(max, { error: expected });
}

function text(what = 'a non-empty string') {
  const expected = `expected ${what}`;
  return z.string({ error: expected }).min(1, { error: expected });
}

function pattern(re: RegExp, what: string) {
  const expected = `expected ${what}`;
  return z.string({ error: expected }).regex(re, { error: expected });
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `expected one of: ${values.join(', ')}` });
}

function bool() {
  return z.boolean({ error: 'expected true or false' });
}

function mapping() {
  return z.record(z.string(), z.unknown(), { error: 'expected a mapping of keys' });
}

function url(schemes: readonly string[], what: string) {
  const expected = `expected ${what}`;
  return z
    .string({ error: expected })
    .meta({ format: 'uri' })
    .refine(
      (s) => {
        try {
          return schemes.includes(new URL(s).protocol);
        } catch {
          return false;
        }
      },
      { error: expected },
    );
}

/** The same rule the SDK applies to adapter ids (kept here because src/config imports nothing of the gateway). */
export const ADAPTER_ID = /^[a-z][a-z0-9-]{0,31}$/;
const NPM_PACKAGE = /^(@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;
/** base64 (standard or URL-safe alphabet) of exactly 32 bytes. */
const KEY_32_BYTES = /^[A-Za-z0-9+/_-]{43}=?$/;

export const MiB = 1024 * 1024;

const serverSchema = z.strictObject({
  host: key(text('a host name or IP address').default('127.0.0.1'), {
    description: 'Address the HTTP server (REST, WebSocket and the web client) listens on.',
    env: 'HOST',
  }),
  port: key(int(1, 65535).default(8080), {
    description: 'TCP port of the HTTP server.',
    env: 'PORT',
  }),
  bodyLimitBytes: key(int(1024).default(MiB), {
    description: 'Largest request body the HTTP server accepts, in bytes.',
  }),
  publicUrl: key(url(['http:', 'https:'], 'an http:// or https:// URL').optional(), {
    description:
      'The URL clients reach the gateway at, when it differs from host:port (behind a reverse proxy). ' +
      'Used in links the gateway hands out.',
    example: 'https://chat.example.org',
  }),
  trustProxy: key(
    z
      .union([bool(), int(0), text(), z.array(text())], {
        error: 'expected true or false, a number of proxy hops, or addresses of trusted proxies',
      })
      .default(false),
    {
      description:
        "Which reverse proxies to trust for the client address (X-Forwarded-For), as in Express's " +
        '"trust proxy": false, true, a number of hops, or addresses/subnets (a string or a list).',
    },
  ),
});

const databaseSchema = z.strictObject({
  url: key(
    url(
      ['postgres:', 'postgresql:'],
      'a postgres:// or postgresql:// URL (leave it unset for SQLite)',
    ).optional(),
    {
      description:
        'PostgreSQL connection URL. Setting it switches the gateway to cluster mode; unset, it uses SQLite.',
      env: 'DATABASE_URL',
      sensitive: 'url-credentials',
      example: 'postgres://switchboard:secret@db.example.org:5432/switchboard',
    },
  ),
  sqlitePath: key(text('a file path').optional(), {
    description:
      'The SQLite database file (embedded mode). A relative path resolves against the working directory.',
    defaultText: '<dataDir>/switchboard.sqlite',
    example: './data/switchboard.sqlite',
  }),
  sqliteSynchronous: key(oneOf(['full', 'normal']).default('full'), {
    description:
      'How SQLite commits (the database and the embedded queue). full: every commit waits for the disk, so ' +
      'whatever the gateway has accepted survives a power loss or an OS crash (bridge copies go out on the ' +
      'commit itself: after a power loss one may be relayed twice). normal: commits do not wait ' +
      'for the disk — lower latency and more messages per second — and survive a crash of the gateway ' +
      'process (kill -9), but a power loss may undo the last moments of commits (never corrupt the files).',
    example: 'normal',
  }),
});

const queueSchema = z.strictObject({
  redisUrl: key(url(['redis:', 'rediss:'], 'a redis:// or rediss:// URL').optional(), {
    description:
      'Redis connection URL for the BullMQ queues and client-event fan-out. Required in cluster mode.',
    env: 'REDIS_URL',
    sensitive: 'url-credentials',
    example: 'redis://redis.example.org:6379/0',
  }),
  embeddedPath: key(text('a file path').optional(), {
    description:
      'The file of the embedded durable queue (used when redisUrl is unset). A relative path resolves ' +
      'against the working directory.',
    defaultText: '<dataDir>/queue.sqlite',
    example: './data/queue.sqlite',
  }),
  concurrency: key(int(1).default(4), {
    description: 'Jobs one process works on at the same time, per queue.',
  }),
  maxAttempts: key(int(1).default(10), {
    description: 'Attempts at a job (such as delivering a message) before it is marked failed.',
  }),
  backoffBaseMs: key(int(0).default(1000), {
    description: 'Delay before the first retry, in milliseconds; it doubles with each further attempt.',
  }),
  backoffMaxMs: key(int(0).default(300_000), {
    description: 'Longest delay between retries, in milliseconds. At least backoffBaseMs.',
  }),
});

const securitySchema = z.strictObject({
  secretKey: key(pattern(KEY_32_BYTES, 'base64 of exactly 32 bytes (openssl rand -base64 32)').optional(), {
    description:
      'The key that encrypts account credentials at rest and signs tokens: base64 of 32 random bytes. ' +
      'In embedded mode it may be left unset: a key file is created in dataDir. Required in cluster mode, ' +
      'where every instance needs the same key.',
    env: 'SWITCHBOARD_SECRET_KEY',
    sensitive: 'secret',
    defaultText: 'key file <dataDir>/secret.key (embedded mode only)',
    example: '<the output of: openssl rand -base64 32>',
  }),
  tokenTtlHours: key(int(1).default(720), {
    description: 'How long a login token stays valid, in hours.',
  }),
  loginRateLimit: key(
    z
      .strictObject({
        maxAttempts: key(int(1).default(10), {
          description: 'Failed logins allowed per client address and username within the window.',
        }),
        windowSeconds: key(int(1).default(60), {
          description: 'The window of the login rate limit, in seconds.',
        }),
      })
      .prefault({}),
    { description: 'Limits on login attempts, against password guessing.' },
  ),
});

const adminSchema = z.strictObject({
  username: key(text().default('admin'), {
    description: 'Username of the first admin account, created at first start when no user exists.',
    env: 'SWITCHBOARD_ADMIN_USER',
  }),
  password: key(text().optional(), {
    description:
      'Password of the first admin account. Needed only for the first start (when no user exists yet).',
    env: 'SWITCHBOARD_ADMIN_PASSWORD',
    sensitive: 'secret',
    example: 'change-me-please',
  }),
});

export const adapterSpecSchema = z.strictObject({
  id: key(pattern(ADAPTER_ID, 'an adapter id (lowercase letters, digits and dashes, at most 32)'), {
    description:
      'The adapter id used by accounts and the API. Alone, it names a bundled adapter: the folder adapters/<id>.',
  }),
  path: key(text('a folder path').optional(), {
    description:
      'Load the adapter from this folder instead of adapters/<id>. A relative path resolves against the ' +
      'working directory.',
  }),
  package: key(pattern(NPM_PACKAGE, 'an npm package name').optional(), {
    description: 'Load the adapter from this installed npm package (its default export) instead of a folder.',
  }),
  enabled: key(bool().default(true), {
    description: 'false keeps the adapter listed but not loaded.',
  }),
  options: key(mapping().default({}), {
    description: "The adapter's own per-process settings, checked by the adapter's schema when it loads.",
  }),
});

export const accountSpecSchema = z.strictObject({
  owner: key(text('a gateway username'), {
    description: 'The gateway user the account belongs to.',
  }),
  adapter: key(pattern(ADAPTER_ID, 'an adapter id'), {
    description: 'Id of the adapter (network) of the account; it must appear in adapters.',
  }),
  label: key(text().optional(), {
    description: 'A name for the account, shown in the buddy list.',
  }),
  options: key(mapping().default({}), {
    description:
      "What the account needs to log in (server, user, password …), checked by the adapter's schema. " +
      'Secrets are masked in logs.',
  }),
});

export const bridgeSpecSchema = z.strictObject({
  name: key(text().optional(), { description: 'A name for the bridge.' }),
  conversations: key(
    z
      .array(
        z.strictObject({
          account: key(text(), { description: 'The label of the account that is in the room.' }),
          room: key(text(), { description: 'The room, channel or chat address on that network.' }),
        }),
        { error: 'expected a list' },
      )
      .min(2, { error: 'expected at least two conversations to link' }),
    { description: 'The rooms to link: messages in one are relayed to the others.' },
  ),
  options: key(mapping().default({}), {
    description:
      'Bridge settings: templates (relay text per target adapter id or default, with {nick} {text} {network} ' +
      "{bridge}; defaults: irc '<{nick}> {text}', elsewhere '{nick}: {text}'), notice (true: relays are notices), maxLength (longest relayed text in characters; default 1,200 on IRC and SIP, 16,000 elsewhere; longer is cut) and relayMembership (true: live joins, leaves and nick changes become short notices in the other rooms; default false).",
    example: { templates: { irc: '<{nick}> {text}' }, notice: false },
  }),
});

const callsSchema = z
  .strictObject({
    mediaAddress: key(z.ipv4({ error: 'expected an IPv4 address' }).default('127.0.0.1'), {
      description:
        'Address the gateway binds its RTP media sockets to and writes into SDP for the call legs it ' +
        'terminates itself (SIP). It must be reachable by the far end (or its proxy).',
    }),
    answerTimeoutSeconds: key(int(5, 600).default(45), {
      description: 'How long a call may ring unanswered before it ends as no_answer.',
    }),
    stunUrls: key(list(text('a stun: URL')).default([]), {
      description: 'STUN servers handed to clients for ICE (GET /api/v1/calls/ice-servers).',
      example: ['stun:turn.example.org:3478'],
    }),
    turnUrls: key(list(text('a turn: or turns: URL')).default([]), {
      description: 'TURN relays handed to clients, for peers behind symmetric NATs.',
      example: ['turn:turn.example.org:3478?transport=udp'],
    }),
    turnSecret: key(text('the shared secret').optional(), {
      description:
        "coturn's static-auth-secret: clients get time-limited TURN credentials (TURN REST API: user " +
        '"expiry:userId", password the base64 HMAC-SHA1 of it). Preferred over a static user.',
      sensitive: 'secret',
      example: 'a-long-random-string',
    }),
    turnUsername: key(text('a user name').optional(), {
      description: 'A static TURN user, when there is no turnSecret.',
      example: 'switchboard',
    }),
    turnPassword: key(text('a password').optional(), {
      description: "The static TURN user's password.",
      sensitive: 'secret',
      example: 'a-password',
    }),
    turnTtlSeconds: key(int(60, 86_400).default(3600), {
      description: 'Lifetime of time-limited TURN credentials, in seconds.',
    }),
  })
  .refine(
    (c) =>
      c.turnUrls.length === 0 ||
      c.turnSecret !== undefined ||
      (c.turnUsername !== undefined && c.turnPassword !== undefined),
    { error: 'turnUrls need turnSecret, or turnUsername and turnPassword', path: ['turnSecret'] },
  );

const eventsSchema = z.strictObject({
  replayLimit: key(int(0).default(1000), {
    description: 'Most missed events replayed to a client that reconnects with ?since=.',
  }),
  retentionHours: key(int(1).default(24), {
    description: 'How long events are kept for replay, in hours.',
  }),
  clientBufferBytes: key(int(1024).default(4 * MiB), {
    description: 'Most bytes queued for one slow WebSocket client before it is disconnected.',
  }),
});

const logSchema = z.strictObject({
  level: key(oneOf(['debug', 'info', 'warn', 'error']).default('info'), {
    description: 'Least severe log level written.',
    env: 'SWITCHBOARD_LOG_LEVEL',
  }),
  format: key(oneOf(['json', 'pretty']).optional(), {
    description: 'Log line format: json (one object per line) or pretty (for people).',
    env: 'SWITCHBOARD_LOG_FORMAT',
    defaultText: 'pretty when stdout is a terminal, else json',
    example: 'json',
  }),
});

const mediaSchema = z.strictObject({
  maxBytes: key(int(1024, 512 * MiB).default(20 * MiB), {
    description:
      'Largest file, in bytes, a bridge fetches from a network (Matrix media) to serve by link at ' +
      '<server.publicUrl>/media/... and to upload where the target network takes files. Larger files are ' +
      'relayed as a "[file: ... not relayed]" note.',
  }),
  rateLimit: key(
    z
      .strictObject({
        requests: key(int(1).default(120), {
          description:
            'Downloads of relayed files (GET /media/...) allowed per client address within the window.',
        }),
        windowSeconds: key(int(1).default(60), {
          description: 'The window of the media download limit, in seconds.',
        }),
      })
      .prefault({}),
    {
      description:
        'Limits on downloads of relayed files per client address (the links are public): past it, 429 with ' +
        'Retry-After.',
    },
  ),
});

function list<T extends z.ZodType>(item: T) {
  return z.array(item, { error: 'expected a list' });
}

export const configSchema = z.strictObject({
  server: key(serverSchema.prefault({}), { description: 'The HTTP server.' }),
  dataDir: key(text('a folder path').default('./data'), {
    description:
      'Folder for local state: the SQLite database, the embedded queue and the key file. A relative path ' +
      'resolves against the working directory.',
    env: 'SWITCHBOARD_DATA_DIR',
  }),
  database: key(databaseSchema.prefault({}), { description: 'Where the gateway stores its data.' }),
  queue: key(queueSchema.prefault({}), { description: 'Durable job queues (inbound events, the outbox).' }),
  security: key(securitySchema.prefault({}), { description: 'Keys, tokens and login limits.' }),
  admin: key(adminSchema.prefault({}), { description: 'The first admin account.' }),
  adapters: key(list(adapterSpecSchema).optional(), {
    description:
      'The network adapters to load. An entry with only an id names a bundled adapter (the folder ' +
      'adapters/<id>); with a path, a folder elsewhere; with a package, an installed npm package.',
    defaultText: 'every bundled adapter (each folder under adapters/)',
    example: [
      { id: 'irc' },
      { id: 'matrix', enabled: false },
      { id: 'my-net', path: './local-adapters/my-net' },
      { id: 'acme', package: '@acme/switchboard-adapter', options: { region: 'eu' } },
    ],
  }),
  accounts: key(list(accountSpecSchema).default([]), {
    description:
      'Accounts declared in the config file and started at boot (accounts may also be added through the API). ' +
      'One owner may not declare the same network login twice (the same XMPP JID, IRC nick, Matrix user or ' +
      'SIP address on the same server): the boot is refused, naming both entries.',
    example: [
      {
        owner: 'admin',
        adapter: 'irc',
        label: 'libera',
        options: { host: 'irc.libera.chat', port: 6697, tls: true, nick: 'switchboard' },
      },
    ],
  }),
  bridges: key(list(bridgeSpecSchema).default([]), {
    description: 'Rooms on different networks linked into one conversation.',
    example: [
      {
        name: 'project chat',
        conversations: [
          { account: 'libera', room: '#project' },
          { account: 'matrix-main', room: '#project:example.org' },
        ],
      },
    ],
  }),
  events: key(eventsSchema.prefault({}), { description: 'Client events over the WebSocket.' }),
  calls: key(callsSchema.prefault({}), { description: 'Voice calls: media and ringing.' }),
  media: key(mediaSchema.prefault({}), { description: 'Files relayed by bridges.' }),
  log: key(logSchema.prefault({}), { description: 'What the gateway logs, and how.' }),
});

/** What the file may contain (before defaults). */
export type ConfigInput = z.input<typeof configSchema>;
/** What the schema yields (defaults applied, nothing resolved yet). */
export type ParsedConfig = z.output<typeof configSchema>;
