import { ClientEventsService } from '../../src/events/client-events.service';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../support/gateway';
import { type BaresipPhone, startBaresip } from '../support/baresip';
import { type KamailioServer, startKamailio } from '../support/kamailio';
import { sipOptions } from '../sip/sip-harness';

/**
 * The calls API's contract beyond SIP itself: bad input is a 400 naming the field, and one user can
 * never see, place, answer or end calls through another user's accounts and contacts.
 */
describe('calls API: validation and per-user isolation', () => {
  let kamailio: KamailioServer;
  let phone: BaresipPhone;
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let alice: Api;
  let mallory: Api;
  let contactId: string;
  let endpointId: string;
  let callId: string;

  beforeAll(async () => {
    kamailio = await startKamailio({ gw: 'gw-secret', bob: 'bob-secret' });
    phone = await startBaresip({
      aor: kamailio.uri('bob'),
      password: 'bob-secret',
      proxy: `${kamailio.host}:${kamailio.port}`,
      answermode: 'manual',
      toneHz: 440,
    });
    env = await startTestGateway({ adapters: [{ id: 'sip' }], calls: { mediaAddress: '127.0.0.2' } });
    const anon = new Api(env.gw.url);
    const admin = await anon.login('admin', ADMIN_PASSWORD);
    for (const u of ['alice', 'mallory'])
      expect(
        (await admin.call('POST', '/api/v1/users', { username: u, password: `${u}-password-1` })).status,
      ).toBe(201);
    alice = await anon.login('alice', 'alice-password-1');
    mallory = await anon.login('mallory', 'mallory-password-1');
    const acc = await alice.call('POST', '/api/v1/accounts', {
      adapter: 'sip',
      options: sipOptions(kamailio, 'gw', 'gw-secret'),
    });
    await eventually(
      async () => (await alice.call('GET', `/api/v1/accounts/${acc.json.id}`)).json.state === 'connected',
      'registered',
    );
    await alice.call('POST', `/api/v1/accounts/${acc.json.id}/contacts`, { address: kamailio.uri('bob') });
    const c = await eventually(async () => {
      const r = await alice.call('GET', '/api/v1/contacts');
      return (
        r.json as { id: string; endpoints: { id: string; capabilities: { registered?: boolean } }[] }[]
      ).find((x) => x.endpoints[0]?.capabilities.registered === true);
    }, 'bob probed');
    contactId = c.id;
    endpointId = c.endpoints[0]!.id;
    const placed = await alice.call('POST', '/api/v1/calls', { contactId, media: 'audio' });
    expect(placed.status).toBe(201);
    callId = placed.json.id as string;
    await phone.waitForEvent('CALL_INCOMING');
  });

  afterAll(async () => {
    await env?.stop();
    await phone?.stop();
    await kamailio?.stop();
  });

  it.each([
    [{ media: 'audio' }, 'contactId'],
    [{ contactId: 'x', media: 'audio' }, 'contactId'],
    [{ endpointId: '00000000-0000-4000-8000-000000000000', media: 'smell' }, 'media'],
    [{ media: 'audio', contactId: '00000000-0000-4000-8000-000000000000', extra: 1 }, 'extra'],
  ])('refuses %j naming %s', async (body, field) => {
    const r = await alice.call('POST', '/api/v1/calls', body);
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.json.error.details)).toContain(field);
  });

  it('refuses both contactId and endpointId at once', async () => {
    const r = await alice.call('POST', '/api/v1/calls', { contactId, endpointId, media: 'audio' });
    expect(r.status).toBe(400);
  });

  it("gives another user 404s for the owner's calls, contacts and endpoints", async () => {
    const attempts: [string, string, unknown?][] = [
      ['GET', `/api/v1/calls/${callId}`],
      ['DELETE', `/api/v1/calls/${callId}`],
      ['POST', `/api/v1/calls/${callId}/accept`, {}],
      ['POST', `/api/v1/calls/${callId}/reject`],
      ['GET', `/api/v1/contacts/${contactId}/call-routes?media=audio`],
      ['POST', '/api/v1/calls', { contactId, media: 'audio' }],
      ['POST', '/api/v1/calls', { endpointId, media: 'audio' }],
    ];
    for (const [method, path, body] of attempts) {
      const r = await mallory.call(method, path, body);
      expect({ method, path, status: r.status }).toEqual({ method, path, status: 404 });
    }
    expect((await mallory.call('GET', '/api/v1/calls')).json).toEqual([]);
    // Still ringing for its owner: nothing mallory did touched it.
    expect((await alice.call('GET', `/api/v1/calls/${callId}`)).json.state).toBe('ringing');
    expect((await alice.call('GET', '/api/v1/calls')).json.map((c: { id: string }) => c.id)).toEqual([
      callId,
    ]);
  });

  it("sends call.state events only to the call's owner", async () => {
    const ended = await alice.call('DELETE', `/api/v1/calls/${callId}`);
    expect(ended.json).toMatchObject({ state: 'ended', endReason: 'hangup' });
    await phone.waitForEvent('CALL_CLOSED');
    const events = env.gw.app.get(ClientEventsService);
    const idOf = async (a: Api) => (await a.call('GET', '/api/v1/me')).json.id as string;
    const mine = await events.replay(await idOf(alice), '0');
    const theirs = await events.replay(await idOf(mallory), '0');
    const states = mine.frames
      .filter((f) => f.type === 'call.state')
      .map((f) => (f.data as { state: string }).state);
    expect(states).toEqual(['negotiating', 'ringing', 'ended']);
    expect(theirs.frames.filter((f) => f.type === 'call.state')).toEqual([]);
  });

  it('answers 409 with the reasons when no route can carry the call', async () => {
    const r = await alice.call('POST', '/api/v1/calls', { contactId, media: 'video' });
    expect(r.status).toBe(409);
    expect(r.json.error.details.rejected).toEqual([
      expect.objectContaining({ network: 'sip', reason: 'sip: network carries no video' }),
    ]);
  });
});
