import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { chromium, type BrowserContext, type Page, type Route } from 'playwright-core';

const ROOT = path.resolve(__dirname, '../..');
export const CHROMIUM = '/usr/bin/chromium';
/** Screenshots of browser tests (ignored by git). */
export const ARTIFACTS = path.join(ROOT, 'test/artifacts');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Debian's chromium is the browser; the test setup installs it when the machine lacks it. */
export function ensureChromium(): string {
  if (!existsSync(CHROMIUM))
    execFileSync('flock', ['/tmp/apt.lock', 'apt-get', 'install', '-y', 'chromium'], { stdio: 'inherit' });
  if (!existsSync(CHROMIUM)) throw new Error(`chromium is not installed at ${CHROMIUM}`);
  return CHROMIUM;
}

/** Builds the web client from src/web into `outDir`: the test runs the current source, not dist/web. */
export function buildWebClient(outDir: string): void {
  execFileSync(
    process.execPath,
    [
      path.join(ROOT, 'node_modules/vite/bin/vite.js'),
      'build',
      '--config',
      path.join(ROOT, 'src/web/vite.config.mts'),
      '--outDir',
      outDir,
      '--logLevel',
      'warn',
    ],
    { cwd: ROOT, stdio: 'pipe' },
  );
}

/**
 * Chromium (headless, Debian's binary) with the web build in `webDir` served on the gateway's own origin
 * by Playwright's router, so /api and the WebSocket reach the gateway at `gatewayUrl`.
 */
export async function openWebClient(
  profileDir: string,
  webDir: string,
  gatewayUrl: string,
  opts: { args?: string[]; disableFeatures?: string[] } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: ensureChromium(),
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
      `--disable-features=${['LocalNetworkAccessChecks', ...(opts.disableFeatures ?? [])].join(',')}`,
      ...(opts.args ?? []),
    ],
    viewport: { width: 1100, height: 700 },
  });
  const origin = new URL(gatewayUrl).origin;
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
  const page = context.pages()[0] ?? (await context.newPage());
  // Every wait is for a condition; a missing one should fail well inside Jest's hook timeout.
  page.setDefaultTimeout(20_000);
  return { context, page };
}

/** Signs in through the form. */
export async function signIn(page: Page, url: string, username: string, password: string): Promise<void> {
  await page.goto(url + '/');
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
}
