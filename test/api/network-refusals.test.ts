import path from 'node:path';
import { addAccount } from '../support/bridge-env';
import { ADMIN_PASSWORD, Api, startTestGateway } from '../support/gateway';
import { startMatrixHomeserver, type MatrixHomeserver } from '../support/matrix-homeserver';
import { as } from '../matrix-homeserver/matrix-http';

const MATRIX_ADAPTER_PATH = path.resolve(__dirname, '../../adapters/matrix');

/**
 * A request the network itself turns down (a room that does not exist, one we may not join) is the
 * user's answer, not a gateway fault: a 422 naming the network's reason, never a 500.
 */
describe('API: what a network refuses is a 422 with its reason', () => {
  let hs: MatrixHomeserver;
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let api: Api;
  let accountId: string;
  let privateRoom: string;

  beforeAll(async () => {
    hs = await startMatrixHomeserver();
    await hs.registerUser('gw', 'gw-password');
    const owner = as(hs, await hs.registerUser('owner', 'owner-password'));
    privateRoom = await owner.createRoom({ preset: 'private_chat', name: 'invite only' });
    env = await startTestGateway({ adapters: [{ id: 'matrix', path: MATRIX_ADAPTER_PATH }] });
    api = await new Api(env.gw.url).login('admin', ADMIN_PASSWORD);
    accountId = await addAccount(api, 'matrix', {
      homeserverUrl: hs.url,
      userId: 'gw',
      password: 'gw-password',
      syncTimeoutMs: 1000,
    });
  });

  afterAll(async () => {
    await env?.stop();
    await hs?.stop();
  });

  it('joining a room alias that does not exist', async () => {
    const r = await api.call('POST', '/api/v1/conversations', {
      accountId,
      address: `#no-such-room:${hs.serverName}`,
    });
    expect(r.status).toBe(422);
    expect(r.json.error.code).toBe('NETWORK_REFUSED');
    expect(r.json.error.message).toMatch(/M_NOT_FOUND/);
    expect(r.json.error.details).toEqual({ reason: 'M_NOT_FOUND' });
  });

  it('joining an invite-only room without an invitation', async () => {
    const r = await api.call('POST', '/api/v1/conversations', { accountId, address: privateRoom });
    expect(r.status).toBe(422);
    expect(r.json.error).toMatchObject({ code: 'NETWORK_REFUSED', details: { reason: 'M_FORBIDDEN' } });
    // Nothing was half made.
    const convs = (await api.call('GET', '/api/v1/conversations')).json as { title?: string }[];
    expect(convs.some((c) => c.title === 'invite only')).toBe(false);
  });
});
