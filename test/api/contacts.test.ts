import WebSocket from 'ws';
import { fakeHub } from '../fixtures/fake-adapter';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../support/gateway';

interface Contact {
  id: string;
  displayName: string;
  presence: { state: string; status?: string };
  endpoints: {
    id: string;
    network: string;
    address: string;
    accountId: string;
    presence: { state: string; status?: string };
  }[];
}

/**
 * The buddy list through the API: the same human seen on two networks is two contacts until merged; one
 * presence aggregated over their endpoints; merge and split; a presence change reaches a WebSocket client
 * with the person's aggregated presence; users never see each other's people.
 */
describe('contacts and presence', () => {
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let me: Api;
  let carol: Api;

  beforeAll(async () => {
    fakeHub.reset();
    env = await startTestGateway();
    const anon = new Api(env.gw.url);
    me = await anon.login('admin', ADMIN_PASSWORD);
    expect(
      (await me.call('POST', '/api/v1/users', { username: 'carol', password: 'carol-password' })).status,
    ).toBe(201);
    carol = await anon.login('carol', 'carol-password');
    const accounts: [Api, string, string][] = [
      [me, 'net-a', 'me'],
      [me, 'net-b', 'me'],
      [carol, 'net-a', 'carol'],
      [carol, 'net-b', 'carol'],
    ];
    for (const [api, network, user] of accounts) {
      const r = await api.call('POST', '/api/v1/accounts', {
        adapter: 'fake',
        options: { network, user, password: 'pw' },
      });
      expect(r.status).toBe(201);
      await eventually(
        async () => (await api.call('GET', `/api/v1/accounts/${r.json.id}`)).json.state === 'connected',
        'connected',
      );
    }
  });
  afterAll(async () => {
    await env?.stop();
    fakeHub.reset();
  });

  const contacts = async (api: Api) => (await api.call('GET', '/api/v1/contacts')).json as Contact[];

  it('shows a contact per network with its presence and status message, then one person after a merge', async () => {
    const set = await carol.call('PUT', '/api/v1/presence', { state: 'away', status: 'at lunch' });
    expect(set.status).toBe(200);
    expect(set.json.accounts.every((a: { ok: boolean }) => a.ok)).toBe(true);

    const two = await eventually(async () => {
      const list = (await contacts(me)).filter((c) => c.displayName === 'carol');
      return list.length === 2 && list.every((c) => c.presence.state === 'away') && list;
    }, 'carol on both networks');
    expect(two.map((c) => c.endpoints[0]!.network).sort()).toEqual(['fake', 'fake']);
    expect(new Set(two.map((c) => c.endpoints[0]!.accountId)).size).toBe(2);
    expect(two[0]!.presence.status).toBe('at lunch');

    // The gateway suggests they are one person, saying why.
    const suggested = (await me.call('GET', '/api/v1/contacts/suggestions')).json as {
      contactId: string;
      otherId: string;
      reasons: { kind: string; value: string }[];
    }[];
    const pair = suggested.find(
      (p) =>
        [p.contactId, p.otherId].sort().join() ===
        two
          .map((c) => c.id)
          .sort()
          .join(),
    );
    expect(pair).toBeDefined();
    expect(pair!.reasons.some((r) => r.value === 'carol')).toBe(true);

    const merged = await me.call('POST', `/api/v1/contacts/${two[0]!.id}/merge`, { otherId: two[1]!.id });
    expect(merged.status).toBe(200);
    expect(merged.json.endpoints).toHaveLength(2);
    expect(merged.json.presence).toMatchObject({ state: 'away', status: 'at lunch' });
    const after = (await contacts(me)).filter((c) => c.displayName === 'carol');
    expect(after).toHaveLength(1);
  });

  it("pushes the person's aggregated presence to a WebSocket client when it changes", async () => {
    const person = (await contacts(me)).find((c) => c.displayName === 'carol')!;
    const ws = new WebSocket(`${env.gw.url.replace('http', 'ws')}/api/v1/events?token=${me.token}`);
    const frames: { type: string; data: any }[] = [];
    ws.on('message', (d) => frames.push(JSON.parse(String(d))));
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    await carol.call('PUT', '/api/v1/presence', { state: 'available', status: 'back at my desk' });
    const frame = await eventually(
      async () =>
        frames.find(
          (f) =>
            f.type === 'presence.changed' &&
            f.data.personId === person.id &&
            f.data.personPresence.state === 'available',
        ),
      'presence.changed',
    );
    expect(frame.data.personPresence.status).toBe('back at my desk');
    ws.close();
  });

  it('splits an endpoint off into a contact of its own', async () => {
    const person = (await contacts(me)).find((c) => c.displayName === 'carol')!;
    const r = await me.call('POST', `/api/v1/contacts/${person.id}/split`, {
      endpointId: person.endpoints[1]!.id,
    });
    expect(r.status).toBe(200);
    expect(r.json.from.endpoints).toHaveLength(1);
    expect(r.json.split.endpoints.map((e: { id: string }) => e.id)).toEqual([person.endpoints[1]!.id]);
    expect((await contacts(me)).filter((c) => c.displayName === 'carol')).toHaveLength(2);
    // The user split them: they are never suggested as one person again.
    const suggested = (await me.call('GET', '/api/v1/contacts/suggestions')).json as {
      contactId: string;
      otherId: string;
    }[];
    const ids = [r.json.from.id, r.json.split.id].sort().join();
    expect(suggested.some((p) => [p.contactId, p.otherId].sort().join() === ids)).toBe(false);
    // Splitting the last endpoint, or one that is not the contact's, is refused.
    const lone = await me.call('POST', `/api/v1/contacts/${r.json.split.id}/split`, {
      endpointId: person.endpoints[1]!.id,
    });
    expect(lone.status).toBe(400);
    const foreign = await me.call('POST', `/api/v1/contacts/${r.json.from.id}/split`, {
      endpointId: person.endpoints[1]!.id,
    });
    expect(foreign.status).toBe(400);
  });

  it('never suggests again two people the user said are different, and moves nothing', async () => {
    expect(
      (await me.call('POST', '/api/v1/users', { username: 'dora', password: 'dora-password' })).status,
    ).toBe(201);
    const dora = await new Api(env.gw.url).login('dora', 'dora-password');
    for (const network of ['net-a', 'net-b']) {
      const r = await dora.call('POST', '/api/v1/accounts', {
        adapter: 'fake',
        options: { network, user: 'dora', password: 'pw' },
      });
      expect(r.status).toBe(201);
    }
    const two = await eventually(async () => {
      const list = (await contacts(me)).filter((c) => c.displayName === 'dora');
      return list.length === 2 && list;
    }, 'dora on both networks');
    const ids = two.map((c) => c.id).sort();
    const suggestedPair = async () =>
      (
        (await me.call('GET', '/api/v1/contacts/suggestions')).json as {
          contactId: string;
          otherId: string;
        }[]
      )
        .map((p) => [p.contactId, p.otherId].sort().join())
        .includes(ids.join());
    await eventually(suggestedPair, 'the two doras suggested as one person');

    const r = await me.call('POST', `/api/v1/contacts/${ids[0]}/not-same`, { otherId: ids[1] });
    expect(r.status).toBe(200);
    expect(await suggestedPair()).toBe(false);
    expect((await contacts(me)).filter((c) => c.displayName === 'dora')).toHaveLength(2);
    // Still the user's to merge by hand; and nobody else's to mark.
    expect((await me.call('POST', `/api/v1/contacts/${ids[0]}/not-same`, { otherId: ids[0] })).status).toBe(
      400,
    );
    expect(
      (await carol.call('POST', `/api/v1/contacts/${ids[0]}/not-same`, { otherId: ids[1] })).status,
    ).toBe(404);
  });

  it("keeps each user's people to themselves", async () => {
    const mine = await contacts(me);
    const theirs = await contacts(carol);
    const myIds = new Set(mine.map((c) => c.id));
    expect(theirs.some((c) => myIds.has(c.id))).toBe(false);
    expect((await carol.call('GET', `/api/v1/contacts/${mine[0]!.id}`)).status).toBe(404);
    if (theirs[0])
      expect(
        (await carol.call('POST', `/api/v1/contacts/${theirs[0].id}/merge`, { otherId: mine[0]!.id })).status,
      ).toBe(404);
    expect(
      (
        await carol.call('POST', `/api/v1/contacts/${mine[0]!.id}/split`, {
          endpointId: mine[0]!.endpoints[0]!.id,
        })
      ).status,
    ).toBe(404);
  });

  it('answers clearly when a network keeps no buddy list, and validates presence', async () => {
    const account = (await me.call('GET', '/api/v1/accounts')).json[0].id as string;
    const add = await me.call('POST', `/api/v1/accounts/${account}/contacts`, { address: 'dave' });
    expect(add.status).toBe(400);
    expect(add.json.error.message).toMatch(/buddy list/);
    const bad = await me.call('PUT', '/api/v1/presence', { state: 'sleeping' });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toContain('state');
  });
});
