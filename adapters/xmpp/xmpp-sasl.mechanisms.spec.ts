import { Plain, ScramSha1, ScramSha256 } from './xmpp-sasl.mechanisms';

const bin = (s: string) => Buffer.from(s, 'utf8').toString('latin1');

describe('SCRAM mechanisms', () => {
  it('follows the RFC 5802 SCRAM-SHA-1 example exchange', () => {
    const m = new ScramSha1(() => 'fyko+d2lbbFgONRv9qkxdawL');
    const cred = { username: 'user', password: 'pencil' };
    expect(m.response(cred)).toBe('n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL');
    m.challenge('r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096');
    expect(m.response(cred)).toBe(
      'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=',
    );
    expect(() => m.challenge('v=rmF9pqV8S7suAoZWja4dJRkFsKQ=')).not.toThrow();
  });

  it('follows the RFC 7677 SCRAM-SHA-256 example exchange and checks the server signature', () => {
    const m = new ScramSha256(() => 'rOprNGfwEbeRWgbNEkqO');
    const cred = { username: 'user', password: 'pencil' };
    expect(m.response(cred)).toBe('n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
    m.challenge('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096');
    expect(m.response(cred)).toBe(
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    );
    expect(() => m.challenge('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')).not.toThrow();
    expect(() => m.challenge('v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=')).toThrow(/signature/);
  });

  it('refuses a server nonce that does not extend ours, and absurd iteration counts', () => {
    const cred = { username: 'u', password: 'p' };
    const a = new ScramSha1(() => 'abc');
    a.response(cred);
    a.challenge('r=zzz,s=QSXCR+Q6sek8bf92,i=4096');
    expect(() => a.response(cred)).toThrow(/nonce/);
    const b = new ScramSha256(() => 'abc');
    b.response(cred);
    b.challenge('r=abcdef,s=QSXCR+Q6sek8bf92,i=999999999');
    expect(() => b.response(cred)).toThrow(/iteration/);
  });

  it('escapes = and , in the username and sends UTF-8', () => {
    const m = new ScramSha1(() => 'n');
    expect(m.response({ username: 'a=b,ü', password: 'x' })).toBe(bin('n,,n=a=3Db=2Cü,r=n'));
  });

  it('PLAIN carries the credentials as UTF-8', () => {
    expect(new Plain().response({ username: 'alice', password: 'pä' })).toBe(bin('\u0000alice\u0000pä'));
  });
});
