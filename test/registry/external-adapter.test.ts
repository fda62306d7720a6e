import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RemoteRoomId, SDK_VERSION, TransactionId } from '@switchboard/sdk';
import {
  AccountSupervisor,
  AdapterBootError,
  AdapterLoadError,
  AdapterRegistry,
  loadAdapters,
} from '../../src/registry';
import { RecordingHost, silentLogger, waitFor } from './registry-harness';
import { installFixtures } from '../support/npm-fixtures';

async function bootError(p: Promise<unknown>): Promise<AdapterBootError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof AdapterBootError)) throw new Error(`expected the boot to be refused, got ${String(e)}`);
  return e;
}

describe('an adapter shipped as its own npm package', () => {
  let tmp: string;
  let prefix: string;

  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'sb-external-adapter-'));
    prefix = installFixtures(tmp, ['external-adapter', 'external-adapter-incompatible']);
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('is loaded from config alone, listed with its version, and its clients work', async () => {
    const loaded = await loadAdapters(
      [{ id: 'echo', package: 'switchboard-adapter-echo', options: { prefix: 'you said: ' } }],
      { logger: silentLogger, resolvePaths: [prefix] },
    );
    const registry = new AdapterRegistry(loaded);
    expect(registry.list()).toEqual([
      {
        id: 'echo',
        displayName: 'Echo',
        version: '1.2.3',
        sdk: '^1.0.0',
        capabilities: { maxMessageBytes: 1024 },
        source: { kind: 'package', location: 'switchboard-adapter-echo', packageVersion: '1.2.3' },
      },
    ]);
    // It really came from the installed copy, not from the fixture folder.
    expect(require.resolve('switchboard-adapter-echo', { paths: [prefix] })).toBe(
      path.join(prefix, 'node_modules', 'switchboard-adapter-echo', 'index.js'),
    );

    const host = new RecordingHost();
    const supervisor = new AccountSupervisor(registry, host);
    try {
      await supervisor.start({
        accountId: 'acc-e',
        adapterId: 'echo',
        options: { user: 'me', password: 'pw' },
      });
      await waitFor('echo connected', () => supervisor.status('acc-e')?.state === 'connected');
      const sent = await supervisor
        .client('acc-e')!
        .send({ roomId: RemoteRoomId('lobby'), transactionId: TransactionId('t1'), text: 'ping' });
      const reply = await waitFor('the echo', () =>
        host.find('acc-e', 'message', (e) => e.replyTo === sent.messageIds[0]),
      );
      expect(reply).toMatchObject({ roomId: 'lobby', text: 'you said: ping', sender: { userId: 'echo' } });
    } finally {
      await supervisor.stopAll();
      await registry.disposeAll();
    }
  });

  it('validates account options with its hand-written schema, naming the field', async () => {
    const registry = new AdapterRegistry(
      await loadAdapters([{ id: 'echo', package: 'switchboard-adapter-echo' }], {
        logger: silentLogger,
        resolvePaths: [prefix],
      }),
    );
    try {
      const r = await registry.validateAccountOptions('echo', { user: 'Not Valid', delayMs: -1 });
      expect(r).toEqual({
        ok: false,
        issues: [
          { path: 'user', message: 'user must be 1-32 lowercase letters, digits, _ or -' },
          { path: 'delayMs', message: 'delayMs must be a whole number of milliseconds, 0 or more' },
        ],
      });
      expect(registry.splitSecrets('echo', { user: 'me', password: 'pw' })).toEqual({
        public: { user: 'me' },
        secrets: { password: 'pw' },
      });
    } finally {
      await registry.disposeAll();
    }
  });

  it('refuses at boot an adapter built for an incompatible SDK, naming it and both versions', async () => {
    const err = await bootError(
      loadAdapters([{ id: 'echo2', package: 'switchboard-adapter-echo2' }], {
        logger: silentLogger,
        resolvePaths: [prefix],
      }),
    );
    expect(err.failures).toHaveLength(1);
    const f = err.failures[0]!;
    expect(f).toBeInstanceOf(AdapterLoadError);
    expect(f.adapterId).toBe('echo2');
    expect(f.source).toEqual({
      kind: 'package',
      location: 'switchboard-adapter-echo2',
      packageVersion: '2.0.0',
    });
    expect(f.message).toBe(
      `adapter "echo2" (package switchboard-adapter-echo2@2.0.0) needs SDK ^2.0.0 but this gateway provides ${SDK_VERSION}`,
    );
    expect(err.message).toContain(f.message);
  });

  it('refuses at boot invalid adapter options, naming the adapter and the field', async () => {
    const err = await bootError(
      loadAdapters([{ id: 'echo', package: 'switchboard-adapter-echo', options: { prefix: 42 } }], {
        logger: silentLogger,
        resolvePaths: [prefix],
      }),
    );
    expect(err.failures[0]?.message).toBe(
      'adapter "echo" (package switchboard-adapter-echo@1.2.3) has invalid options: prefix: prefix must be a string',
    );
  });

  it('refuses a package that is not installed, naming it', async () => {
    const err = await bootError(
      loadAdapters([{ id: 'nope', package: 'switchboard-adapter-nope' }], {
        logger: silentLogger,
        resolvePaths: [prefix],
      }),
    );
    expect(err.failures[0]?.message).toMatch(
      /^adapter "nope" \(package switchboard-adapter-nope\) is not installed .*npm install switchboard-adapter-nope/,
    );
  });

  it('lists every failure at once and loads nothing when any adapter fails', async () => {
    const err = await bootError(
      loadAdapters(
        [
          { id: 'echo', package: 'switchboard-adapter-echo' },
          { id: 'echo2', package: 'switchboard-adapter-echo2' },
          { id: 'nope', package: 'switchboard-adapter-nope' },
          { id: 'Bad Id', package: 'switchboard-adapter-echo' },
          { id: 'echo', package: 'switchboard-adapter-echo' },
          { id: 'both', package: 'x', path: './x' },
        ],
        { logger: silentLogger, resolvePaths: [prefix] },
      ),
    );
    expect(err.failures.map((f) => f.adapterId)).toEqual(['echo2', 'nope', 'Bad Id', 'echo', 'both']);
    expect(err.failures.map((f) => f.reason)).toEqual([
      `needs SDK ^2.0.0 but this gateway provides ${SDK_VERSION}`,
      expect.stringContaining('is not installed'),
      expect.stringContaining('has an invalid id'),
      'is named twice in config',
      'names both "path" and "package"; give one of them',
    ]);
    expect(err.message.split('\n')[0]).toBe('refusing to start: 5 adapters could not be loaded:');
    // The echo adapter that did initialise was disposed again: a fresh client cannot be created.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the installed copy, as the loader saw it
    const echo = require(path.join(prefix, 'node_modules', 'switchboard-adapter-echo')) as {
      createClient: (o: unknown, c: unknown) => unknown;
    };
    expect(() => echo.createClient({}, {})).toThrow('init() was not called');
  });
});
