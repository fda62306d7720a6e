import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { fakeHub } from '../fixtures/fake-adapter';
import { ARTIFACTS, buildWebClient, ensureChromium, openWebClient, signIn } from '../support/browser';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../support/gateway';

async function addAccount(api: Api, network: string, user: string): Promise<void> {
  const r = await api.call('POST', '/api/v1/accounts', {
    adapter: 'fake',
    label: `${user} on ${network}`,
    options: { network, user, password: 'pw' },
  });
  expect(r.status).toBe(201);
  await eventually(
    async () => (await api.call('GET', `/api/v1/accounts/${r.json.id}`)).json.state === 'connected',
    'connected',
  );
}

/**
 * The web client in a real browser against a real gateway (fake network adapter): sign in, the buddy list
 * with presence and status messages, a chat whose message reaches the other account, a live reply and a
 * live presence change over the WebSocket. The client is built from src/web into a temporary folder and
 * served on the gateway's own origin by Playwright's router, so /api and the WebSocket reach the gateway.
 */
describe('web client', () => {
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let admin: Api;
  let carol: Api;
  let tmp: string;
  let webDir: string;
  let context: BrowserContext | undefined;
  let page: Page;

  beforeAll(async () => {
    ensureChromium();
    tmp = mkdtempSync(path.join(os.tmpdir(), 'sb-web-'));
    webDir = path.join(tmp, 'web');
    buildWebClient(webDir);

    fakeHub.reset();
    env = await startTestGateway();
    const anon = new Api(env.gw.url);
    admin = await anon.login('admin', ADMIN_PASSWORD);
    expect(
      (await admin.call('POST', '/api/v1/users', { username: 'carol', password: 'carol-password' })).status,
    ).toBe(201);
    carol = await anon.login('carol', 'carol-password');
    await addAccount(admin, 'net-a', 'me');
    await addAccount(carol, 'net-a', 'carol');
    const set = await carol.call('PUT', '/api/v1/presence', { state: 'away', status: 'at lunch' });
    expect(set.status).toBe(200);

    ({ context, page } = await openWebClient(path.join(tmp, 'profile'), webDir, env.gw.url));
  });

  afterAll(async () => {
    await context?.close();
    await env?.stop();
    fakeHub.reset();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('signs in and shows the other person with presence, status message and network badge', async () => {
    await signIn(page, env.gw.url, 'admin', ADMIN_PASSWORD);

    const row = page.locator('section[data-presence=away] .person', { hasText: 'carol' });
    await row.waitFor();
    expect(await row.locator('.status-message').textContent()).toBe('at lunch');
    expect(await row.locator('.badge').allTextContents()).toEqual(['fake']);
    expect(await row.locator('.dot').getAttribute('class')).toContain('dot-away');
    await page.locator('.stream-live').waitFor();
    // The token survives a reload (kept in localStorage).
    await page.reload();
    await page.locator('.person', { hasText: 'carol' }).waitFor();
  });

  it('opens a chat, sends a message that the other account receives, and shows the reply live', async () => {
    await page.locator('.person-row', { hasText: 'carol' }).click();
    await page.locator('.chat header h2', { hasText: 'carol' }).waitFor();
    await page.fill('input[name=message]', 'hello from the browser');
    await page.click('.send-box button[type=submit]');
    await page
      .locator('.message.self:is([data-status=sent], [data-status=delivered])', {
        hasText: 'hello from the browser',
      })
      .waitFor();

    // Carol's gateway user received it from the network.
    const carolConv = await eventually(async () => {
      const convs = (await carol.call('GET', '/api/v1/conversations')).json as { id: string }[];
      for (const c of convs) {
        const msgs = (await carol.call('GET', `/api/v1/conversations/${c.id}/messages`)).json as {
          text: string;
        }[];
        if (msgs.some((m) => m.text === 'hello from the browser')) return c.id;
      }
      return undefined;
    }, "carol's copy");

    const reply = await carol.call('POST', `/api/v1/conversations/${carolConv}/messages`, {
      text: 'hi back from carol',
    });
    expect(reply.status).toBe(202);
    // No reload: the reply arrives through the WebSocket.
    await page.locator('.message:not(.self)', { hasText: 'hi back from carol' }).waitFor();
    expect(await page.locator('.message .text').allTextContents()).toEqual([
      'hello from the browser',
      'hi back from carol',
    ]);
  });

  it('moves the person to another group live when their presence changes, and sets your own status', async () => {
    expect(
      (await carol.call('PUT', '/api/v1/presence', { state: 'busy', status: 'in a meeting' })).status,
    ).toBe(200);
    const row = page.locator('section[data-presence=busy] .person', { hasText: 'carol' });
    await row.waitFor();
    expect(await row.locator('.status-message').textContent()).toBe('in a meeting');

    await page.selectOption('.own-status select[name=state]', 'away');
    await page.fill('.own-status input[name=status]', 'writing tests');
    await page.click('.own-status button[type=submit]');
    await page.locator('.own-status .note', { hasText: 'Set on 1 account' }).waitFor();
    // Carol sees the admin's new status message through her own API.
    await eventually(async () => {
      const list = (await carol.call('GET', '/api/v1/contacts')).json as {
        displayName: string;
        presence: { state: string; status?: string };
      }[];
      const me = list.find((c) => c.displayName === 'me');
      return me?.presence.state === 'away' && me.presence.status === 'writing tests';
    }, "carol's view of the admin's status");

    // The gateway keeps it: a reload (or another browser) shows the status set, read back from the API.
    await page.reload();
    await page.locator('.own-status select[name=state]').waitFor();
    await eventually(
      async () => (await page.inputValue('.own-status select[name=state]')) === 'away',
      'the own status read back after a reload',
    );
    expect(await page.inputValue('.own-status input[name=status]')).toBe('writing tests');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-client-buddy-list.png') });
  });

  it('lists accounts with their state in words and explains a bad new account', async () => {
    await page.click('button[data-tab=accounts]');
    const row = page.locator('tr[data-state=connected]', { hasText: 'me on net-a' });
    await row.waitFor();
    expect(await row.locator('.state').textContent()).toContain('Connected');

    await page.selectOption('select[name=adapter]', 'fake');
    await page.fill('input[name=label]', 'broken');
    await page.fill('textarea[name=options]', 'user = nobody');
    await page.click('.add-account button[type=submit]');
    const error = page.locator('.add-account .error');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/network/);

    await page.fill('textarea[name=options]', 'network = net-a\nuser = me2\npassword = pw');
    await page.click('.add-account button[type=submit]');
    const added = page.locator('tr', { hasText: 'broken' });
    await added.waitFor();
    await page.locator('tr[data-state=connected]', { hasText: 'broken' }).waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-client-accounts.png') });

    await added.locator('button', { hasText: 'Delete' }).click();
    await added.locator('button', { hasText: 'Really delete' }).click();
    await added.waitFor({ state: 'detached' });
  });

  it('merges the same human seen on two networks into one person, picks a network to chat on, and splits', async () => {
    await addAccount(admin, 'net-b', 'me');
    await addAccount(carol, 'net-b', 'carol');
    const carolIds = async () =>
      (await admin.call('GET', '/api/v1/contacts')).json
        .filter((c: { displayName: string }) => c.displayName === 'carol')
        .map((c: { id: string }) => c.id)
        .sort()
        .join();
    await eventually(async () => (await carolIds()).split(',').length === 2, 'carol on two networks');
    await page.click('button[data-tab=people]');
    const carols = page.locator('.person', { hasText: 'carol' });
    await eventually(async () => {
      const shown = await carols.evaluateAll((els) => els.map((e) => e.getAttribute('data-person')));
      return shown.sort().join() === (await carolIds());
    }, 'the buddy list showing both carols');

    // The gateway suggests they are one person, and says why.
    const suggestion = page.locator('.suggestion', { hasText: 'carol' });
    await suggestion.waitFor();
    expect(await suggestion.locator('.why').textContent()).toMatch(/same (name|handle): carol/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-client-suggestion.png') });

    await carols.first().locator('button.more').click();
    const otherId = await carols.nth(1).getAttribute('data-person');
    await page.selectOption('select[name=merge-with]', otherId);
    await page.click('.merge button');
    await eventually(async () => (await carols.count()) === 1, 'one carol after the merge');
    await suggestion.waitFor({ state: 'detached' });
    const merged = (await admin.call('GET', '/api/v1/contacts')).json.filter(
      (c: { displayName: string }) => c.displayName === 'carol',
    );
    expect(merged).toHaveLength(1);
    expect(merged[0].endpoints).toHaveLength(2);

    // Several endpoints: the row offers a network picker; chat through the net-b account.
    await carols.locator('.person-row').click();
    const choices = carols.locator('.endpoint');
    expect(await choices.count()).toBe(2);
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-client-network-picker.png') });
    await choices.locator('.chat-via', { hasText: 'me on net-b' }).click();
    await page.locator('.chat header h2', { hasText: 'carol' }).waitFor();
    const convs = (await admin.call('GET', '/api/v1/conversations')).json as { accountId: string }[];
    const netB = (await admin.call('GET', '/api/v1/accounts')).json.find(
      (a: { label: string }) => a.label === 'me on net-b',
    );
    expect(convs.some((c) => c.accountId === netB.id)).toBe(true);

    await carols.locator('button.more').click();
    await carols.locator('.endpoint .split').first().click();
    await eventually(async () => (await carols.count()) === 2, 'two carols after the split');
    // Split by the user: never suggested again.
    expect(await page.locator('.suggestion', { hasText: 'carol' }).count()).toBe(0);
  });

  it('joins a room from the inbox and shows its messages live; explains a network without a buddy list', async () => {
    const carolNetA = (await carol.call('GET', '/api/v1/accounts')).json.find(
      (a: { label: string }) => a.label === 'carol on net-a',
    );
    const carolLobby = await carol.call('POST', '/api/v1/conversations', {
      accountId: carolNetA.id,
      address: '#lobby',
    });
    expect(carolLobby.status).toBe(201);

    await page.click('button[data-tab=inbox]');
    await page.click('.join-room summary');
    const myNetA = (await admin.call('GET', '/api/v1/accounts')).json.find(
      (a: { label: string }) => a.label === 'me on net-a',
    );
    await page.selectOption('.join-room select[name=account]', myNetA.id);
    await page.fill('.join-room input[name=address]', '#lobby');
    await page.click('.join-room button[type=submit]');
    await page.locator('.chat header h2', { hasText: '#lobby' }).waitFor();
    await page.locator('.inbox .conversation', { hasText: '#lobby' }).waitFor();

    expect(
      (
        await carol.call('POST', `/api/v1/conversations/${carolLobby.json.id}/messages`, {
          text: 'hello lobby',
        })
      ).status,
    ).toBe(202);
    const msg = page.locator('.message:not(.self)', { hasText: 'hello lobby' });
    await msg.waitFor();
    expect(await msg.locator('.sender').textContent()).toBe('carol');
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-client-inbox.png') });

    await page.click('button[data-tab=people]');
    await page.click('.add-buddy summary');
    await page.fill('.add-buddy input[name=address]', 'dave');
    await page.click('.add-buddy button[type=submit]');
    const error = page.locator('.add-buddy .error');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/buddy list/);
  });

  it('links two rooms into a bridge from the Bridges page, relays, and removes it', async () => {
    const myNetA = (await admin.call('GET', '/api/v1/accounts')).json.find(
      (a: { label: string }) => a.label === 'me on net-a',
    );
    const second = await admin.call('POST', '/api/v1/conversations', {
      accountId: myNetA.id,
      address: '#second',
    });
    expect(second.status).toBe(201);
    const lobby = (await admin.call('GET', '/api/v1/conversations')).json.find(
      (c: { title: string }) => c.title === '#lobby',
    );

    await page.click('button[data-tab=bridges]');
    await page.locator('.bridges-page .empty', { hasText: 'No bridges yet' }).waitFor();
    await page.check(`input[name=bridge-room][value="${lobby.id}"]`);
    await page.check(`input[name=bridge-room][value="${second.json.id}"]`);
    await page.fill('input[name=bridge-name]', 'lobby link');
    await page.click('.add-bridge button[type=submit]');
    const row = page.locator('.bridge', { hasText: 'lobby link' });
    await row.waitFor();
    expect(await row.locator('.rooms').textContent()).toMatch(/#lobby.*⇄.*#second|#second.*⇄.*#lobby/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-client-bridges.png') });

    // Carol speaks in #lobby: the bridge writes it into #second through the user's account.
    const carolLobby = (await carol.call('GET', '/api/v1/conversations')).json.find(
      (c: { title: string }) => c.title === '#lobby',
    );
    expect(
      (
        await carol.call('POST', `/api/v1/conversations/${carolLobby.id}/messages`, {
          text: 'over the bridge',
        })
      ).status,
    ).toBe(202);
    await eventually(async () => {
      const msgs = (await admin.call('GET', `/api/v1/conversations/${second.json.id}/messages`)).json as {
        text: string;
      }[];
      return msgs.some((m) => m.text === 'carol: over the bridge');
    }, 'the relay in #second');

    await row.locator('button.delete-bridge').click();
    await row.waitFor({ state: 'detached' });
    expect((await admin.call('GET', '/api/v1/bridges')).json).toEqual([]);
  });
});
