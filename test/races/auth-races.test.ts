import { ADMIN_PASSWORD, Api, startTestGateway } from '../support/gateway';
import { AuthService } from '../../src/api/auth/auth.service';

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
});
