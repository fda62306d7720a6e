import { maskSecretOptions, mergeSecretOptions, SECRET_MASK, splitSecretOptions } from './secret-options';

describe('secret options', () => {
  const options = {
    host: 'irc.example.org',
    password: 'p1',
    sasl: { mechanism: 'PLAIN', user: 'u', password: 'p2' },
    channels: ['#a'],
  };
  const paths = ['password', 'sasl.password', 'token'];

  it('splits the secret paths out and leaves the rest', () => {
    const { public: pub, secrets } = splitSecretOptions(options, paths);
    expect(pub).toEqual({
      host: 'irc.example.org',
      sasl: { mechanism: 'PLAIN', user: 'u' },
      channels: ['#a'],
    });
    expect(secrets).toEqual({ password: 'p1', sasl: { password: 'p2' } });
    expect(options.sasl.password).toBe('p2');
  });

  it('merges back to the original options', () => {
    const { public: pub, secrets } = splitSecretOptions(options, paths);
    expect(mergeSecretOptions(pub, secrets)).toEqual(options);
    expect(mergeSecretOptions(pub, undefined)).toEqual(pub);
  });

  it('merges a whole-object secret', () => {
    const { public: pub, secrets } = splitSecretOptions(options, ['sasl']);
    expect(pub).not.toHaveProperty('sasl');
    expect(mergeSecretOptions(pub, secrets)).toEqual(options);
  });

  it('masks present secrets only', () => {
    expect(maskSecretOptions(options, paths)).toEqual({
      ...options,
      password: SECRET_MASK,
      sasl: { ...options.sasl, password: SECRET_MASK },
    });
  });

  it('refuses non-object options with a clear error', () => {
    expect(() => splitSecretOptions('x', paths)).toThrow('account options must be an object');
    expect(() => splitSecretOptions({}, ['a..b'])).toThrow('empty segment');
  });
});
