import { matrixLoginKey, matrixOptionsSchema } from './matrix.options';

describe('Matrix login key', () => {
  const key = (o: Record<string, unknown>) =>
    matrixLoginKey(
      matrixOptionsSchema.parse({ homeserverUrl: 'https://matrix.example.org', password: 'pw', ...o }),
    );

  it("is the user's localpart at the homeserver, case-folded, whatever the URL or id spelling", () => {
    expect(key({ userId: '@Alice:example.org' })).toBe('alice at https://matrix.example.org');
    // The localpart alone logs in as the same user on that server.
    expect(key({ userId: 'alice' })).toBe(key({ userId: '@alice:example.org' }));
    expect(key({ userId: '@alice:example.org', homeserverUrl: 'https://Matrix.Example.org/' })).toBe(
      key({ userId: '@alice:example.org' }),
    );
    expect(key({ userId: '@alice:example.org', accessToken: 'tok', password: undefined })).toBe(
      key({ userId: '@alice:example.org' }),
    );
  });

  it('differs for another user or homeserver', () => {
    expect(key({ userId: '@bob:example.org' })).not.toBe(key({ userId: '@alice:example.org' }));
    expect(key({ userId: 'alice', homeserverUrl: 'http://127.0.0.1:8008' })).not.toBe(
      key({ userId: 'alice' }),
    );
  });
});
