import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { sipOptions } from '../sip/sip-harness';
import { startBaresip, type BaresipPhone } from '../support/baresip';
import { ARTIFACTS, buildWebClient, ensureChromium, openWebClient, signIn } from '../support/browser';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../support/gateway';
import { startKamailio, type KamailioServer } from '../support/kamailio';

/**
 * The web client's call button: Chromium (fake microphone) places an audio call to a SIP phone (baresip,
 * auto-answer with a 440 Hz tone) through the gateway's SIP account at kamailio. The browser's WebRTC leg
 * ends at the gateway, which relays the audio to the phone's RTP; the call rings, connects, audio reaches
 * the browser, and hanging up in the browser ends the call at the phone.
 */
describe('web client: calling a SIP phone from the browser', () => {
  let kamailio: KamailioServer;
  let phone: BaresipPhone;
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let tmp: string;
  let context: BrowserContext | undefined;
  let page: Page;

  beforeAll(async () => {
    ensureChromium();
    tmp = mkdtempSync(path.join(os.tmpdir(), 'sb-webcall-'));
    const webDir = path.join(tmp, 'web');
    buildWebClient(webDir);
    kamailio = await startKamailio({ gw: 'gw-secret', bob: 'bob-secret' });
    phone = await startBaresip({
      aor: kamailio.uri('bob'),
      password: 'bob-secret',
      proxy: `${kamailio.host}:${kamailio.port}`,
      answermode: 'auto',
      toneHz: 440,
    });
    env = await startTestGateway({
      adapters: [{ id: 'sip' }],
      calls: { answerTimeoutSeconds: 10, mediaAddress: '127.0.0.2' },
    });
    const api = await new Api(env.gw.url).login('admin', ADMIN_PASSWORD);
    const created = await api.call('POST', '/api/v1/accounts', {
      adapter: 'sip',
      label: 'office phone line',
      options: sipOptions(kamailio, 'gw', 'gw-secret'),
    });
    expect(created.status).toBe(201);
    await eventually(
      async () => (await api.call('GET', `/api/v1/accounts/${created.json.id}`)).json.state === 'connected',
      'the SIP account registered',
    );
    const address = kamailio.uri('bob');
    expect((await api.call('POST', `/api/v1/accounts/${created.json.id}/contacts`, { address })).status).toBe(
      202,
    );
    await eventually(async () => {
      const list = (await api.call('GET', '/api/v1/contacts')).json as {
        endpoints: { address: string; capabilities: { registered?: boolean } }[];
      }[];
      return list.some((c) => c.endpoints.some((e) => e.address === address && e.capabilities.registered));
    }, 'bob probed as registered');
    ({ context, page } = await openWebClient(path.join(tmp, 'profile'), webDir, env.gw.url, {
      // A fake microphone, no permission prompt, loopback ICE candidates with real addresses (no mDNS).
      args: [
        '--use-fake-device-for-media-stream',
        '--use-fake-ui-for-media-stream',
        '--allow-loopback-in-peer-connection',
        '--autoplay-policy=no-user-gesture-required',
      ],
      disableFeatures: ['WebRtcHideLocalIpsWithMdns'],
    }));
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await env?.stop();
    await phone?.stop();
    await kamailio?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('rings, connects with audio both ways through the gateway, and hangs up at the phone', async () => {
    await signIn(page, env.gw.url, 'admin', ADMIN_PASSWORD);
    const bob = page.locator('.person', { hasText: 'bob' });
    await bob.waitFor();
    await bob.locator('button.more').click();
    await bob.locator('button.call').click();
    const bar = page.locator('.call-bar');
    await bar.waitFor();
    await page.locator('.call-bar[data-call-state=connected]').waitFor({ timeout: 30_000 });
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-client-call.png') });

    // The phone's tone reaches the browser: audio packets arrive on its WebRTC leg.
    await eventually(
      async () => Number(await page.locator('.call-bar .audio-in').getAttribute('data-packets-in')) > 25,
      'audio from the phone in the browser',
      20_000,
    );
    // The phone took the call.
    await phone.waitForEvent('CALL_ESTABLISHED');

    await bar.locator('button.hang-up').click();
    await page.locator('.call-bar[data-call-state=ended]').waitFor();
    await phone.waitForEvent('CALL_CLOSED');
  });
});
