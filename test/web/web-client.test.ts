import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page, type Route } from 'playwright-core';
import { fakeHub } from '../fixtures/fake-adapter';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../support/gateway';

const ROOT = path.resolve(__dirname, '../..');
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(ROOT, 'test/artifacts');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Debian's chromium is the browser; the test setup installs it when the machine lacks it. */
function ensureChromium(): string {
  if (!existsSync(CHROMIUM))
    execFileSync('flock', ['/tmp/apt.lock', 'apt-get', 'install', '-y', 'chromium'], { stdio: 'inherit' });
  if (!existsSync(CHROMIUM)) throw new Error(`chromium is not installed at ${CHROMIUM}`);
  return CHROMIUM;
}

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
    const executablePath = ensureChromium();
    tmp = mkdtempSync(path.join(os.tmpdir(), 'sb-web-'));
    webDir = path.join(tmp, 'web');
    // A build of its own keeps the test on the current source and off dist/web, which others may serve.
    execFileSync(
      process.execPath,
      [
        path.join(ROOT, 'node_modules/vite/bin/vite.js'),
        'build',
        '--config',
        path.join(ROOT, 'src/web/vite.config.mts'),
        '--outDir',
        webDir,
        '--logLevel',
        'warn',
      ],
      { cwd: ROOT, stdio: 'pipe' },
    );

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

    context = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
      executablePath,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        // The document is fulfilled by Playwright's router and so has no local address; Chromium would then
        // block its WebSocket to 127.0.0.1 as a public page reaching into the local network.
        '--disable-features=LocalNetworkAccessChecks',
      ],
      viewport: { width: 1100, height: 700 },
    });
    const origin = new URL(env.gw.url).origin;
    await context.route('**/*', async (route: Route) => {
      const url = new URL(route.request().url());
      if (url.origin !== origin) return route.abort();
      if (url.pathname.startsWith('/api/') || url.pathname === '/healthz') return route.fallback();
      // Static files of the build, and index.html for any other path (the SPA fallback).
      let file = path.join(webDir, path.normalize(decodeURIComponent(url.pathname)));
      if (!file.startsWith(webDir) || !existsSync(file) || statSync(file).isDirectory())
        file = path.join(webDir, 'index.html');
      return route.fulfill({
        status: 200,
        contentType: TYPES[path.extname(file)] ?? 'application/octet-stream',
        body: readFileSync(file),
      });
    });
    page = context.pages()[0] ?? (await context.newPage());
    // Every wait is for a condition; a missing one should fail well inside Jest's hook timeout.
    page.setDefaultTimeout(20_000);
  });

  afterAll(async () => {
    await context?.close();
    await env?.stop();
    fakeHub.reset();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('signs in and shows the other person with presence, status message and network badge', async () => {
    await page.goto(env.gw.url + '/');
    await page.fill('input[name=username]', 'admin');
    await page.fill('input[name=password]', ADMIN_PASSWORD);
    await page.click('button[type=submit]');

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
    await page.locator('.message.self[data-status=sent]', { hasText: 'hello from the browser' }).waitFor();

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

    await carols.first().locator('button.more').click();
    const otherId = await carols.nth(1).getAttribute('data-person');
    await page.selectOption('select[name=merge-with]', otherId);
    await page.click('.merge button');
    await eventually(async () => (await carols.count()) === 1, 'one carol after the merge');
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
});
