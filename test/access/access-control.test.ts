import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { fakeHub } from '../fixtures/fake-adapter';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../support/gateway';
import { freePort } from '../support/ports';

/**
 * Who may touch what, through a real gateway (embedded mode, the fake adapter):
 * - every /api/v1 route of the OpenAPI document refuses a request without a valid token (401), so a route
 *   added later is covered without editing this file;
 * - user A, trying every route with user B's ids (in the path and in the body), gets exactly the answer a
 *   random id gets (404 for a valid request), so B's data can be neither read, changed nor even probed;
 *   and B's data is unchanged afterwards;
 * - account secrets never reach the database file or the logs in clear;
 * - failed logins are rate limited per username and client address.
 */

type Op = { method: string; path: string };

const PASSWORD_A = 'alice-login-pw-1';
const PASSWORD_B = 'bob-login-pw-1';
// Account passwords: long and unique, so a byte search cannot hit them by chance.
const SECRET_A = 'alice-network-secret-7f3c9a';
const SECRET_B = 'bob-network-secret-e41d0b';

describe('access control', () => {
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let anon: Api;
  let alice: Api;
  let bob: Api;
  let ops: Op[];
  /** B's ids, by what they name (`bridge` only when the gateway has bridges). */
  const b = { account: '', contact: '', endpoint: '', conversation: '', message: '', bridge: '' };
  /** A's own ids, for routes that take one of A's ids in the path and one of B's in the body. */
  const a = { account: '', contact: '', conversation: '', message: '' };

  async function account(api: Api, network: string, user: string, password: string): Promise<string> {
    const r = await api.call('POST', '/api/v1/accounts', {
      adapter: 'fake',
      label: `${user} on ${network}`,
      options: { network, user, password },
    });
    expect(r.status).toBe(201);
    await eventually(
      async () => (await api.call('GET', `/api/v1/accounts/${r.json.id}`)).json.state === 'connected',
      `${user} connected`,
    );
    return r.json.id as string;
  }

  /** A contact (with its endpoint) seen by `api`'s accounts, opened as a direct conversation with one message. */
  async function fixture(api: Api, accountId: string, peer: string) {
    const contact = await eventually(async () => {
      const list = (await api.call('GET', '/api/v1/contacts')).json as {
        id: string;
        displayName: string;
        endpoints: { id: string }[];
      }[];
      return list.find((c) => c.displayName === peer);
    }, `contact ${peer}`);
    const conv = await api.call('POST', '/api/v1/conversations', { accountId, address: '#room' });
    expect(conv.status).toBe(201);
    const msg = await api.call('POST', `/api/v1/conversations/${conv.json.id}/messages`, {
      text: 'private words',
    });
    expect(msg.status).toBe(202);
    return {
      contact: contact.id,
      endpoint: contact.endpoints[0]!.id,
      conversation: conv.json.id as string,
      message: msg.json.id as string,
    };
  }

  beforeAll(async () => {
    fakeHub.reset();
    env = await startTestGateway({ log: { level: 'debug', format: 'json' } });
    anon = new Api(env.gw.url);
    const admin = await anon.login('admin', ADMIN_PASSWORD);
    for (const [username, password] of [
      ['alice', PASSWORD_A],
      ['bob', PASSWORD_B],
    ])
      expect((await admin.call('POST', '/api/v1/users', { username, password })).status).toBe(201);
    const doc = await anon.call('GET', '/api/docs-json');
    expect(doc.status).toBe(200);
    ops = [];
    for (const [p, item] of Object.entries(doc.json.paths as Record<string, Record<string, unknown>>)) {
      if (!p.startsWith('/api/v1/')) continue;
      for (const method of Object.keys(item))
        if (['get', 'post', 'put', 'patch', 'delete'].includes(method))
          ops.push({ method: method.toUpperCase(), path: p });
    }
    alice = await anon.login('alice', PASSWORD_A);
    bob = await anon.login('bob', PASSWORD_B);
    // Each user has two accounts on a network of their own, so each sees the other account as a contact.
    a.account = await account(alice, 'net-a', 'alice', SECRET_A);
    await account(alice, 'net-a', 'alice2', SECRET_A);
    b.account = await account(bob, 'net-b', 'bob', SECRET_B);
    await account(bob, 'net-b', 'bob2', SECRET_B);
    Object.assign(a, await fixture(alice, a.account, 'alice2'));
    Object.assign(b, await fixture(bob, b.account, 'bob2'));
    if (ops.some((o) => o.method === 'POST' && o.path === '/api/v1/bridges')) {
      const second = await bob.call('POST', '/api/v1/conversations', {
        accountId: b.account,
        address: '#two',
      });
      expect(second.status).toBe(201);
      const bridge = await bob.call('POST', '/api/v1/bridges', {
        conversations: [b.conversation, second.json.id as string],
      });
      expect(bridge.status).toBe(201);
      b.bridge = bridge.json.id as string;
    }
  });

  afterAll(async () => {
    await env?.stop();
    fakeHub.reset();
  });

  const fill = (p: string, ids: Record<string, string>) =>
    p.replace(/\{(\w+)\}/g, (_, name: string) => ids[name] ?? randomUUID());

  describe('without a valid token', () => {
    it('finds the routes in the OpenAPI document', () => {
      // A sanity floor: the enumeration itself works, so the loops below are not vacuous.
      expect(ops.length).toBeGreaterThanOrEqual(15);
      expect(ops).toEqual(
        expect.arrayContaining([
          { method: 'GET', path: '/api/v1/accounts' },
          { method: 'PATCH', path: '/api/v1/conversations/{id}/messages/{mid}' },
          { method: 'POST', path: '/api/v1/contacts/{id}/merge' },
        ]),
      );
    });

    it('answers 401 JSON on every /api/v1 route but login, with no token, a bogus one, or a logged-out one', async () => {
      const loggedOut = await anon.login('bob', PASSWORD_B);
      expect((await loggedOut.call('POST', '/api/v1/auth/logout')).status).toBe(204);
      const callers: [string, Api][] = [
        ['no token', anon],
        ['a bogus token', new Api(env.gw.url, 'sb_' + 'x'.repeat(40))],
        ['a logged-out token', loggedOut],
      ];
      const wrong: string[] = [];
      for (const op of ops) {
        if (op.path === '/api/v1/auth/login') continue;
        for (const [who, api] of callers) {
          const r = await api.call(
            op.method,
            fill(op.path, {}),
            ['GET', 'DELETE'].includes(op.method) ? undefined : {},
          );
          if (r.status !== 401 || r.json?.error?.code !== 'UNAUTHORIZED')
            wrong.push(`${op.method} ${op.path} with ${who}: ${r.status} ${r.text.slice(0, 200)}`);
        }
      }
      expect(wrong).toEqual([]);
      // A malformed Authorization header is the same as none.
      for (const header of ['Bearer', 'Basic YWRtaW46eA==', `Bearer ${'a'.repeat(5000)}`]) {
        const r = await anon.call('GET', '/api/v1/accounts', undefined, { authorization: header });
        expect(r.status).toBe(401);
      }
    });

    it('closes the WebSocket event stream with 4401 without a valid token, and never sends an event', async () => {
      const ws = env.gw.url.replace('http', 'ws') + '/api/v1/events';
      for (const url of [ws, `${ws}?token=sb_bogus`, `${ws}?token=`]) {
        const socket = new WebSocket(url);
        const frames: unknown[] = [];
        socket.on('message', (d) => frames.push(String(d)));
        const code = await new Promise<number>((resolve, reject) => {
          socket.on('close', (c) => resolve(c));
          socket.on('error', reject);
        });
        expect({ url, code }).toEqual({ url, code: 4401 });
        expect(frames).toEqual([]);
      }
    });
  });

  describe("user A against user B's data", () => {
    /**
     * A valid request body for each route that takes one, with B's ids wherever an id goes. Routes missing
     * here still get the generic check (same answer as for random ids), just with an empty body.
     */
    const bodies = (ids: typeof b): Record<string, unknown> => ({
      'POST /api/v1/accounts/{id}/contacts': { address: 'someone' },
      // B's contact in the path, A's own in the body (merging a contact with itself is a 400 of its own).
      'POST /api/v1/contacts/{id}/merge': { otherId: a.contact },
      'POST /api/v1/contacts/{id}/not-same': { otherId: a.contact },
      'POST /api/v1/contacts/{id}/split': { endpointId: ids.endpoint },
      'POST /api/v1/conversations/{id}/messages': { text: 'sent as someone else' },
      'PATCH /api/v1/conversations/{id}/messages/{mid}': { text: 'edited by someone else' },
      'POST /api/v1/conversations/{id}/read': undefined,
      'POST /api/v1/bridges': { conversations: [a.conversation, ids.conversation] },
      'POST /api/v1/calls': { contactId: ids.contact, media: 'audio' },
    });
    /** Path parameters: `id` names what the path's first segment after /api/v1 names. */
    const pathIds = (p: string, ids: typeof b): Record<string, string> => {
      const kind = /^\/api\/v1\/(\w+)/.exec(p)?.[1] ?? '';
      const byKind: Record<string, string> = {
        accounts: ids.account,
        contacts: ids.contact,
        conversations: ids.conversation,
        messages: ids.message,
        bridges: ids.bridge || randomUUID(),
      };
      return { id: byKind[kind] ?? randomUUID(), mid: ids.message };
    };
    const randomIds = (): typeof b => ({
      account: randomUUID(),
      contact: randomUUID(),
      endpoint: randomUUID(),
      conversation: randomUUID(),
      message: randomUUID(),
      bridge: randomUUID(),
    });

    it("answers every route with B's ids exactly as with ids that do not exist (404 for a valid request)", async () => {
      const leaks: string[] = [];
      let tried = 0;
      for (const op of ops) {
        const key = `${op.method} ${op.path}`;
        if (!/\{\w+\}/.test(op.path) && !['POST /api/v1/bridges', 'POST /api/v1/calls'].includes(key))
          continue;
        const body = (ids: typeof b) => {
          const table = bodies(ids);
          if (key in table) return table[key];
          return ['GET', 'DELETE'].includes(op.method) ? undefined : {};
        };
        const nobody = randomIds();
        const probe = await alice.call(op.method, fill(op.path, pathIds(op.path, nobody)), body(nobody));
        const real = await alice.call(op.method, fill(op.path, pathIds(op.path, b)), body(b));
        tried++;
        const shape = (r: typeof real) => `${r.status} ${String(r.json?.error?.code)}`;
        if (shape(real) !== shape(probe))
          leaks.push(`${key}: B's ids → ${shape(real)}, random ids → ${shape(probe)}`);
        else if (key in bodies(b) && real.status !== 404)
          leaks.push(
            `${key}: expected 404 for a valid request, got ${real.status} ${real.text.slice(0, 200)}`,
          );
        if (real.status >= 500) leaks.push(`${key}: ${real.status}`);
      }
      expect(leaks).toEqual([]);
      expect(tried).toBeGreaterThanOrEqual(9);
    });

    it("cannot use B's ids inside its own requests (open, reply, merge, split)", async () => {
      // Open a conversation through B's account, or with B's contact's endpoint.
      for (const body of [{ accountId: b.account, address: '#room' }, { endpointId: b.endpoint }]) {
        const r = await alice.call('POST', '/api/v1/conversations', body);
        expect({ body, status: r.status }).toEqual({ body, status: 404 });
        expect(r.json.error.code).toBe('NOT_FOUND');
      }
      // Reply, in A's conversation, to B's message: the same answer as a message that does not exist.
      const reply = (replyTo: string) =>
        alice.call('POST', `/api/v1/conversations/${a.conversation}/messages`, { text: 'x', replyTo });
      const [toB, toNobody] = [await reply(b.message), await reply(randomUUID())];
      expect(toB.status).toBe(toNobody.status);
      expect(toB.json.error.message).toBe(toNobody.json.error.message);
      // Call B's contact or B's endpoint (through B's account): not found, as for ids that do not exist.
      if (ops.some((o) => o.method === 'POST' && o.path === '/api/v1/calls'))
        for (const body of [
          { contactId: b.contact, media: 'audio' },
          { endpointId: b.endpoint, media: 'audio' },
        ]) {
          const r = await alice.call('POST', '/api/v1/calls', body);
          expect({ body, status: r.status }).toEqual({ body, status: 404 });
        }
      // Bridge A's conversation with B's.
      if (ops.some((o) => o.method === 'POST' && o.path === '/api/v1/bridges')) {
        const r = await alice.call('POST', '/api/v1/bridges', {
          conversations: [a.conversation, b.conversation],
        });
        expect(r.status).toBe(404);
        expect((await bob.call('GET', `/api/v1/bridges/${b.bridge}`)).status).toBe(200);
      }
      // Merge A's contact with B's, split B's endpoint off A's contact.
      const merge = await alice.call('POST', `/api/v1/contacts/${a.contact}/merge`, { otherId: b.contact });
      expect(merge.status).toBe(404);
      const split = (endpointId: string) =>
        alice.call('POST', `/api/v1/contacts/${a.contact}/split`, { endpointId });
      const [splitB, splitNobody] = [await split(b.endpoint), await split(randomUUID())];
      expect(splitB.status).toBe(splitNobody.status);
      expect(splitB.json.error.message).toBe(splitNobody.json.error.message);
    });

    it("never lists B's data, and B's data is unchanged by A's attempts", async () => {
      const dumps = await Promise.all(
        [
          '/api/v1/accounts',
          '/api/v1/contacts',
          '/api/v1/contacts/suggestions',
          '/api/v1/conversations',
          '/api/v1/bridges',
          '/api/v1/calls',
        ].map(async (p) => (await alice.call('GET', p)).text),
      );
      const found = await alice.call('GET', '/api/v1/messages/search?q=private');
      expect(found.status).toBe(200);
      for (const text of [...dumps, found.text])
        for (const id of Object.values(b)) if (id) expect(text).not.toContain(id);
      expect((found.json as { id: string }[]).map((m) => m.id)).toEqual([a.message]);

      expect((await bob.call('GET', `/api/v1/accounts/${b.account}`)).status).toBe(200);
      const contact = await bob.call('GET', `/api/v1/contacts/${b.contact}`);
      expect(contact.status).toBe(200);
      expect(contact.json.endpoints.map((e: { id: string }) => e.id)).toContain(b.endpoint);
      const msgs = (await bob.call('GET', `/api/v1/conversations/${b.conversation}/messages`)).json as {
        id: string;
        text: string;
        deleted?: boolean;
      }[];
      expect(msgs.map((m) => [m.id, m.text, m.deleted ?? false])).toEqual([
        [b.message, 'private words', false],
      ]);
    });
  });

  describe('secrets at rest', () => {
    it('keeps account passwords out of the database files and the logs', async () => {
      const dataDir = path.dirname(env.config.database.sqlitePath);
      const files = readdirSync(dataDir).map((f) => path.join(dataDir, f));
      const db = env.config.database.sqlitePath;
      expect(files).toContain(db);
      // The embedded queue's file too: jobs must not carry secrets either.
      expect(files).toContain(env.config.queue.embeddedPath);
      const bytes = Buffer.concat(files.filter((f) => existsSync(f)).map((f) => readFileSync(f)));
      // The search looks at the right bytes: the account labels are stored in clear.
      expect(bytes.includes('alice on net-a')).toBe(true);
      for (const secret of [SECRET_A, SECRET_B, PASSWORD_A, PASSWORD_B]) {
        expect(bytes.includes(secret)).toBe(false);
        // Nor in UTF-16 or base64, the two other ways a string lands in a file.
        expect(bytes.includes(Buffer.from(secret, 'utf16le'))).toBe(false);
        expect(bytes.includes(Buffer.from(secret).toString('base64').slice(0, 24))).toBe(false);
      }
      const logs = env.logs().join('\n');
      expect(logs.length).toBeGreaterThan(0);
      for (const secret of [SECRET_A, SECRET_B, PASSWORD_A, PASSWORD_B]) expect(logs).not.toContain(secret);
    });

    it('never returns a secret through the API', async () => {
      for (const p of ['/api/v1/accounts', `/api/v1/accounts/${a.account}`]) {
        const r = await alice.call('GET', p);
        expect(r.status).toBe(200);
        expect(r.text).not.toContain(SECRET_A);
      }
    });
  });

  describe('login rate limit', () => {
    it('answers 429 after repeated failures for a username, even to the right password, and only for it', async () => {
      let limited: Awaited<ReturnType<Api['call']>> | undefined;
      let failures = 0;
      for (let i = 0; i < 50; i++) {
        limited = await anon.call('POST', '/api/v1/auth/login', {
          username: 'alice',
          password: `guess-${i}`,
        });
        if (limited.status !== 401) break;
        failures++;
      }
      expect(limited?.status).toBe(429);
      expect(limited?.json.error.code).toBe('RATE_LIMITED');
      expect(failures).toBe(env.config.security.loginRateLimit.maxAttempts);
      // The right password does not get through the limit (else guessing would just continue).
      const right = await anon.call('POST', '/api/v1/auth/login', {
        username: 'alice',
        password: PASSWORD_A,
      });
      expect(right.status).toBe(429);
      // Another user from the same address is not locked out by alice's attacker.
      expect(
        (await anon.call('POST', '/api/v1/auth/login', { username: 'bob', password: PASSWORD_B })).status,
      ).toBe(200);
      // Tokens issued before keep working.
      expect((await alice.call('GET', '/api/v1/me')).status).toBe(200);
      // A forged X-Forwarded-For does not buy fresh attempts (no proxy is trusted by default).
      const forged = await anon.call(
        'POST',
        '/api/v1/auth/login',
        { username: 'alice', password: PASSWORD_A },
        { 'x-forwarded-for': '203.0.113.9' },
      );
      expect(forged.status).toBe(429);
    });

    it('behind a trusted reverse proxy, limits the attacking client, not everyone behind the proxy', async () => {
      const proxied = await startTestGateway({
        server: { host: '127.0.0.1', port: await freePort(), trustProxy: 'loopback' },
        security: { loginRateLimit: { maxAttempts: 3, windowSeconds: 60 } },
      });
      try {
        const api = new Api(proxied.gw.url);
        const from = (ip: string) => ({ 'x-forwarded-for': ip });
        let last = 0;
        for (let i = 0; i < 4; i++)
          last = (
            await api.call(
              'POST',
              '/api/v1/auth/login',
              { username: 'admin', password: 'wrong' },
              from('203.0.113.66'),
            )
          ).status;
        expect(last).toBe(429);
        // The admin, behind the same proxy from another address, still gets in.
        const ok = await api.call(
          'POST',
          '/api/v1/auth/login',
          { username: 'admin', password: ADMIN_PASSWORD },
          from('198.51.100.7'),
        );
        expect(ok.status).toBe(200);
      } finally {
        await proxied.stop();
      }
    });
  });
});
