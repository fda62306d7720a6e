import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { RawIrcClient } from '../irc/raw-irc-client';
import { ARTIFACTS, buildWebClient, ensureChromium, openWebClient, signIn } from '../support/browser';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../support/gateway';
import { startInspircd, type InspircdServer } from '../support/inspircd';
import { startMatrixHomeserver, type MatrixHomeserver } from '../support/matrix-homeserver';
import { startProsody, type ProsodyServer } from '../support/prosody';

const root = path.resolve(__dirname, '../..');

interface Message {
  text: string;
  sender: { self: boolean };
}

/**
 * The web client in Debian's Chromium against one gateway logged into three real networks: InspIRCd, prosody
 * and the Matrix test homeserver. Dave is on IRC (a raw client, away), Erin on XMPP (do not disturb) and
 * Frank on Matrix (online with a status message): the buddy list shows all three with their presence and
 * status messages, a message typed in the browser reaches Dave through InspIRCd and his reply shows up
 * live; the same through prosody with Erin.
 */
describe('web client on three real networks', () => {
  let irc: InspircdServer;
  let xmpp: ProsodyServer;
  let hs: MatrixHomeserver;
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let me: Api;
  let erin: Api;
  let dave: RawIrcClient | undefined;
  let tmp: string;
  let context: BrowserContext | undefined;
  let page: Page;

  const xmppOptions = (user: string) => ({
    jid: `${user}@${xmpp.domain}`,
    password: `${user}-password`,
    host: xmpp.host,
    port: xmpp.port,
    trustedCertificate: xmpp.certificatePem,
  });

  async function addAccount(api: Api, adapter: string, label: string, options: object): Promise<string> {
    const r = await api.call('POST', '/api/v1/accounts', { adapter, label, options });
    expect(r.status).toBe(201);
    await eventually(
      async () => (await api.call('GET', `/api/v1/accounts/${r.json.id}`)).json.state === 'connected',
      `${label} connected`,
      30_000,
    );
    return r.json.id as string;
  }

  beforeAll(async () => {
    ensureChromium();
    tmp = mkdtempSync(path.join(os.tmpdir(), 'sb-web3-'));
    const webDir = path.join(tmp, 'web');
    buildWebClient(webDir);
    [irc, xmpp, hs] = await Promise.all([
      startInspircd(),
      startProsody(),
      startMatrixHomeserver({ serverName: 'hs.test' }),
    ]);
    await Promise.all([xmpp.registerUser('me', 'me-password'), xmpp.registerUser('erin', 'erin-password')]);
    await hs.registerUser('me', 'me-password');
    env = await startTestGateway({
      adapters: [
        { id: 'irc', path: path.join(root, 'adapters/irc') },
        { id: 'xmpp', path: path.join(root, 'adapters/xmpp') },
        { id: 'matrix', path: path.join(root, 'adapters/matrix') },
      ],
    });
    const anon = new Api(env.gw.url);
    me = await anon.login('admin', ADMIN_PASSWORD);
    expect(
      (await me.call('POST', '/api/v1/users', { username: 'erin', password: 'erin-gateway-password' }))
        .status,
    ).toBe(201);
    erin = await anon.login('erin', 'erin-gateway-password');

    // Dave: a plain IRC client, away. The gateway watches his nick (MONITOR).
    dave = await RawIrcClient.register(irc.host, irc.port, 'dave');
    dave.send('AWAY :at lunch');
    await addAccount(me, 'irc', 'me on IRC', {
      host: irc.host,
      port: irc.port,
      tls: false,
      nick: 'me',
      watch: ['dave'],
    });

    // Erin: another XMPP user, here through her own gateway user. The user adds her; she accepts by adding
    // the user back (a mutual subscription on prosody), then sets do-not-disturb.
    const myXmpp = await addAccount(me, 'xmpp', 'me on XMPP', xmppOptions('me'));
    const erinXmpp = await addAccount(erin, 'xmpp', 'erin on XMPP', xmppOptions('erin'));
    expect(
      (await me.call('POST', `/api/v1/accounts/${myXmpp}/contacts`, { address: `erin@${xmpp.domain}` }))
        .status,
    ).toBeLessThan(300);
    expect(
      (await erin.call('POST', `/api/v1/accounts/${erinXmpp}/contacts`, { address: `me@${xmpp.domain}` }))
        .status,
    ).toBeLessThan(300);
    expect(
      (await erin.call('PUT', '/api/v1/presence', { state: 'busy', status: 'in a meeting' })).status,
    ).toBe(200);

    // Frank: a Matrix user who opens a DM with the user and says what he is doing.
    await addAccount(me, 'matrix', 'me on Matrix', {
      homeserverUrl: hs.url,
      userId: '@me:hs.test',
      password: 'me-password',
      syncTimeoutMs: 1000,
    });
    const frank = await hs.registerUser('frank', 'frank-password', { displayname: 'frank' });
    const mx = async (method: string, p: string, body?: object) => {
      const res = await fetch(`${hs.url}/_matrix/client/v3${p}`, {
        method,
        headers: { authorization: `Bearer ${frank.accessToken}`, 'content-type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      expect(res.status).toBe(200);
    };
    await mx('POST', '/createRoom', {
      is_direct: true,
      invite: ['@me:hs.test'],
      preset: 'trusted_private_chat',
    });
    await mx('PUT', `/presence/${encodeURIComponent(frank.userId)}/status`, {
      presence: 'online',
      status_msg: 'writing code',
    });

    ({ context, page } = await openWebClient(path.join(tmp, 'profile'), webDir, env.gw.url));
  });

  afterAll(async () => {
    await context?.close();
    await dave?.close();
    await env?.stop();
    await Promise.all([irc?.stop(), xmpp?.stop(), hs?.stop()]);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('shows people from IRC, XMPP and Matrix with their presence, status message and network', async () => {
    await signIn(page, env.gw.url, 'admin', ADMIN_PASSWORD);
    const expectations = [
      { name: 'dave', presence: 'away', status: 'at lunch', network: 'irc' },
      { name: 'erin', presence: 'busy', status: 'in a meeting', network: 'xmpp' },
      { name: 'frank', presence: 'available', status: 'writing code', network: 'matrix' },
    ];
    for (const e of expectations) {
      const row = page.locator(`section[data-presence=${e.presence}] .person`, { hasText: e.name });
      await eventually(
        async () =>
          (await row
            .locator('.status-message')
            .textContent()
            .catch(() => null)) === e.status,
        `${e.name} ${e.presence} "${e.status}" in the buddy list`,
        30_000,
      );
      expect(await row.locator('.badge').allTextContents()).toEqual([e.network]);
      expect(await row.locator('.dot').getAttribute('class')).toContain(`dot-${e.presence}`);
    }
    await page.locator('.stream-live').waitFor();
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'buddy-list-three-networks.png') });
  });

  it('sends a message to Dave that InspIRCd delivers to him, and shows his reply live', async () => {
    await page.locator('.person-row', { hasText: 'dave' }).click();
    await page.locator('.chat header h2', { hasText: 'dave' }).waitFor();
    await page.fill('input[name=message]', 'hello dave, from the browser');
    await page.click('.send-box button[type=submit]');
    await page
      .locator('.message.self:is([data-status=sent], [data-status=delivered])', {
        hasText: 'hello dave, from the browser',
      })
      .waitFor();
    await dave!.waitFor(/^:me!\S+ PRIVMSG dave :hello dave, from the browser$/, 20_000);

    dave!.send('PRIVMSG me :hi! back from the IRC side');
    await page.locator('.message:not(.self)', { hasText: 'hi! back from the IRC side' }).waitFor();
  });

  it('sends a message to Erin that prosody delivers to her account, and shows her reply live', async () => {
    await page.click('button[data-tab=people]');
    await page.locator('.person-row', { hasText: 'erin' }).click();
    await page.locator('.chat header h2', { hasText: 'erin' }).waitFor();
    await page.fill('input[name=message]', 'hello erin, over XMPP');
    await page.click('.send-box button[type=submit]');
    await page
      .locator('.message.self:is([data-status=sent], [data-status=delivered])', {
        hasText: 'hello erin, over XMPP',
      })
      .waitFor();

    // Erin's own XMPP account received it from prosody.
    const conv = await eventually(async () => {
      for (const c of (await erin.call('GET', '/api/v1/conversations')).json as { id: string }[]) {
        const msgs = (await erin.call('GET', `/api/v1/conversations/${c.id}/messages`)).json as Message[];
        if (msgs.some((m) => m.text === 'hello erin, over XMPP' && !m.sender.self)) return c.id;
      }
      return undefined;
    }, "erin's copy");
    expect(
      (await erin.call('POST', `/api/v1/conversations/${conv}/messages`, { text: 'busy, but hi' })).status,
    ).toBe(202);
    await page.locator('.message:not(.self)', { hasText: 'busy, but hi' }).waitFor();
  });
});
