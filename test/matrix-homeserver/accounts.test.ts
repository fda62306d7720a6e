import { startMatrixHomeserver, type MatrixHomeserver } from '../support/matrix-homeserver';
import { as, C, call } from './matrix-http';

// Accounts, sessions and the spec's error shapes, over real HTTP.
describe('matrix test homeserver: accounts and errors', () => {
  let hs: MatrixHomeserver;

  beforeAll(async () => {
    hs = await startMatrixHomeserver({ serverName: 'hs.test' });
  });
  afterAll(async () => {
    await hs.stop();
  });

  it('advertises spec versions', async () => {
    const r = await call(hs, 'GET', '/_matrix/client/versions');
    expect(r.status).toBe(200);
    expect(r.body.versions).toEqual(expect.arrayContaining(['v1.1', 'v1.11']));
    expect(r.body.unstable_features).toEqual({});
  });

  it('registers through user-interactive auth and rejects taken or invalid names', async () => {
    const first = await call(hs, 'POST', `${C}/register`, { body: { username: 'reg1', password: 'pw' } });
    expect(first.status).toBe(401);
    expect(first.body.flows).toEqual([{ stages: ['m.login.dummy'] }]);
    expect(typeof first.body.session).toBe('string');

    const done = await call(hs, 'POST', `${C}/register`, {
      body: {
        username: 'reg1',
        password: 'pw',
        device_id: 'DEV1',
        auth: { type: 'm.login.dummy', session: first.body.session },
      },
    });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ user_id: '@reg1:hs.test', device_id: 'DEV1' });
    expect(typeof done.body.access_token).toBe('string');

    const taken = await call(hs, 'POST', `${C}/register`, {
      body: { username: 'reg1', password: 'pw', auth: { type: 'm.login.dummy' } },
    });
    expect(taken.status).toBe(400);
    expect(taken.body.errcode).toBe('M_USER_IN_USE');
    const avail = await call(hs, 'GET', `${C}/register/available?username=reg1`);
    expect(avail.body.errcode).toBe('M_USER_IN_USE');

    const bad = await call(hs, 'POST', `${C}/register`, {
      body: { username: 'Bad Name', password: 'pw', auth: { type: 'm.login.dummy' } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errcode).toBe('M_INVALID_USERNAME');
  });

  it('logs in with a password, keeps a given device id, and answers whoami', async () => {
    await hs.registerUser('alice', 'secret');
    const login = await call(hs, 'POST', `${C}/login`, {
      body: {
        type: 'm.login.password',
        identifier: { type: 'm.id.user', user: 'alice' },
        password: 'secret',
        device_id: 'KEEPME',
      },
    });
    expect(login.status).toBe(200);
    expect(login.body).toMatchObject({ user_id: '@alice:hs.test', device_id: 'KEEPME' });

    const again = await call(hs, 'POST', `${C}/login`, {
      body: { type: 'm.login.password', user: '@alice:hs.test', password: 'secret', device_id: 'KEEPME' },
    });
    expect(again.body.device_id).toBe('KEEPME');
    expect(again.body.access_token).not.toBe(login.body.access_token);

    const fresh = await call(hs, 'POST', `${C}/login`, {
      body: {
        type: 'm.login.password',
        identifier: { type: 'm.id.user', user: 'alice' },
        password: 'secret',
      },
    });
    expect(fresh.body.device_id).not.toBe('KEEPME');

    const who = await call(hs, 'GET', `${C}/account/whoami`, { token: login.body.access_token });
    expect(who.body).toEqual({ user_id: '@alice:hs.test', device_id: 'KEEPME', is_guest: false });

    const wrong = await call(hs, 'POST', `${C}/login`, {
      body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'nope' },
    });
    expect(wrong.status).toBe(403);
    expect(wrong.body.errcode).toBe('M_FORBIDDEN');

    const flows = await call(hs, 'GET', `${C}/login`);
    expect(flows.body.flows).toEqual([{ type: 'm.login.password' }]);
  });

  it('logout invalidates only that token', async () => {
    const a = await hs.registerUser('bob', 'pw');
    const b = await hs.loginUser('bob', 'pw');
    const out = await call(hs, 'POST', `${C}/logout`, { token: a.accessToken, body: {} });
    expect(out.status).toBe(200);
    const gone = await call(hs, 'GET', `${C}/account/whoami`, { token: a.accessToken });
    expect(gone.status).toBe(401);
    expect(gone.body).toMatchObject({ errcode: 'M_UNKNOWN_TOKEN', soft_logout: false });
    const still = await call(hs, 'GET', `${C}/account/whoami`, { token: b.accessToken });
    expect(still.body.user_id).toBe('@bob:hs.test');
  });

  it('returns the spec error codes for missing tokens, bad bodies and unknown endpoints', async () => {
    const u = as(hs, await hs.registerUser('carol', 'pw'));
    const missing = await call(hs, 'GET', `${C}/account/whoami`);
    expect(missing.status).toBe(401);
    expect(missing.body.errcode).toBe('M_MISSING_TOKEN');

    const q = await call(hs, 'GET', `${C}/account/whoami?access_token=${u.accessToken}`);
    expect(q.body.user_id).toBe('@carol:hs.test');

    const notJson = await call(hs, 'POST', `${C}/createRoom`, { token: u.accessToken, raw: '{nope' });
    expect(notJson.status).toBe(400);
    expect(notJson.body.errcode).toBe('M_NOT_JSON');
    const badJson = await call(hs, 'POST', `${C}/createRoom`, { token: u.accessToken, raw: '[1,2]' });
    expect(badJson.status).toBe(400);
    expect(badJson.body.errcode).toBe('M_BAD_JSON');
    const badField = await u.post(`${C}/createRoom`, { invite: 'not-a-list' });
    expect(badField.body.errcode).toBe('M_BAD_JSON');

    const unknown = await call(hs, 'GET', `${C}/no/such/thing`, { token: u.accessToken });
    expect(unknown.status).toBe(404);
    expect(unknown.body.errcode).toBe('M_UNRECOGNIZED');
    const wrongMethod = await call(hs, 'DELETE', `${C}/account/whoami`, { token: u.accessToken });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.body.errcode).toBe('M_UNRECOGNIZED');

    const badSince = await u.get(`${C}/sync?since=garbage`);
    expect(badSince.status).toBe(400);
    expect(badSince.body.errcode).toBe('M_INVALID_PARAM');
    const badVersion = await u.post(`${C}/createRoom`, { room_version: '999' });
    expect(badVersion.body.errcode).toBe('M_UNSUPPORTED_ROOM_VERSION');
  });

  it('rate limits when asked to, with retry_after_ms', async () => {
    const u = as(hs, await hs.registerUser('dave', 'pw'));
    const roomId = await u.createRoom();
    hs.setRateLimit({ perSecond: 0.5, burst: 2 });
    try {
      const codes: number[] = [];
      let limited: any;
      for (let i = 0; i < 4; i++) {
        const r = await u.put(`${C}/rooms/${encodeURIComponent(roomId)}/send/m.room.message/rl${i}`, {
          msgtype: 'm.text',
          body: `${i}`,
        });
        codes.push(r.status);
        if (r.status === 429) limited = r;
      }
      expect(codes.slice(0, 2)).toEqual([200, 200]);
      expect(codes).toContain(429);
      expect(limited.body.errcode).toBe('M_LIMIT_EXCEEDED');
      expect(limited.body.retry_after_ms).toBeGreaterThan(0);
      expect(limited.headers.get('retry-after')).not.toBeNull();
    } finally {
      hs.setRateLimit(undefined);
    }
  });

  it('injects failures without processing the request', async () => {
    const u = as(hs, await hs.registerUser('erin', 'pw'));
    hs.faults.failNext('createRoom', { status: 502, errcode: 'M_UNKNOWN', error: 'upstream down' });
    const r = await u.post(`${C}/createRoom`, {});
    expect(r.status).toBe(502);
    expect(r.body).toEqual({ errcode: 'M_UNKNOWN', error: 'upstream down' });
    const joined = await u.get(`${C}/joined_rooms`);
    expect(joined.body.joined_rooms).toEqual([]);
  });
});
