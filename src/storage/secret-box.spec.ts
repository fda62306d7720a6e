import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretBox, SecretBoxError, loadOrCreateKeyFile, secretBoxFromEnvOrKeyFile } from './secret-box';

const KEY_A = Buffer.alloc(32, 7).toString('base64');
const KEY_B = Buffer.alloc(32, 9).toString('base64');

function errorOf(fn: () => unknown): SecretBoxError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SecretBoxError) return err;
    throw err;
  }
  throw new Error('expected a SecretBoxError');
}

describe('SecretBox', () => {
  const box = SecretBox.fromBase64Key(KEY_A);

  it('round-trips text, including empty and non-ASCII text', () => {
    for (const text of ['hunter2', '', 'pässwörd ✓ 🔑', 'x'.repeat(10_000)])
      expect(box.open(box.seal(text))).toBe(text);
  });

  it('uses a fresh nonce for every seal and never contains the plaintext', () => {
    const a = box.seal('same secret');
    const b = box.seal('same secret');
    expect(a).not.toBe(b);
    expect(a).not.toContain('same secret');
    expect(a).toMatch(new RegExp(`^sb1:${box.keyId}:[A-Za-z0-9_-]+$`));
  });

  it('refuses a value sealed with another key, naming both key ids', () => {
    const other = SecretBox.fromBase64Key(KEY_B);
    const err = errorOf(() => other.open(box.seal('x')));
    expect(err.code).toBe('wrong_key');
    expect(err.message).toContain(box.keyId);
    expect(err.message).toContain(other.keyId);
  });

  it('detects tampering with the ciphertext', () => {
    const sealed = box.seal('transfer 10 coins');
    const [v, kid, data] = sealed.split(':') as [string, string, string];
    const raw = Buffer.from(data, 'base64url');
    raw[14] = (raw[14] ?? 0) ^ 1;
    const err = errorOf(() => box.open(`${v}:${kid}:${raw.toString('base64url')}`));
    expect(err.code).toBe('tampered');
  });

  it('refuses a value whose key id was edited', () => {
    const sealed = box.seal('x');
    const forged = sealed.replace(`:${box.keyId}:`, ':00000000:');
    expect(errorOf(() => box.open(forged)).code).toBe('wrong_key');
  });

  it('rejects malformed input clearly', () => {
    for (const bad of ['', 'plain text', 'sb2:abcdef01:AAAA', 'sb1:nothex!!:AAAA', 'sb1:abcdef01']) {
      expect(errorOf(() => box.open(bad)).code).toBe('malformed');
    }
    expect(errorOf(() => box.open(`sb1:${box.keyId}:AAAA`)).code).toBe('malformed');
  });

  it('validates the key and names SWITCHBOARD_SECRET_KEY', () => {
    for (const bad of [
      '',
      'not base64 !!',
      Buffer.alloc(16).toString('base64'),
      Buffer.alloc(33).toString('base64'),
    ]) {
      const err = errorOf(() => SecretBox.fromBase64Key(bad));
      expect(err.code).toBe('bad_key');
      expect(err.message).toContain('SWITCHBOARD_SECRET_KEY');
    }
    expect(SecretBox.fromBase64Key(Buffer.alloc(32, 7).toString('base64url')).keyId).toBe(box.keyId);
    expect(SecretBox.fromBase64Key(`  ${KEY_A}\n`).keyId).toBe(box.keyId);
  });
});

describe('loadOrCreateKeyFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sb-key-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates secret.key with mode 0600 once and returns the same key afterwards', () => {
    const dataDir = join(dir, 'nested', 'data');
    const key = loadOrCreateKeyFile(dataDir);
    const file = join(dataDir, 'secret.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').trim()).toBe(key);
    expect(loadOrCreateKeyFile(dataDir)).toBe(key);
    expect(() => SecretBox.fromBase64Key(key)).not.toThrow();
  });

  it('prefers the environment key and reports a damaged key file by path', () => {
    expect(secretBoxFromEnvOrKeyFile(KEY_A, dir).keyId).toBe(SecretBox.fromBase64Key(KEY_A).keyId);
    writeFileSync(join(dir, 'secret.key'), 'garbage\n');
    const err = errorOf(() => secretBoxFromEnvOrKeyFile(undefined, dir));
    expect(err.message).toContain(join(dir, 'secret.key'));
  });
});
