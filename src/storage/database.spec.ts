import { StorageError, dataSourceOptions, describeStorage } from './database';

describe('describeStorage', () => {
  it('names the database without credentials', () => {
    expect(describeStorage({ kind: 'sqlite', path: 'data/switchboard.db' })).toBe(
      'sqlite data/switchboard.db',
    );
    expect(
      describeStorage({ kind: 'postgres', url: 'postgres://sb:hunter2@db.internal:6543/switchboard' }),
    ).toBe('postgres db.internal:6543/switchboard');
    expect(describeStorage({ kind: 'postgres', url: 'not a url' })).toBe('postgres (unparsable URL)');
  });
});

describe('dataSourceOptions', () => {
  it('never synchronizes and migrates in one transaction', () => {
    for (const cfg of [
      { kind: 'sqlite', path: '/tmp/x.db' },
      { kind: 'postgres', url: 'postgres://localhost/sb' },
    ] as const) {
      const o = dataSourceOptions(cfg);
      expect(o.synchronize).toBe(false);
      expect(o.migrationsRun).toBe(false);
      expect(o.migrationsTransactionMode).toBe('all');
    }
    expect(dataSourceOptions({ kind: 'sqlite', path: '/tmp/x.db' })).toMatchObject({
      type: 'better-sqlite3',
      enableWAL: true,
      timeout: 5000,
    });
  });

  it('rejects a bad DATABASE_URL or an empty SQLite path with a clear error', () => {
    expect(() => dataSourceOptions({ kind: 'postgres', url: 'localhost:5432' })).toThrow(/postgres:\/\//);
    expect(() => dataSourceOptions({ kind: 'postgres', url: 'mysql://localhost/sb' })).toThrow(
      /must start with postgres:\/\//,
    );
    expect(() => dataSourceOptions({ kind: 'postgres', url: '::' })).toThrow(StorageError);
    expect(() => dataSourceOptions({ kind: 'sqlite', path: '' })).toThrow(/path is empty/);
  });
});
