import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fakeHub } from '../fixtures/fake-adapter';
import { ADMIN_PASSWORD, Api, startTestGateway } from '../support/gateway';

/**
 * One account per network login and user (ADR 0016): the fake adapter's `loginKey` is its user at its
 * network. What the API refuses, what a restart does with duplicates made before the rule, and what the
 * config file may not declare. (Both databases: test/api/gateway-api.test.ts runs the API part on
 * PostgreSQL as well.)
 */
describe('one account per network login', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sb-logins-'));
  const login = (user: string, network = 'net1') => ({
    adapter: 'fake',
    options: { network, user, password: `${user}-password` },
  });

  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
    fakeHub.reset();
  });

  it('keeps the older of two accounts made before the rule, reports the newer at boot, and refuses a third', async () => {
    fakeHub.reset();
    const first = await startTestGateway({ dataDir });
    let original: string;
    try {
      const admin = await new Api(first.gw.url).login('admin', ADMIN_PASSWORD);
      const r = await admin.call('POST', '/api/v1/accounts', { ...login('alice'), label: 'first' });
      expect(r.status).toBe(201);
      original = r.json.id as string;
    } finally {
      await first.stop();
    }

    // A database from before the rule: no keys, and a second account on the same login.
    const db = new Database(path.join(dataDir, 'switchboard.sqlite'));
    try {
      db.prepare('UPDATE accounts SET loginKey = NULL').run();
      const row = db.prepare('SELECT * FROM accounts WHERE id = ?').get(original) as Record<string, unknown>;
      db.prepare(
        `INSERT INTO accounts (id, ownerId, adapterId, label, loginKey, options, secrets, enabled, state,
           stateMessage, createdAt, updatedAt)
         VALUES (@id, @ownerId, @adapterId, 'second', NULL, @options, @secrets, @enabled, @state, NULL,
           @createdAt, @updatedAt)`,
      ).run({ ...row, id: 'aaaaaaaa-0000-4000-8000-000000000001', createdAt: Number(row.createdAt) + 1 });
    } finally {
      db.close();
    }

    const second = await startTestGateway({ dataDir });
    try {
      const admin = await new Api(second.gw.url).login('admin', ADMIN_PASSWORD);
      // Nothing is deleted or stopped behind the user's back: both are still there.
      const list = await admin.call('GET', '/api/v1/accounts');
      expect(list.json.map((a: { label: string }) => a.label)).toEqual(['first', 'second']);
      const warned = second.logs().filter((l) => l.includes('log in to the same network login'));
      expect(warned).toHaveLength(1);
      expect(JSON.parse(warned[0]!)).toMatchObject({
        account: 'aaaaaaaa-0000-4000-8000-000000000001',
        sameAs: original,
      });
      const keys = new Database(path.join(dataDir, 'switchboard.sqlite'), { readonly: true });
      try {
        expect(keys.prepare('SELECT label, loginKey FROM accounts ORDER BY createdAt').all()).toEqual([
          { label: 'first', loginKey: 'alice at net1' },
          { label: 'second', loginKey: null },
        ]);
      } finally {
        keys.close();
      }
      // The older one holds the login: a new account on it is refused, naming it.
      const third = await admin.call('POST', '/api/v1/accounts', login('alice'));
      expect(third.status).toBe(409);
      expect(third.json.error.code).toBe('CONFLICT');
      expect(third.json.error.message).toContain(original);
    } finally {
      await second.stop();
    }
  });

  it('refuses a config file that declares one login twice for one owner, naming both entries', async () => {
    const account = (label: string, user: string) => ({
      owner: 'admin',
      adapter: 'fake',
      label,
      options: { network: 'net-cfg', user, password: 'pw' },
    });
    await expect(
      startTestGateway({
        accounts: [account('one', 'carol'), account('two', 'dave'), account('three', 'carol')],
      }),
    ).rejects.toThrow(
      /accounts\[2\] \(adapter "fake", label "three"\): the same fake login as accounts\[0\]/,
    );
  });
});
