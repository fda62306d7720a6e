import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  IsNull,
  MoreThan,
  QueryFailedError,
  type DataSource,
  type ObjectLiteral,
  type Repository,
} from 'typeorm';
import {
  Account,
  AccountState,
  ApiToken,
  Bridge,
  BridgeMember,
  Call,
  ClientEvent,
  Conversation,
  ENTITIES,
  Endpoint,
  Message,
  MessageRemoteId,
  Person,
  PersonLinkDecision,
  SecretBox,
  User,
  checkDatabase,
  openDatabase,
  pendingMigrations,
  runMigrations,
  type StorageConfig,
} from '../../src/storage';
import { MIGRATIONS } from '../../src/storage/migrations';
import { startPostgres, type PostgresServer } from '../support/postgres';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const UNIQUE_VIOLATION = /UNIQUE constraint failed|duplicate key value violates unique constraint/;
const FK_VIOLATION = /FOREIGN KEY constraint failed|violates foreign key constraint/;

async function expectRejected(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(QueryFailedError);
  expect((err as Error).message).toMatch(pattern);
}

/** A fresh owner, account and conversation, so tests do not depend on one another's rows. */
async function seed(ds: DataSource, tag = randomUUID().slice(0, 8)) {
  const user = await ds
    .getRepository(User)
    .save({ username: `u-${tag}`, passwordHash: 'scrypt$x', isAdmin: false });
  const account = await ds
    .getRepository(Account)
    .save({ ownerId: user.id, adapterId: 'irc', label: null, options: { host: 'irc.example' } });
  const conversation = await ds
    .getRepository(Conversation)
    .save({ ownerId: user.id, accountId: account.id, remoteId: `#room-${tag}`, kind: 'group' as const });
  return { user, account, conversation };
}

function newMessage(
  ds: DataSource,
  conversation: Conversation,
  extra: Partial<Message> = {},
): Promise<Message> {
  return ds.getRepository(Message).save({
    ownerId: conversation.ownerId,
    conversationId: conversation.id,
    senderName: 'alice',
    text: 'hello',
    sentAt: Date.now(),
    status: 'sent' as const,
    transactionId: randomUUID(),
    ...extra,
  });
}

type Driver = StorageConfig['kind'];

describe.each<Driver>(['sqlite', 'postgres'])('storage on %s', (driver) => {
  let ds: DataSource;
  let pg: PostgresServer | undefined;
  let tmp: string | undefined;
  const repo = <T extends ObjectLiteral>(entity: new () => T): Repository<T> => ds.getRepository(entity);

  beforeAll(async () => {
    if (driver === 'sqlite') {
      tmp = mkdtempSync(join(tmpdir(), 'sb-storage-'));
      ds = await openDatabase({ kind: 'sqlite', path: join(tmp, 'nested', 'switchboard.db') });
    } else {
      pg = await startPostgres();
      ds = await openDatabase({ kind: 'postgres', url: pg.url });
    }
  }, 120_000);

  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await pg?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  describe('migrations', () => {
    it('leave nothing pending and a schema that matches the entities exactly', async () => {
      expect(await pendingMigrations(ds)).toEqual([]);
      expect(await checkDatabase(ds)).toEqual({
        ok: true,
        message: expect.stringContaining('schema up to date'),
      });
      const diff = await ds.driver.createSchemaBuilder().log();
      expect(diff.upQueries.map((q) => q.query)).toEqual([]);
      const qr = ds.createQueryRunner();
      try {
        for (const entity of ENTITIES) expect(await qr.hasTable(ds.getMetadata(entity).tableName)).toBe(true);
      } finally {
        await qr.release();
      }
    });

    it('go down and up again, and checkDatabase reports the pending ones meanwhile', async () => {
      for (let i = 0; i < MIGRATIONS.length; i++) await ds.undoLastMigration({ transaction: 'all' });
      const qr = ds.createQueryRunner();
      try {
        expect(await qr.hasTable('messages')).toBe(false);
        expect(await qr.hasTable('users')).toBe(false);
      } finally {
        await qr.release();
      }
      const pending = await pendingMigrations(ds);
      expect(pending).toEqual(MIGRATIONS.map((m) => m.name));
      const health = await checkDatabase(ds);
      expect(health.ok).toBe(false);
      expect(health.message).toContain(pending[0]);
      expect(await runMigrations(ds)).toEqual(pending);
      expect(await pendingMigrations(ds)).toEqual([]);
      expect((await ds.driver.createSchemaBuilder().log()).upQueries).toEqual([]);
    });
  });

  describe('users and api tokens', () => {
    it('fill ids and createdAt in code, enforce unique usernames and token hashes, cascade tokens', async () => {
      const before = Date.now();
      const user = await repo(User).save({ username: 'carol', passwordHash: 'scrypt$abc' });
      expect(user.id).toMatch(UUID);
      expect(user.createdAt).toBeGreaterThanOrEqual(before);
      const loaded = await repo(User).findOneByOrFail({ id: user.id });
      expect(loaded).toEqual({
        id: user.id,
        username: 'carol',
        passwordHash: 'scrypt$abc',
        isAdmin: false,
        createdAt: user.createdAt,
        // No presence of their own until they set one (PUT /presence).
        presenceState: null,
        presenceStatus: null,
        presenceSince: null,
      });
      await expectRejected(repo(User).insert({ username: 'carol', passwordHash: 'other' }), UNIQUE_VIOLATION);

      const token = await repo(ApiToken).save({
        userId: user.id,
        tokenHash: 'sha256:1',
        expiresAt: Date.UTC(2031, 0, 1),
      });
      expect(token.lastUsedAt ?? null).toBeNull();
      await repo(ApiToken).update({ id: token.id }, { lastUsedAt: Date.UTC(2030, 5, 1, 12) });
      expect(await repo(ApiToken).findOneByOrFail({ id: token.id })).toMatchObject({
        expiresAt: Date.UTC(2031, 0, 1),
        lastUsedAt: Date.UTC(2030, 5, 1, 12),
      });
      await expectRejected(
        repo(ApiToken).insert({ userId: user.id, tokenHash: 'sha256:1', expiresAt: 1 }),
        UNIQUE_VIOLATION,
      );
      await expectRejected(
        repo(ApiToken).insert({ userId: randomUUID(), tokenHash: 'sha256:2', expiresAt: 1 }),
        FK_VIOLATION,
      );

      await repo(User).delete({ id: user.id });
      expect(await repo(ApiToken).countBy({ userId: user.id })).toBe(0);
    });
  });

  describe('accounts and their state', () => {
    it('round-trip options and sealed secrets, keep per-account state, refuse deleting an owner with accounts', async () => {
      const box = SecretBox.fromBase64Key(SecretBox.generateKey());
      const { user, account } = await seed(ds);
      expect(account).toMatchObject({
        enabled: true,
        state: 'connecting',
        stateMessage: null,
        secrets: null,
      });
      expect(account.updatedAt).toBe(account.createdAt);

      const options = {
        host: 'irc.libera.chat',
        port: 6697,
        tls: true,
        channels: ['#a', '#b'],
        sasl: { mechanism: 'PLAIN' },
      };
      await repo(Account).update(
        { id: account.id },
        { options, secrets: box.seal(JSON.stringify({ password: 'pw-1' })), updatedAt: 1 },
      );
      const loaded = await repo(Account).findOneByOrFail({ id: account.id });
      expect(loaded.options).toEqual(options);
      expect(JSON.parse(box.open(loaded.secrets!))).toEqual({ password: 'pw-1' });
      expect(loaded.updatedAt).toBeGreaterThan(1); // the subscriber stamps every update

      const values: unknown[] = [
        { since: 's123_456', rooms: { '!a:x': 1 } },
        'token',
        42,
        [1, 'two', { three: 3 }],
        true,
        0,
        '',
      ];
      for (const [i, value] of values.entries())
        await repo(AccountState).save({ accountId: account.id, key: `k${i}`, value });
      for (const [i, value] of values.entries()) {
        expect(
          (await repo(AccountState).findOneByOrFail({ accountId: account.id, key: `k${i}` })).value,
        ).toEqual(value);
      }
      // An adapter's set() is an upsert on (accountId, key).
      await repo(AccountState).upsert({ accountId: account.id, key: 'k0', value: { since: 's999' } }, [
        'accountId',
        'key',
      ]);
      expect((await repo(AccountState).findOneByOrFail({ accountId: account.id, key: 'k0' })).value).toEqual({
        since: 's999',
      });
      await expectRejected(
        repo(AccountState).insert({ accountId: account.id, key: 'k1', value: 'again' }),
        UNIQUE_VIOLATION,
      );

      await expectRejected(repo(User).delete({ id: user.id }), FK_VIOLATION);
      await repo(Account).delete({ id: account.id });
      expect(await repo(AccountState).countBy({ accountId: account.id })).toBe(0);
      await repo(User).delete({ id: user.id });
    });
  });

  describe('people, endpoints and link decisions', () => {
    it('link endpoints to people, keep (accountId, address) unique, unlink on person delete', async () => {
      const { user, account } = await seed(ds);
      const person = await repo(Person).save({ ownerId: user.id, displayName: 'Dana' });
      const since = Date.UTC(2025, 2, 3, 4, 5, 6, 789);
      const endpoint = await repo(Endpoint).save({
        ownerId: user.id,
        accountId: account.id,
        personId: person.id,
        network: 'irc',
        address: 'dana',
        displayName: 'Dana ✿',
        presenceState: 'away' as const,
        presenceStatus: 'lunch',
        presenceSince: since,
        capabilities: { voice: false, typing: true },
        hints: { emails: ['dana@example.org'] },
        lastActiveAt: since + 1,
      });
      expect(await repo(Endpoint).findOneByOrFail({ id: endpoint.id })).toMatchObject({
        personId: person.id,
        presenceState: 'away',
        presenceSince: since,
        lastActiveAt: since + 1,
        capabilities: { voice: false, typing: true },
        hints: { emails: ['dana@example.org'] },
      });
      const bare = await repo(Endpoint).save({
        ownerId: user.id,
        accountId: account.id,
        network: 'irc',
        address: 'erin',
        capabilities: {},
        hints: {},
      });
      expect(await repo(Endpoint).findOneByOrFail({ id: bare.id })).toMatchObject({
        personId: null,
        presenceState: 'unknown',
        presenceSince: null,
      });

      await expectRejected(
        repo(Endpoint).insert({
          ownerId: user.id,
          accountId: account.id,
          network: 'irc',
          address: 'dana',
          capabilities: {},
          hints: {},
        }),
        UNIQUE_VIOLATION,
      );
      const other = await seed(ds);
      await repo(Endpoint).insert({
        ownerId: user.id,
        accountId: other.account.id,
        network: 'irc',
        address: 'dana',
        capabilities: {},
        hints: {},
      });

      const decision = await repo(PersonLinkDecision).save({
        ownerId: user.id,
        endpointA: endpoint.id,
        endpointB: bare.id,
        decision: 'split' as const,
      });
      expect(await repo(PersonLinkDecision).findOneByOrFail({ id: decision.id })).toMatchObject({
        decision: 'split',
        endpointA: endpoint.id,
      });

      await repo(Person).delete({ id: person.id });
      expect((await repo(Endpoint).findOneByOrFail({ id: endpoint.id })).personId).toBeNull();

      await repo(Account).delete({ id: account.id });
      expect(await repo(Endpoint).countBy({ accountId: account.id })).toBe(0);
    });
  });

  describe('conversations and messages', () => {
    it('keep (accountId, remoteId) unique per account', async () => {
      const { user, account, conversation } = await seed(ds);
      expect(conversation).toMatchObject({ unread: 0, lastMessageAt: null, title: null });
      await expectRejected(
        repo(Conversation).insert({
          ownerId: user.id,
          accountId: account.id,
          remoteId: conversation.remoteId,
          kind: 'group',
        }),
        UNIQUE_VIOLATION,
      );
      const other = await seed(ds);
      await repo(Conversation).insert({
        ownerId: other.user.id,
        accountId: other.account.id,
        remoteId: conversation.remoteId,
        kind: 'group',
      });
    });

    it('store messages with defaults, json attachments and origin, in sentAt order', async () => {
      const { conversation } = await seed(ds);
      const t0 = Date.UTC(2025, 0, 1);
      const attachments = [{ name: 'cat.png', mimeType: 'image/png', size: 1234, url: 'mxc://x/cat' }];
      const origin = {
        bridgeId: randomUUID(),
        conversationId: randomUUID(),
        messageId: randomUUID(),
        hops: 1,
      };
      await newMessage(ds, conversation, {
        sentAt: t0 + 2,
        text: 'third',
        attachments,
        origin,
        html: '<b>third</b>',
      });
      await newMessage(ds, conversation, { sentAt: t0, text: 'first', self: true, kind: 'emote' });
      await newMessage(ds, conversation, { sentAt: t0 + 1, text: 'second' });
      const list = await repo(Message).find({
        where: { conversationId: conversation.id },
        order: { sentAt: 'ASC' },
      });
      expect(list.map((m) => m.text)).toEqual(['first', 'second', 'third']);
      expect(list[0]).toMatchObject({
        self: true,
        kind: 'emote',
        deleted: false,
        sentAt: t0,
        editedAt: null,
        attachments: null,
        origin: null,
      });
      expect(list[1]).toMatchObject({ self: false, kind: 'text' });
      expect(list[2]).toMatchObject({ attachments, origin, html: '<b>third</b>' });
      expect(typeof list[2]!.sentAt).toBe('number');

      const newer = await repo(Message).find({
        where: { conversationId: conversation.id, sentAt: MoreThan(t0) },
        order: { sentAt: 'DESC' },
      });
      expect(newer.map((m) => m.text)).toEqual(['third', 'second']);

      await repo(Message).update(
        { id: list[1]!.id },
        { text: 'second (edited)', editedAt: t0 + 10, deleted: true, status: 'failed', failReason: 'gone' },
      );
      expect(await repo(Message).findOneByOrFail({ id: list[1]!.id })).toMatchObject({
        text: 'second (edited)',
        editedAt: t0 + 10,
        deleted: true,
        status: 'failed',
        failReason: 'gone',
      });
    });

    it('refuse a second clientId in one conversation but allow many NULL ones, and unique transaction ids', async () => {
      const { conversation } = await seed(ds);
      const other = await seed(ds);
      await newMessage(ds, conversation, { clientId: 'c-1' });
      await expectRejected(newMessage(ds, conversation, { clientId: 'c-1' }), UNIQUE_VIOLATION);
      await newMessage(ds, other.conversation, { clientId: 'c-1' });
      await newMessage(ds, conversation, { clientId: null });
      await newMessage(ds, conversation, { clientId: null });
      await newMessage(ds, conversation);
      expect(await repo(Message).countBy({ conversationId: conversation.id, clientId: IsNull() })).toBe(3);

      const txn = randomUUID();
      await newMessage(ds, conversation, { transactionId: txn });
      await expectRejected(newMessage(ds, other.conversation, { transactionId: txn }), UNIQUE_VIOLATION);
    });

    it('map remote ids uniquely per (account, room) and drop the map with the message', async () => {
      const { account, conversation } = await seed(ds);
      const msg = await newMessage(ds, conversation);
      const row = { messageId: msg.id, accountId: account.id, roomId: '#room', remoteId: 'msgid-1' };
      const saved = await repo(MessageRemoteId).save({ ...row });
      expect(saved.id).toMatch(UUID);
      await expectRejected(repo(MessageRemoteId).insert({ ...row }), UNIQUE_VIOLATION);
      await repo(MessageRemoteId).insert({ ...row, roomId: '#other' });
      await repo(MessageRemoteId).insert({ ...row, accountId: randomUUID() });
      expect(await repo(MessageRemoteId).countBy({ messageId: msg.id })).toBe(3);
      await repo(Message).delete({ id: msg.id });
      expect(await repo(MessageRemoteId).countBy({ messageId: msg.id })).toBe(0);
    });

    it('cascade from account to conversations, messages, remote ids and bridge memberships', async () => {
      const { user, account, conversation } = await seed(ds);
      const msg = await newMessage(ds, conversation);
      await repo(MessageRemoteId).insert({
        messageId: msg.id,
        accountId: account.id,
        roomId: '#r',
        remoteId: 'x',
      });
      const bridge = await repo(Bridge).save({
        ownerId: user.id,
        name: null,
        options: {},
        source: 'api' as const,
      });
      await repo(BridgeMember).insert({ bridgeId: bridge.id, conversationId: conversation.id });

      await repo(Account).delete({ id: account.id });
      expect(await repo(Conversation).countBy({ id: conversation.id })).toBe(0);
      expect(await repo(Message).countBy({ id: msg.id })).toBe(0);
      expect(await repo(MessageRemoteId).countBy({ messageId: msg.id })).toBe(0);
      expect(await repo(BridgeMember).countBy({ bridgeId: bridge.id })).toBe(0);
      expect(await repo(Bridge).countBy({ id: bridge.id })).toBe(1);
    });
  });

  describe('bridges and calls', () => {
    it('keep members unique per bridge and drop them with the bridge', async () => {
      const { user, conversation } = await seed(ds);
      const other = await seed(ds);
      const options = { relayFormat: '<{nick}> {text}', filters: [{ kind: 'bots', allow: false }] };
      const bridge = await repo(Bridge).save({
        ownerId: user.id,
        name: 'team',
        options,
        source: 'config' as const,
      });
      expect(await repo(Bridge).findOneByOrFail({ id: bridge.id })).toMatchObject({
        name: 'team',
        options,
        source: 'config',
      });
      await repo(BridgeMember).insert([
        { bridgeId: bridge.id, conversationId: conversation.id },
        { bridgeId: bridge.id, conversationId: other.conversation.id },
      ]);
      await expectRejected(
        repo(BridgeMember).insert({ bridgeId: bridge.id, conversationId: conversation.id }),
        UNIQUE_VIOLATION,
      );
      await expectRejected(
        repo(BridgeMember).insert({ bridgeId: bridge.id, conversationId: randomUUID() }),
        FK_VIOLATION,
      );
      await repo(Bridge).delete({ id: bridge.id });
      expect(await repo(BridgeMember).countBy({ bridgeId: bridge.id })).toBe(0);
      expect(await repo(Conversation).countBy({ id: conversation.id })).toBe(1);
    });

    it('store calls with a json route and stamp updatedAt on save', async () => {
      const { user } = await seed(ds);
      const route = { network: 'xmpp', how: 'native', codecs: ['opus'], reasons: ['online', 'same network'] };
      const call: Call = await repo(Call).save({
        ownerId: user.id,
        endpointId: randomUUID(),
        media: 'audio' as const,
        route,
        state: 'negotiating',
        createdAt: 1000,
        updatedAt: 1000,
      });
      call.state = 'ended';
      call.endReason = 'hangup';
      await repo(Call).save(call);
      const loaded = await repo(Call).findOneByOrFail({ id: call.id });
      expect(loaded).toMatchObject({
        route,
        state: 'ended',
        endReason: 'hangup',
        personId: null,
        createdAt: 1000,
      });
      expect(loaded.updatedAt).toBeGreaterThan(1000);
    });
  });

  describe('client events', () => {
    it('number events in order and replay them by time as numbers', async () => {
      const userId = randomUUID();
      const base = Date.UTC(2099, 11, 31, 23, 59, 59, 998); // well past 2^32 ms and 2^31 s
      const rows = [
        { userId, type: 'message.received', data: { id: 'm1', text: 'hi' }, at: base },
        { userId, type: 'presence.changed', data: { state: 'away' }, at: base + 1 },
        { userId, type: 'typing', data: null, at: base + 1 },
        { userId: randomUUID(), type: 'typing', data: [], at: base + 5 },
      ];
      const saved: ClientEvent[] = [];
      for (const r of rows) saved.push(await repo(ClientEvent).save(r));
      for (let i = 1; i < saved.length; i++) expect(saved[i]!.seq).toBeGreaterThan(saved[i - 1]!.seq);

      const replay = await repo(ClientEvent).find({
        where: { userId, at: MoreThan(base) },
        order: { at: 'ASC', seq: 'ASC' },
      });
      expect(replay.map((e) => [e.type, e.at, e.data])).toEqual([
        ['presence.changed', base + 1, { state: 'away' }],
        ['typing', base + 1, null],
      ]);
      expect(typeof replay[0]!.at).toBe('number');
      expect(typeof replay[0]!.seq).toBe('number');
    });
  });

  describe('times and json', () => {
    it('round-trip edge times exactly and sort them numerically', async () => {
      const { user } = await seed(ds);
      const times = [
        0,
        1,
        999,
        Date.UTC(1999, 11, 31, 23, 59, 59, 999),
        2 ** 31,
        2 ** 32 + 7,
        Date.UTC(9999, 11, 31, 23, 59, 59, 999),
      ];
      for (const t of times)
        await repo(Person).save({ ownerId: user.id, displayName: `t${t}`, createdAt: t, updatedAt: t });
      const people = await repo(Person).find({ where: { ownerId: user.id }, order: { createdAt: 'DESC' } });
      expect(people.map((p) => p.createdAt)).toEqual([...times].sort((a, b) => b - a));
      for (const p of people) expect(typeof p.createdAt).toBe('number');
    });

    it('round-trip nested JSON with unicode, escapes and nulls', async () => {
      const { user } = await seed(ds);
      const options = {
        unicode: 'Grüße 🐧 日本語',
        quotes: `it's "quoted" \\ back\nslash`,
        nested: { deep: { list: [1, 2.5, -3, null, true, false, 'x'], empty: {} } },
        big: Number.MAX_SAFE_INTEGER,
      };
      const bridge = await repo(Bridge).save({ ownerId: user.id, options, source: 'api' as const });
      expect((await repo(Bridge).findOneByOrFail({ id: bridge.id })).options).toEqual(options);
    });
  });
});

describe('SQLite file', () => {
  let tmp: string;
  let ds: DataSource;
  let path: string;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'sb-sqlite-'));
    path = join(tmp, 'a', 'b', 'switchboard.db');
    ds = await openDatabase({ kind: 'sqlite', path });
  });

  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('is created with its folder, in WAL mode, with foreign keys on and a busy timeout', async () => {
    expect(existsSync(path)).toBe(true);
    expect(await ds.query('PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
    expect(await ds.query('PRAGMA foreign_keys')).toEqual([{ foreign_keys: 1 }]);
    expect(await ds.query('PRAGMA busy_timeout')).toEqual([{ timeout: 5000 }]);
  });

  it('holds sealed secrets, never their plaintext, in the file bytes', async () => {
    const box = SecretBox.fromBase64Key(SecretBox.generateKey());
    const plaintext = 'correct-horse-battery-staple-7f3a';
    const visible = 'irc-visible-option-9c1d';
    const { account } = await seed(ds);
    await ds
      .getRepository(Account)
      .update(
        { id: account.id },
        { options: { host: visible }, secrets: box.seal(JSON.stringify({ password: plaintext })) },
      );
    await ds.query('PRAGMA wal_checkpoint(TRUNCATE)');
    // The main file and the WAL (empty after the checkpoint, but read anyway).
    const bytes = Buffer.concat([
      readFileSync(path),
      existsSync(`${path}-wal`) ? readFileSync(`${path}-wal`) : Buffer.alloc(0),
    ]);
    expect(bytes.includes(Buffer.from(visible))).toBe(true); // proves the search can find text that is there
    expect(bytes.includes(Buffer.from(plaintext))).toBe(false);
    const stored = await ds.getRepository(Account).findOneByOrFail({ id: account.id });
    expect(JSON.parse(box.open(stored.secrets!))).toEqual({ password: plaintext });
  });

  it('reports pending migrations when opened without migrating', async () => {
    const fresh = await openDatabase({ kind: 'sqlite', path: join(tmp, 'fresh.db') }, { migrate: false });
    try {
      expect(await pendingMigrations(fresh)).toHaveLength(MIGRATIONS.length);
      expect((await checkDatabase(fresh)).ok).toBe(false);
    } finally {
      await fresh.destroy();
    }
    expect(await checkDatabase(fresh)).toEqual({
      ok: false,
      message: expect.stringContaining('not connected'),
    });
  });
});

describe('PostgreSQL cluster mode', () => {
  let pg: PostgresServer;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await pg?.stop();
  }, 60_000);

  it('lets several instances start at once on an empty database: one migrates, the others wait', async () => {
    const instances = await Promise.all(
      [1, 2, 3, 4].map(() => openDatabase({ kind: 'postgres', url: pg.url })),
    );
    try {
      for (const ds of instances) expect(await pendingMigrations(ds)).toEqual([]);
      const applied: { name: string }[] = await instances[0]!.query(`SELECT name FROM schema_migrations`);
      expect(applied).toHaveLength(MIGRATIONS.length);
    } finally {
      await Promise.all(instances.map((ds) => ds.destroy()));
    }
  });

  it('fails with a clear error naming the server, without the password, when nothing listens', async () => {
    const url = pg.url.replace('postgres@', 'postgres:s3cret-pw@').replace(/:(\d+)\//, ':1/');
    const err = await openDatabase({ kind: 'postgres', url }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/^cannot open postgres 127\.0\.0\.1:1\/switchboard_test: /);
    expect(err?.message).not.toContain('s3cret-pw');
  });
});
