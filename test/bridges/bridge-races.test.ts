import { DataSource } from 'typeorm';
import { BridgesService } from '../../src/bridges/bridges.service';
import type { AuthUser } from '../../src/api/auth/auth.service';
import { ClientEvent } from '../../src/storage/entities';
import { DATA_SOURCE } from '../../src/tokens';
import { fakeHub } from '../fixtures/fake-adapter';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../support/gateway';

/**
 * Two operations on the same bridge started in the same tick, at the service level on a real gateway
 * (the fake adapter): each must behave as if it ran alone, or fail as it would have after the other.
 */
describe('bridges: concurrent operations', () => {
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let api: Api;
  let svc: BridgesService;
  let ds: DataSource;
  let user: AuthUser;
  const convs: string[] = [];

  beforeAll(async () => {
    fakeHub.reset();
    env = await startTestGateway();
    api = await new Api(env.gw.url).login('admin', ADMIN_PASSWORD);
    svc = env.gw.app.get(BridgesService);
    ds = env.gw.app.get<DataSource>(DATA_SOURCE);
    const me = await api.call('GET', '/api/v1/me');
    user = { id: me.json.id as string, username: 'admin', isAdmin: true };
    const acc = await api.call('POST', '/api/v1/accounts', {
      adapter: 'fake',
      label: 'racer',
      options: { network: 'race', user: 'racer', password: 'pw' },
    });
    expect(acc.status).toBe(201);
    await eventually(
      async () => (await api.call('GET', `/api/v1/accounts/${acc.json.id}`)).json.state === 'connected',
      'account connected',
    );
    for (const room of ['#a', '#b']) {
      const c = await api.call('POST', '/api/v1/conversations', { accountId: acc.json.id, address: room });
      expect(c.status).toBe(201);
      convs.push(c.json.id as string);
    }
  }, 60_000);

  afterAll(async () => {
    await env?.stop();
    fakeHub.reset();
  });

  it('removing a bridge twice at once: one removal succeeds, the other is a 404, and one event says so', async () => {
    const bridge = await svc.create(user, { conversations: convs });
    const results = await Promise.allSettled([svc.remove(user, bridge.id), svc.remove(user, bridge.id)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected).toHaveLength(1);
    expect((rejected[0]!.reason as { getStatus(): number }).getStatus()).toBe(404);
    const removedEvents = (
      await ds.getRepository(ClientEvent).find({ where: { userId: user.id, type: 'bridge.updated' } })
    ).filter(
      (e) =>
        (e.data as { id?: string; removed?: boolean }).id === bridge.id &&
        (e.data as { removed?: boolean }).removed,
    );
    expect(removedEvents).toHaveLength(1);
  });
});
