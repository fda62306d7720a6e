import { ADMIN_PASSWORD, Api, startTestGateway } from '../support/gateway';
import { AuthService } from '../../src/api/auth/auth.service';
import type { ApiError } from '../../src/api/api-error';
import { ApiToken, User } from '../../src/storage/entities';
import { DATA_SOURCE } from '../../src/tokens';
import type { DataSource } from 'typeorm';

/** Token revocation racing a request that uses the token: both started in the same tick on the service. */
describe('auth races', () => {
  let env: Awaited<ReturnType<typeof startTestGateway>>;

  beforeAll(async () => {
    env = await startTestGateway();
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('a request authenticating while its token is logged out: the token is refused afterwards', async () => {
    const auth = env.gw.app.get(AuthService);
    const { token } = await auth.login('admin', ADMIN_PASSWORD, '127.0.0.1');
    await Promise.allSettled([auth.authenticate(token), auth.logout(token)]);
    expect(await auth.authenticate(token)).toBeUndefined();
    expect((await new Api(env.gw.url, token).call('GET', '/api/v1/me')).status).toBe(401);
  });

  it('one user name created twice at once: one user, the other request a 409', async () => {
    // Both pass the "exists?" check while the password hashes; the unique index decides.
    const admin = await new Api(env.gw.url).login('admin', ADMIN_PASSWORD);
    const body = { username: 'twice', password: 'twice-password' };
    const both = await Promise.all([
      admin.call('POST', '/api/v1/users', body),
      admin.call('POST', '/api/v1/users', body),
    ]);
    expect(both.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(both.find((r) => r.status === 409)!.json.error.message).toBe('user "twice" already exists');
    const users = env.gw.app.get<DataSource>(DATA_SOURCE).getRepository(User);
    expect(await users.countBy({ username: 'twice' })).toBe(1);
  });

  it('two instances creating the first admin at once (a cluster booting): one admin, and neither fails', async () => {
    // A gateway whose database has no user yet, as a new cluster's instances find it when they all start.
    const fresh = await startTestGateway();
    try {
      const ds = fresh.gw.app.get<DataSource>(DATA_SOURCE);
      await ds.getRepository(ApiToken).deleteAll();
      await ds.getRepository(User).deleteAll();
      const auth = fresh.gw.app.get(AuthService);
      const both = await Promise.allSettled([auth.ensureFirstAdmin(), auth.ensureFirstAdmin()]);
      expect(both.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
      expect(await ds.getRepository(User).countBy({ username: 'admin', isAdmin: true })).toBe(1);
    } finally {
      await fresh.stop();
    }
  });

  it('wrong passwords tried all at once are limited like one after the other', async () => {
    // The limit (10 by default) must hold for attempts that are all still hashing when the next one comes.
    const auth = env.gw.app.get(AuthService);
    const max = env.config.security.loginRateLimit.maxAttempts;
    const tries = await Promise.allSettled(
      Array.from({ length: max + 5 }, () => auth.login('admin', 'not-the-password', '192.0.2.7')),
    );
    const statuses = tries.map((r) => (r.status === 'rejected' ? (r.reason as ApiError).getStatus() : 200));
    expect(statuses.filter((x) => x === 401)).toHaveLength(max);
    expect(statuses.filter((x) => x === 429)).toHaveLength(5);
  });
});
