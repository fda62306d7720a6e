import path from 'node:path';
import { addAccount } from '../support/bridge-env';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../support/gateway';
import { startProsody, type ProsodyServer } from '../support/prosody';
import { accountOptions } from '../xmpp/xmpp-harness';

const root = path.resolve(__dirname, '../..');

interface Contact {
  displayName: string;
  presence: { state: string; status?: string; since?: string };
}

/**
 * The presence a user sets for themselves is kept by the gateway and applied to each account as it comes
 * up: after the server drops every connection and the accounts log in again, their contacts still see
 * them busy with their status message — not "available", the default of a fresh login.
 */
describe('own presence survives reconnects (real prosody)', () => {
  let xmpp: ProsodyServer;
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let me: Api;
  let erin: Api;
  let myAccount: string;
  let erinAccount: string;

  beforeAll(async () => {
    xmpp = await startProsody();
    await Promise.all([xmpp.registerUser('me', 'me-pw'), xmpp.registerUser('erin', 'erin-pw')]);
    env = await startTestGateway({ adapters: [{ id: 'xmpp', path: path.join(root, 'adapters/xmpp') }] });
    const anon = new Api(env.gw.url);
    me = await anon.login('admin', ADMIN_PASSWORD);
    expect(
      (await me.call('POST', '/api/v1/users', { username: 'erin', password: 'erin-gateway-pw' })).status,
    ).toBe(201);
    erin = await anon.login('erin', 'erin-gateway-pw');
    myAccount = await addAccount(me, 'xmpp', accountOptions(xmpp, 'me', 'me-pw'));
    erinAccount = await addAccount(erin, 'xmpp', accountOptions(xmpp, 'erin', 'erin-pw'));
    // A mutual subscription: each adds the other (adding back is how a request is accepted).
    for (const [api, account, peer] of [
      [me, myAccount, 'erin'],
      [erin, erinAccount, 'me'],
    ] as const)
      expect(
        (
          await api.call('POST', `/api/v1/accounts/${account}/contacts`, {
            address: `${peer}@${xmpp.domain}`,
          })
        ).status,
      ).toBeLessThan(300);
  }, 60_000);
  afterAll(async () => {
    await env?.stop();
    await xmpp?.stop();
  });

  const erinSeenByMe = async () =>
    ((await me.call('GET', '/api/v1/contacts')).json as Contact[]).find((c) =>
      c.displayName.startsWith('erin'),
    );

  it('answers GET /presence with the default before anything was set', async () => {
    expect((await erin.call('GET', '/api/v1/presence')).json).toEqual({ state: 'available' });
  });

  it('keeps the presence set, and applies it again when the accounts reconnect', async () => {
    const set = await erin.call('PUT', '/api/v1/presence', { state: 'busy', status: 'in a meeting' });
    expect(set.status).toBe(200);
    const own = (await erin.call('GET', '/api/v1/presence')).json as Contact['presence'];
    expect(own).toMatchObject({ state: 'busy', status: 'in a meeting' });
    expect(Date.parse(own.since!)).toBeGreaterThan(0);
    await eventually(
      async () => (await erinSeenByMe())?.presence.state === 'busy',
      'me sees erin busy',
      20_000,
    );

    // The server goes away and comes back: every connection drops and both accounts log in afresh.
    await xmpp.restart({ downMs: 500 });
    for (const [api, id] of [
      [me, myAccount],
      [erin, erinAccount],
    ] as const)
      await eventually(
        async () => (await api.call('GET', `/api/v1/accounts/${id}`)).json.state === 'connected',
        'reconnected',
        30_000,
      );
    // A fresh login announces "available" until told otherwise; erin's contacts must end up seeing her
    // chosen presence again. Nothing else sets it: without the gateway re-applying it, "available" stays.
    await new Promise((r) => setTimeout(r, 3000));
    expect((await erinSeenByMe())!.presence).toMatchObject({ state: 'busy', status: 'in a meeting' });
  });
});
