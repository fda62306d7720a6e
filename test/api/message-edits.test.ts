import { fakeHub } from '../fixtures/fake-adapter';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../support/gateway';

/** Editing and deleting your own message through the API reaches the network through the outbox. */
describe('editing and deleting messages', () => {
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let alice: Api;
  let bob: Api;
  let aliceConv: string;
  let bobConv: string;

  beforeAll(async () => {
    fakeHub.reset();
    env = await startTestGateway();
    const anon = new Api(env.gw.url);
    alice = await anon.login('admin', ADMIN_PASSWORD);
    expect(
      (await alice.call('POST', '/api/v1/users', { username: 'bob', password: 'bob-password' })).status,
    ).toBe(201);
    bob = await anon.login('bob', 'bob-password');
    const ids: string[] = [];
    for (const [api, user] of [
      [alice, 'alice'],
      [bob, 'bob'],
    ] as const) {
      const r = await api.call('POST', '/api/v1/accounts', {
        adapter: 'fake',
        options: { network: 'edits', user, password: 'pw' },
      });
      await eventually(
        async () => (await api.call('GET', `/api/v1/accounts/${r.json.id}`)).json.state === 'connected',
        'connected',
      );
      ids.push(r.json.id);
    }
    aliceConv = (await alice.call('POST', '/api/v1/conversations', { accountId: ids[0], address: '#edits' }))
      .json.id;
    bobConv = (await bob.call('POST', '/api/v1/conversations', { accountId: ids[1], address: '#edits' })).json
      .id;
  });
  afterAll(async () => {
    await env?.stop();
    fakeHub.reset();
  });

  const bobSees = async () =>
    (await bob.call('GET', `/api/v1/conversations/${bobConv}/messages`)).json as {
      id: string;
      text: string;
      editedAt?: string;
    }[];

  it('carries an edit to the other side, and refuses edits of messages that are not yours', async () => {
    const sent = await alice.call('POST', `/api/v1/conversations/${aliceConv}/messages`, {
      text: 'helo wrld',
    });
    await eventually(async () => (await bobSees()).some((m) => m.text === 'helo wrld'), 'delivery');
    await eventually(
      async () =>
        (await alice.call('GET', `/api/v1/conversations/${aliceConv}/messages`)).json[0]?.status === 'sent',
      'sent',
    );
    const edit = await alice.call('PATCH', `/api/v1/conversations/${aliceConv}/messages/${sent.json.id}`, {
      text: 'hello world',
    });
    expect(edit.status).toBe(200);
    expect(edit.json).toMatchObject({ text: 'hello world', editedAt: expect.any(String) });
    const seen = await eventually(
      async () => (await bobSees()).find((m) => m.text === 'hello world'),
      'the edit at bob',
    );
    expect(seen.editedAt).toBeDefined();
    expect(await bobSees()).toHaveLength(1);

    // Bob cannot edit Alice's message through his copy of it, nor reach her conversation.
    const bobCopy = (await bobSees())[0]!;
    expect(
      (await bob.call('PATCH', `/api/v1/conversations/${bobConv}/messages/${bobCopy.id}`, { text: 'x' }))
        .status,
    ).toBe(403);
    expect(
      (await bob.call('PATCH', `/api/v1/conversations/${aliceConv}/messages/${sent.json.id}`, { text: 'x' }))
        .status,
    ).toBe(404);
  });

  it('deletes your own message in the gateway (the fake network cannot delete, so the other side keeps it)', async () => {
    const sent = await alice.call('POST', `/api/v1/conversations/${aliceConv}/messages`, { text: 'oops' });
    await eventually(async () => (await bobSees()).some((m) => m.text === 'oops'), 'delivery');
    expect(
      (await alice.call('DELETE', `/api/v1/conversations/${aliceConv}/messages/${sent.json.id}`)).status,
    ).toBe(204);
    const mine = (await alice.call('GET', `/api/v1/conversations/${aliceConv}/messages`)).json as {
      id: string;
      deleted?: boolean;
    }[];
    expect(mine.find((m) => m.id === sent.json.id)?.deleted).toBe(true);
    expect(
      (await alice.call('DELETE', `/api/v1/conversations/${aliceConv}/messages/${sent.json.id}`)).status,
    ).toBe(409);
  });

  it('marks a conversation read: the unread count drops to 0', async () => {
    const unread = async () =>
      ((await bob.call('GET', '/api/v1/conversations')).json as { id: string; unread: number }[]).find(
        (c) => c.id === bobConv,
      )!.unread;
    await alice.call('POST', `/api/v1/conversations/${aliceConv}/messages`, { text: 'unread one' });
    await eventually(async () => (await unread()) > 0, 'an unread message');
    const r = await bob.call('POST', `/api/v1/conversations/${bobConv}/read`);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ id: bobConv, unread: 0 });
    expect(await unread()).toBe(0);
    expect((await alice.call('POST', `/api/v1/conversations/${bobConv}/read`)).status).toBe(404);
  });
});
