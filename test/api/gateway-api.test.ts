import WebSocket from 'ws';
import { fakeHub } from '../fixtures/fake-adapter';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../support/gateway';
import { startPostgres, type PostgresServer } from '../support/postgres';
import { startRedis, type RedisServer } from '../support/redis';

/**
 * The foundation's API through a real gateway and the fake in-memory adapter loaded by path through the
 * registry: auth, isolation between users, validation of bad input, accounts connecting, the outbox, and
 * the WebSocket event stream with replay. Once in the embedded default (SQLite + the embedded queue) and
 * once in cluster mode (a real PostgreSQL + BullMQ on a real Redis).
 */
describe.each(['embedded', 'cluster'] as const)('gateway API (%s mode, fake adapter)', (mode) => {
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let anon: Api;
  let admin: Api;
  let bob: Api;
  let pg: PostgresServer | undefined;
  let redis: RedisServer | undefined;

  beforeAll(async () => {
    fakeHub.reset();
    if (mode === 'cluster') {
      [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
      env = await startTestGateway({
        database: { url: pg.url },
        queue: { redisUrl: redis.url, backoffBaseMs: 50, backoffMaxMs: 1000 },
        security: { secretKey: randomBytes(32).toString('base64') },
      });
      expect(env.config.mode).toBe('cluster');
    } else {
      env = await startTestGateway();
      expect(env.config.mode).toBe('embedded');
    }
    anon = new Api(env.gw.url);
    admin = await anon.login('admin', ADMIN_PASSWORD);
    const created = await admin.call('POST', '/api/v1/users', {
      username: 'bob',
      password: 'bob-password-1',
    });
    expect(created.status).toBe(201);
    bob = await anon.login('bob', 'bob-password-1');
  });

  afterAll(async () => {
    await env?.stop();
    await Promise.all([pg?.stop(), redis?.stop()]);
    fakeHub.reset();
  });

  describe('health, metrics and docs', () => {
    it('answers /healthz with 200 and the checks', async () => {
      const r = await anon.call('GET', '/healthz');
      expect(r.status).toBe(200);
      expect(r.json.status).toBe('ok');
      expect(r.json.checks.storage.ok).toBe(true);
      expect(r.json.checks.queue.ok).toBe(true);
    });

    it('serves Prometheus metrics and the OpenAPI document', async () => {
      const m = await anon.call('GET', '/metrics');
      expect(m.status).toBe(200);
      expect(m.text).toContain('switchboard_http_requests_total');
      const d = await anon.call('GET', '/api/docs-json');
      expect(d.status).toBe(200);
      expect(Object.keys(d.json.paths)).toEqual(
        expect.arrayContaining(['/api/v1/auth/login', '/api/v1/accounts', '/api/v1/adapters']),
      );
    });
  });

  describe('auth', () => {
    it('refuses every /api/v1 call without a token with 401 JSON', async () => {
      for (const [method, p] of [
        ['GET', '/api/v1/accounts'],
        ['GET', '/api/v1/adapters'],
        ['POST', '/api/v1/accounts'],
        ['GET', '/api/v1/conversations'],
        ['POST', '/api/v1/users'],
      ] as const) {
        const r = await anon.call(method, p, method === 'POST' ? {} : undefined);
        expect({ p, status: r.status }).toEqual({ p, status: 401 });
        expect(r.json.error.code).toBe('UNAUTHORIZED');
      }
      const bad = await new Api(env.gw.url, 'sb_not-a-real-token').call('GET', '/api/v1/accounts');
      expect(bad.status).toBe(401);
    });

    it('refuses a wrong password and rate-limits repeated failures', async () => {
      const wrong = await anon.call('POST', '/api/v1/auth/login', { username: 'bob', password: 'nope-nope' });
      expect(wrong.status).toBe(401);
      expect(wrong.json.error.message).toMatch(/wrong username or password/);
      let limited: Awaited<ReturnType<Api['call']>> | undefined;
      for (let i = 0; i < 12; i++) {
        limited = await anon.call('POST', '/api/v1/auth/login', { username: 'mallory', password: 'x' });
        if (limited.status === 429) break;
      }
      expect(limited?.status).toBe(429);
      expect(limited?.json.error.code).toBe('RATE_LIMITED');
    });

    it('lets only an admin create users', async () => {
      const r = await bob.call('POST', '/api/v1/users', { username: 'carol', password: 'carol-password' });
      expect(r.status).toBe(403);
      expect(r.json.error.code).toBe('FORBIDDEN');
    });
  });

  describe('malformed input gets 4xx JSON, never a 500', () => {
    it.each([
      ['bad JSON', '{"adapter": "fake", ', 400, 'BAD_JSON'],
      ['a JSON array', '[1,2]', 400, 'VALIDATION_FAILED'],
      ['a wrong type', JSON.stringify({ adapter: 42, options: {} }), 400, 'VALIDATION_FAILED'],
      [
        'an unknown field',
        JSON.stringify({ adapter: 'fake', options: {}, evil: true }),
        400,
        'VALIDATION_FAILED',
      ],
      ['options not an object', JSON.stringify({ adapter: 'fake', options: 'x' }), 400, 'VALIDATION_FAILED'],
      [
        'a body over 1 MiB',
        JSON.stringify({ adapter: 'fake', options: { pad: 'x'.repeat(1100 * 1024) } }),
        413,
        'PAYLOAD_TOO_LARGE',
      ],
    ])('%s', async (_name, body, status, code) => {
      const r = await admin.call('POST', '/api/v1/accounts', body);
      expect(r.status).toBe(status);
      expect(r.json.error.code).toBe(code);
      expect(typeof r.json.error.message).toBe('string');
    });

    it('names the unknown field and the wrongly typed one', async () => {
      const r = await admin.call('POST', '/api/v1/accounts', { adapter: 'fake', options: {}, evil: 1 });
      expect(r.json.error.message).toContain('evil');
      const t = await admin.call('POST', '/api/v1/accounts', { adapter: 42, options: {} });
      expect(t.json.error.message).toContain('adapter');
    });

    it('answers 400 naming the bad option field when the adapter schema refuses it', async () => {
      const r = await admin.call('POST', '/api/v1/accounts', {
        adapter: 'fake',
        options: { network: 'n1', user: 'NOT VALID', password: 'pw' },
      });
      expect(r.status).toBe(400);
      expect(r.json.error.message).toContain('options.user');
      const unknown = await admin.call('POST', '/api/v1/accounts', { adapter: 'nosuch', options: {} });
      expect(unknown.status).toBe(400);
      expect(unknown.json.error.message).toContain('nosuch');
    });

    it('answers unknown routes, bad ids and path tricks with 404 JSON', async () => {
      for (const p of [
        '/api/v1/nothing-here',
        '/api/v1/accounts/not-a-uuid',
        '/api/v1/accounts/..%2F..%2Fetc%2Fpasswd',
      ]) {
        const r = await admin.call('GET', p);
        expect({ p, status: r.status }).toEqual({ p, status: 404 });
        expect(r.json.error.code).toBe('NOT_FOUND');
      }
    });
  });

  describe('adapters and accounts', () => {
    let aliceAccount: string;
    let bobAccount: string;

    it('lists the fake adapter loaded through the registry', async () => {
      const r = await admin.call('GET', '/api/v1/adapters');
      expect(r.status).toBe(200);
      const fake = r.json.find((a: { id: string }) => a.id === 'fake');
      expect(fake).toMatchObject({
        id: 'fake',
        displayName: expect.any(String),
        version: expect.any(String),
      });
      expect(fake.capabilities).toBeDefined();
    });

    it('creates accounts that connect, without echoing secrets', async () => {
      const a = await admin.call('POST', '/api/v1/accounts', {
        adapter: 'fake',
        label: 'alice on net1',
        options: { network: 'net1', user: 'alice', password: 'alice-secret-pw' },
      });
      expect(a.status).toBe(201);
      expect(a.json).toMatchObject({ adapter: 'fake', state: expect.any(String) });
      expect(a.text).not.toContain('alice-secret-pw');
      aliceAccount = a.json.id;
      const b = await bob.call('POST', '/api/v1/accounts', {
        adapter: 'fake',
        options: { network: 'net1', user: 'bob', password: 'bob-secret-pw' },
      });
      expect(b.status).toBe(201);
      bobAccount = b.json.id;
      for (const [api, id] of [
        [admin, aliceAccount],
        [bob, bobAccount],
      ] as const) {
        await eventually(
          async () => (await api.call('GET', `/api/v1/accounts/${id}`)).json.state === 'connected',
          'connected',
        );
      }
    });

    it('refuses a second account on one network login (409), also when both are asked at once', async () => {
      const login = (user: string, network: string) => ({
        adapter: 'fake',
        options: { network, user, password: `${user}-pw` },
      });
      const again = await admin.call('POST', '/api/v1/accounts', login('alice', 'net1'));
      expect(again.status).toBe(409);
      expect(again.json.error).toMatchObject({
        code: 'CONFLICT',
        message: expect.stringContaining(aliceAccount),
      });
      // Another network, or another gateway user, is another login.
      const elsewhere = await admin.call('POST', '/api/v1/accounts', login('alice', 'net2'));
      expect(elsewhere.status).toBe(201);
      const carolAdmin = await admin.call('POST', '/api/v1/accounts', login('carol', 'net3'));
      const carolBob = await bob.call('POST', '/api/v1/accounts', login('carol', 'net3'));
      expect([carolAdmin.status, carolBob.status]).toEqual([201, 201]);
      // A double click: exactly one of two simultaneous requests creates the account.
      const both = await Promise.all([
        admin.call('POST', '/api/v1/accounts', login('dave', 'net4')),
        admin.call('POST', '/api/v1/accounts', login('dave', 'net4')),
      ]);
      expect(both.map((r) => r.status).sort()).toEqual([201, 409]);
      const made = both.find((r) => r.status === 201)!;
      expect(both.find((r) => r.status === 409)!.json.error.message).toContain(made.json.id);
      // Deleting the account frees its login.
      expect((await admin.call('DELETE', `/api/v1/accounts/${made.json.id}`)).status).toBe(204);
      const replaced = await admin.call('POST', '/api/v1/accounts', login('dave', 'net4'));
      expect(replaced.status).toBe(201);
      for (const [api, r] of [
        [admin, elsewhere],
        [admin, carolAdmin],
        [bob, carolBob],
        [admin, replaced],
      ] as const)
        expect((await api.call('DELETE', `/api/v1/accounts/${r.json.id}`)).status).toBe(204);
    });

    it('stores account secrets encrypted at rest', async () => {
      if (mode === 'embedded') {
        const db = readFileSync(env.config.database.sqlitePath);
        const wal = existsSync(env.config.database.sqlitePath + '-wal')
          ? readFileSync(env.config.database.sqlitePath + '-wal')
          : Buffer.alloc(0);
        expect(Buffer.concat([db, wal]).includes('alice-secret-pw')).toBe(false);
        expect(Buffer.concat([db, wal]).includes('alice on net1')).toBe(true); // the file is the right one
      } else {
        const { Client } = await import('pg');
        const c = new Client({ connectionString: pg!.url });
        await c.connect();
        const rows = await c.query('SELECT options, secrets FROM accounts');
        await c.end();
        const dump = JSON.stringify(rows.rows);
        expect(dump).not.toContain('alice-secret-pw');
        expect(dump).toContain('alice');
      }
    });

    it('reports bad credentials as a state, not a crash', async () => {
      const r = await bob.call('POST', '/api/v1/accounts', {
        adapter: 'fake',
        options: { network: 'net1', user: 'bob2', password: 'pw', failLogin: true },
      });
      expect(r.status).toBe(201);
      const state = await eventually(async () => {
        const s = (await bob.call('GET', `/api/v1/accounts/${r.json.id}`)).json.state as string;
        return s !== 'connecting' && s;
      }, 'a final state');
      expect(state).toBe('bad_credentials');
      expect((await bob.call('DELETE', `/api/v1/accounts/${r.json.id}`)).status).toBe(204);
    });

    it("keeps each user's accounts to themselves", async () => {
      const mine = await bob.call('GET', '/api/v1/accounts');
      expect(mine.json.map((a: { id: string }) => a.id)).toEqual([bobAccount]);
      expect((await bob.call('GET', `/api/v1/accounts/${aliceAccount}`)).status).toBe(404);
      expect((await bob.call('DELETE', `/api/v1/accounts/${aliceAccount}`)).status).toBe(404);
      expect((await admin.call('GET', `/api/v1/accounts/${aliceAccount}`)).status).toBe(200);
      const adminList = await admin.call('GET', '/api/v1/accounts');
      expect(adminList.json.map((a: { id: string }) => a.id)).toEqual([aliceAccount]);
      // Bob cannot open a conversation through Alice's account either.
      const conv = await bob.call('POST', '/api/v1/conversations', {
        accountId: aliceAccount,
        address: '#x',
      });
      expect(conv.status).toBe(404);
    });

    it('sends through the outbox (202, idempotent by clientId) and ingests the reply', async () => {
      const conv = await admin.call('POST', '/api/v1/conversations', {
        accountId: aliceAccount,
        address: '#lobby',
      });
      expect(conv.status).toBe(201);
      const bobConv = await bob.call('POST', '/api/v1/conversations', {
        accountId: bobAccount,
        address: '#lobby',
      });
      expect(bobConv.status).toBe(201);

      const send = await admin.call('POST', `/api/v1/conversations/${conv.json.id}/messages`, {
        text: 'hello bob',
        clientId: 'c-1',
      });
      expect(send.status).toBe(202);
      expect(send.json).toMatchObject({ id: expect.any(String), status: expect.any(String) });
      const again = await admin.call('POST', `/api/v1/conversations/${conv.json.id}/messages`, {
        text: 'hello bob',
        clientId: 'c-1',
      });
      expect(again.json.id).toBe(send.json.id);

      // Bob's gateway user sees it arrive from the fake network through ingest, once.
      const seen = await eventually(async () => {
        const r = await bob.call('GET', `/api/v1/conversations/${bobConv.json.id}/messages`);
        return r.json.length > 0 && r.json;
      }, "bob's copy");
      expect(seen.map((m: { text: string }) => m.text)).toEqual(['hello bob']);
      expect(seen[0].sender.self).toBe(false);

      const mine = await eventually(async () => {
        const r = await admin.call('GET', `/api/v1/conversations/${conv.json.id}/messages`);
        return r.json[0]?.status === 'sent' && r.json;
      }, 'status sent');
      expect(mine).toHaveLength(1);

      // Nobody else can read or post into it.
      expect((await bob.call('GET', `/api/v1/conversations/${conv.json.id}/messages`)).status).toBe(404);
      expect(
        (await bob.call('POST', `/api/v1/conversations/${conv.json.id}/messages`, { text: 'x' })).status,
      ).toBe(404);
    });
  });

  describe('search', () => {
    it("finds a user's own messages by their words, and nobody else's", async () => {
      const search = async (api: Api, q: string) =>
        await eventually(async () => {
          const r = await api.call('GET', `/api/v1/messages/search?q=${encodeURIComponent(q)}`);
          return r.status === 200 && r.json;
        }, 'search');
      const bobs = await search(bob, 'HELLO bob');
      expect(bobs.map((m: { text: string }) => m.text)).toEqual(['hello bob']);
      const admins = await search(admin, 'hello');
      expect(admins).toHaveLength(1);
      expect(admins[0].id).not.toBe(bobs[0].id); // each sees only their own copy
      expect(admins[0].conversationId).toEqual(expect.any(String));
      // Query syntax is data, not FTS syntax; a word that occurs nowhere finds nothing.
      expect(await search(bob, 'hello OR "* NEAR(')).toEqual([]);
      expect(await search(bob, 'nowhere')).toEqual([]);
      const bad = await bob.call('GET', '/api/v1/messages/search?q=%21%21%21');
      expect(bad.status).toBe(400);
      expect(bad.json.error.message).toContain('q');
    });
  });

  describe('event stream', () => {
    function connect(
      url: string,
    ): Promise<{ ws: WebSocket; frames: any[]; closed: Promise<{ code: number; reason: string }> }> {
      const ws = new WebSocket(url);
      const frames: any[] = [];
      ws.on('message', (d) => frames.push(JSON.parse(String(d))));
      const closed = new Promise<{ code: number; reason: string }>((resolve) =>
        ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
      );
      return new Promise((resolve, reject) => {
        ws.once('open', () => resolve({ ws, frames, closed }));
        ws.once('error', reject);
      });
    }
    const wsBase = () => env.gw.url.replace('http', 'ws') + '/api/v1/events';

    it('closes an unauthenticated stream with 4401', async () => {
      const { closed } = await connect(wsBase());
      expect((await closed).code).toBe(4401);
    });

    it('pushes live events and replays what a client missed with ?since=', async () => {
      const live = await connect(`${wsBase()}?token=${bob.token}`);
      const r = await bob.call('POST', '/api/v1/accounts', {
        adapter: 'fake',
        label: 'second',
        options: { network: 'net2', user: 'bob', password: 'pw-pw-pw' },
      });
      const first = await eventually(
        async () => live.frames.find((f) => f.type === 'account.state' && f.data.accountId === r.json.id),
        'account.state frame',
      );
      expect(first.at).toMatch(/^\d{4}-\d\d-\d\dT/);
      await eventually(
        async () =>
          live.frames.some(
            (f) =>
              f.type === 'account.state' && f.data.state === 'connected' && f.data.accountId === r.json.id,
          ),
        'connected frame',
      );
      live.ws.close();
      await live.closed;

      // While disconnected: more events happen.
      const since = first.at as string;
      const del = await bob.call('DELETE', `/api/v1/accounts/${r.json.id}`);
      expect(del.status).toBe(204);
      const again = await bob.call('POST', '/api/v1/accounts', {
        adapter: 'fake',
        label: 'third',
        options: { network: 'net3', user: 'bob', password: 'pw-pw-pw' },
      });
      expect(again.status).toBe(201);
      let lastSeen: unknown;
      await eventually(async () => {
        const got = await bob.call('GET', `/api/v1/accounts/${again.json.id}`);
        lastSeen = got.json;
        return got.json.state === 'connected';
      }, 'third connected').catch((e: Error) => {
        throw new Error(`${e.message}; last seen ${JSON.stringify(lastSeen)}`);
      });

      const replay = await connect(`${wsBase()}?token=${bob.token}&since=${encodeURIComponent(since)}`);
      const frames = await eventually(async () => {
        const fs = replay.frames.filter(
          (f) =>
            f.type === 'account.state' && f.data.accountId === again.json.id && f.data.state === 'connected',
        );
        return fs.length > 0 && replay.frames;
      }, 'replayed frames');
      // Everything after `since`, in order, without the frame at `since` itself, without duplicates.
      const seqs = frames.map((f: { seq: number }) => f.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(new Set(seqs).size).toBe(seqs.length);
      expect(frames.every((f: { at: string }) => f.at > since)).toBe(true);
      expect(frames.some((f: { data: { accountId: string } }) => f.data.accountId === r.json.id)).toBe(true);
      // Alice's (admin's) events never reach Bob.
      const adminAccounts = (await admin.call('GET', '/api/v1/accounts')).json.map(
        (a: { id: string }) => a.id,
      );
      expect(
        frames.some((f: { data: { accountId?: string } }) => adminAccounts.includes(f.data.accountId)),
      ).toBe(false);
      replay.ws.close();
    });
  });
});
