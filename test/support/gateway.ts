import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { createLogger } from '../../src/common/logger';
import { loadConfig, type AppConfig } from '../../src/config';
import { startGateway, type RunningGateway } from '../../src/main';
import { startProcess, type ManagedProcess } from './managed-process';
import { freePort } from './ports';

export const ADMIN_PASSWORD = 'admin-password-1';
export const FAKE_ADAPTER_PATH = path.resolve(__dirname, '../fixtures/fake-adapter');

/**
 * A whole gateway in this process on a free port, with its own data folder and config file, the way an
 * operator would run it (YAML + environment through loadConfig).
 */
export async function startTestGateway(
  overrides: Record<string, unknown> = {},
  env: Record<string, string> = {},
): Promise<{
  gw: RunningGateway;
  config: AppConfig;
  dir: string;
  /** Every log line the gateway wrote so far (JSON lines at the configured level). */
  logs(): readonly string[];
  stop(): Promise<void>;
}> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sb-gw-'));
  const file = path.join(dir, 'switchboard.yaml');
  writeFileSync(
    file,
    stringify({
      server: { host: '127.0.0.1', port: await freePort() },
      dataDir: path.join(dir, 'data'),
      adapters: [{ id: 'fake', path: FAKE_ADAPTER_PATH }],
      queue: { backoffBaseMs: 50, backoffMaxMs: 1000 },
      log: { level: (process.env.SB_TEST_LOG_LEVEL as 'warn' | undefined) ?? 'warn', format: 'json' },
      ...overrides,
    }),
  );
  const config = loadConfig({
    file,
    cwd: dir,
    env: { SWITCHBOARD_ADMIN_PASSWORD: ADMIN_PASSWORD, ...env },
    stdoutIsTTY: false,
  });
  const lines: string[] = [];
  const logger = createLogger(config.log, {}, (l) => lines.push(l));
  const gw = await startGateway(config, { logger });
  return {
    gw,
    config,
    dir,
    logs: () => lines,
    stop: async () => {
      await gw.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A small JSON client for the API. */
export class Api {
  constructor(
    readonly base: string,
    public token?: string,
  ) {}

  async call(method: string, p: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(this.base + p, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, json: json as any, text, headers: res.headers };
  }

  async login(username: string, password: string): Promise<Api> {
    const r = await this.call('POST', '/api/v1/auth/login', { username, password });
    if (r.status !== 200) throw new Error(`login failed: ${r.status} ${r.text}`);
    return new Api(this.base, r.json.token as string);
  }
}

/** Polls until `fn` returns a truthy value (a condition, not a timing assertion). */
export async function eventually<T>(
  fn: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 20000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The gateway as its own child process (the only way to SIGKILL it), built from the TypeScript sources:
 * writes `<dir>/switchboard.yaml` from `config` (dataDir defaults to `<dir>/data`), starts
 * `test/support/gateway-from-source.ts start` and resolves once it listens. Restarting on the same `dir`
 * reuses the same data.
 */
export async function startGatewayProcess(
  dir: string,
  config: Record<string, unknown>,
): Promise<ManagedProcess> {
  const file = path.join(dir, 'switchboard.yaml');
  writeFileSync(file, stringify({ dataDir: path.join(dir, 'data'), ...config }));
  const p = startProcess(
    'gateway',
    process.execPath,
    ['-r', './test/support/ts-register.js', 'test/support/gateway-from-source.ts', 'start'],
    {
      cwd: path.resolve(__dirname, '../..'),
      env: { ...process.env, SWITCHBOARD_CONFIG: file, SWITCHBOARD_ADMIN_PASSWORD: ADMIN_PASSWORD },
    },
  );
  await p.waitForOutput(/Switchboard is running at/, 60_000);
  return p;
}
