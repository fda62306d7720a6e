import { fakeHub } from '../fixtures/fake-adapter';
import { addAccount, joinConversation } from '../support/bridge-env';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../support/gateway';

interface Message {
  text: string;
  sender: { displayName: string; self: boolean };
}

/**
 * A bridge declared in the config file: its rooms are named by account label and joined once the accounts
 * are up, it relays with the options it was given, and it is the config's (the API lists it as such).
 */
describe('bridges from the config file', () => {
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let me: Api;
  let carol: Api;

  beforeAll(async () => {
    fakeHub.reset();
    const account = (label: string, network: string) => ({
      owner: 'admin',
      adapter: 'fake',
      label,
      options: { network, user: 'me', password: 'pw' },
    });
    env = await startTestGateway({
      accounts: [account('cfg-a', 'net-a'), account('cfg-b', 'net-b')],
      bridges: [
        {
          name: 'from the file',
          conversations: [
            { account: 'cfg-a', room: '#alpha' },
            { account: 'cfg-b', room: '#beta' },
          ],
          options: { templates: { default: '[{nick}] {text}' } },
        },
      ],
    });
    const anon = new Api(env.gw.url);
    me = await anon.login('admin', ADMIN_PASSWORD);
    expect(
      (await me.call('POST', '/api/v1/users', { username: 'carol', password: 'carol-password' })).status,
    ).toBe(201);
    carol = await anon.login('carol', 'carol-password');
  });
  afterAll(async () => {
    await env?.stop();
    fakeHub.reset();
  });

  it('joins the rooms, links them, and relays with the configured template', async () => {
    const bridge = await eventually(async () => {
      const list = (await me.call('GET', '/api/v1/bridges')).json as {
        name: string;
        source: string;
        conversations: string[];
      }[];
      return list.find((b) => b.name === 'from the file' && b.conversations.length === 2);
    }, 'the config bridge with both rooms');
    expect(bridge.source).toBe('config');

    // Carol is in both rooms, one account per network.
    const rooms: Record<string, string> = {};
    for (const [network, room] of [
      ['net-a', '#alpha'],
      ['net-b', '#beta'],
    ] as const) {
      // The fake network connects at once: eventually's default patience (20 s), not a real network's.
      const account = await addAccount(carol, 'fake', { network, user: 'carol', password: 'pw' }, 20_000);
      rooms[room] = await joinConversation(carol, account, room);
    }
    expect(
      (await carol.call('POST', `/api/v1/conversations/${rooms['#alpha']}/messages`, { text: 'hello alpha' }))
        .status,
    ).toBe(202);
    const relayed = await eventually(async () => {
      const msgs = (await carol.call('GET', `/api/v1/conversations/${rooms['#beta']}/messages`))
        .json as Message[];
      return msgs.find((m) => m.text === '[carol] hello alpha');
    }, 'the relay in #beta');
    expect(relayed.sender.self).toBe(false);
  });

  it("carries the user's own edits and deletions to the copies, and keeps copies read-only", async () => {
    const mine = (await me.call('GET', '/api/v1/conversations')).json as { id: string; title: string }[];
    const alpha = mine.find((c) => c.title === '#alpha')!.id;
    const beta = mine.find((c) => c.title === '#beta')!.id;
    const sent = await me.call('POST', `/api/v1/conversations/${alpha}/messages`, { text: 'meet at 3' });
    expect(sent.status).toBe(202);
    const copyIn = async (text: string) =>
      (
        (await me.call('GET', `/api/v1/conversations/${beta}/messages`)).json as (Message & { id: string })[]
      ).find((m) => m.text === text);
    const copy = await eventually(async () => copyIn('[admin] meet at 3'), 'the copy of my message');
    // Sent: wait until the original reached the network, so that the edit is an edit there too.
    await eventually(async () => {
      const list = (await me.call('GET', `/api/v1/conversations/${alpha}/messages`)).json as {
        id: string;
        status: string;
      }[];
      return list.find((m) => m.id === sent.json.id)?.status === 'sent';
    }, 'my message sent');

    const forbidden = await me.call('PATCH', `/api/v1/conversations/${beta}/messages/${copy.id}`, {
      text: 'x',
    });
    expect(forbidden.status).toBe(403);
    expect(forbidden.json.error.message).toMatch(/original/);

    expect(
      (
        await me.call('PATCH', `/api/v1/conversations/${alpha}/messages/${sent.json.id}`, {
          text: 'meet at 4',
        })
      ).status,
    ).toBe(200);
    await eventually(async () => copyIn('[admin] meet at 4'), 'the copy edited');
    // Carol on net-b sees the edit of the copy.
    const carolBeta = (
      (await carol.call('GET', '/api/v1/conversations')).json as { id: string; title: string }[]
    ).find((c) => c.title === '#beta')!.id;
    await eventually(async () => {
      const msgs = (await carol.call('GET', `/api/v1/conversations/${carolBeta}/messages`)).json as Message[];
      return msgs.some((m) => m.text === '[admin] meet at 4');
    }, 'the edited copy at carol');

    expect((await me.call('DELETE', `/api/v1/conversations/${alpha}/messages/${sent.json.id}`)).status).toBe(
      204,
    );
    await eventually(async () => {
      const list = (await me.call('GET', `/api/v1/conversations/${beta}/messages`)).json as {
        id: string;
        deleted?: boolean;
      }[];
      return list.find((m) => m.id === copy.id)?.deleted === true;
    }, 'the copy deleted');
  });
});
