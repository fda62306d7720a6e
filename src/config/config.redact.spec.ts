import { buildConfig } from './config.loader';
import { maskUrlCredentials, redactConfig } from './config.redact';

const KEY = Buffer.alloc(32, 9).toString('base64');

describe('redactConfig', () => {
  const config = buildConfig(
    {
      database: { url: 'postgres://sb:db-secret-1@db.internal:5432/sb' },
      queue: { redisUrl: 'redis://:redis-secret-2@cache:6379/0' },
      security: { secretKey: KEY },
      admin: { username: 'root', password: 'admin-secret-3' },
      adapters: [{ id: 'acme', package: 'acme-adapter', options: { apiKey: 'opt-secret-4', region: 'eu' } }],
      accounts: [
        {
          owner: 'root',
          adapter: 'acme',
          label: 'main',
          options: {
            host: 'irc.example.org',
            password: 'opt-secret-5',
            sasl: { mechanism: 'PLAIN', user: 'me', password: 'opt-secret-6' },
            accessToken: 'opt-secret-7',
            servers: [{ url: 'https://me:opt-secret-8@example.org/', token: 'opt-secret-9' }],
            nick: 'me',
          },
        },
      ],
    },
    { cwd: '/srv/sb', adaptersDir: '/nonexistent' },
  );
  const redacted = redactConfig(config);
  const text = JSON.stringify(redacted);

  it('leaves no secret in the output', () => {
    expect(text).not.toMatch(/secret-\d/);
    expect(text).not.toContain(KEY);
  });

  it('masks the keys the schema marks sensitive, and only the password part of URLs', () => {
    expect(redacted).toMatchObject({
      database: { url: 'postgres://sb:***@db.internal:5432/sb' },
      queue: { redisUrl: 'redis://:***@cache:6379/0' },
      security: { secretKey: '***', tokenTtlHours: 720 },
      admin: { username: 'root', password: '***' },
    });
  });

  it('masks secret-looking keys inside options at any depth, keeping the rest', () => {
    expect(redacted).toMatchObject({
      adapters: [{ id: 'acme', options: { apiKey: '***', region: 'eu' } }],
      accounts: [
        {
          owner: 'root',
          label: 'main',
          options: {
            host: 'irc.example.org',
            password: '***',
            sasl: { mechanism: 'PLAIN', user: 'me', password: '***' },
            accessToken: '***',
            servers: [{ url: 'https://me:***@example.org/', token: '***' }],
            nick: 'me',
          },
        },
      ],
    });
  });

  it('does not change the configuration itself, and keeps unset secrets absent', () => {
    expect(config.admin.password).toBe('admin-secret-3');
    const plain = redactConfig(buildConfig({}, { cwd: '/srv/sb', adaptersDir: '/nonexistent' }));
    expect(plain).toMatchObject({ admin: { username: 'admin' } });
    expect((plain as { admin: object }).admin).not.toHaveProperty('password');
  });

  it('works on a raw, file-shaped object too', () => {
    expect(redactConfig({ security: { secretKey: 'raw' }, accounts: [{ options: { pass: 'x' } }] })).toEqual({
      security: { secretKey: '***' },
      accounts: [{ options: { pass: '***' } }],
    });
  });
});

describe('maskUrlCredentials', () => {
  it.each([
    ['postgres://u:p@h/db', 'postgres://u:***@h/db'],
    ['redis://token@h:6379', 'redis://***@h:6379'],
    ['https://example.org/a@b', 'https://example.org/a@b'],
    ['not a url', 'not a url'],
  ])('%s → %s', (input, output) => {
    expect(maskUrlCredentials(input)).toBe(output);
  });
});
