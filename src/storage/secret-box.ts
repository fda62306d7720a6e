import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Seals account secrets (passwords, tokens) before they reach the database: AES-256-GCM, a fresh random
 * 12-byte nonce per seal. Sealed form: `sb1:<keyId>:<base64url(nonce ‖ ciphertext ‖ tag)>`, where keyId
 * names the key (first 8 hex digits of its SHA-256) so a wrong key is reported as such, and the
 * `sb1:<keyId>` prefix is authenticated data, so it cannot be swapped either.
 */
const VERSION = 'sb1';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
export const SECRET_KEY_ENV = 'SWITCHBOARD_SECRET_KEY';
export const SECRET_KEY_FILE = 'secret.key';

export type SecretBoxErrorCode = 'bad_key' | 'malformed' | 'wrong_key' | 'tampered';

export class SecretBoxError extends Error {
  constructor(
    readonly code: SecretBoxErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SecretBoxError';
  }
}

export class SecretBox {
  /** Names the key without revealing it. */
  readonly keyId: string;
  private readonly key: Buffer;

  constructor(key: Uint8Array) {
    if (key.length !== KEY_BYTES) {
      throw new SecretBoxError('bad_key', `a SecretBox key must be ${KEY_BYTES} bytes, got ${key.length}`);
    }
    this.key = Buffer.from(key);
    this.keyId = createHash('sha256').update(this.key).digest('hex').slice(0, 8);
  }

  /** A key as SWITCHBOARD_SECRET_KEY holds it: 32 bytes in base64 (`openssl rand -base64 32`). */
  static fromBase64Key(key: string): SecretBox {
    const trimmed = key.trim();
    const hint = `${SECRET_KEY_ENV} must be ${KEY_BYTES} random bytes in base64 (44 characters; make one with \`openssl rand -base64 32\`)`;
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) {
      throw new SecretBoxError('bad_key', `${hint}; the value given is not base64`);
    }
    const bytes = Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (bytes.length !== KEY_BYTES) {
      throw new SecretBoxError('bad_key', `${hint}; the value given decodes to ${bytes.length} bytes`);
    }
    return new SecretBox(bytes);
  }

  static generateKey(): string {
    return randomBytes(KEY_BYTES).toString('base64');
  }

  seal(plaintext: string): string {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    cipher.setAAD(this.header());
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return `${VERSION}:${this.keyId}:${Buffer.concat([nonce, body, tag]).toString('base64url')}`;
  }

  open(sealed: string): string {
    const parts = sealed.split(':');
    if (parts.length !== 3 || parts[0] !== VERSION || !/^[0-9a-f]{8}$/.test(parts[1] ?? '')) {
      throw new SecretBoxError('malformed', `not a sealed secret (expected ${VERSION}:<keyId>:<data>)`);
    }
    const keyId = parts[1] as string;
    if (keyId !== this.keyId) {
      throw new SecretBoxError(
        'wrong_key',
        `this secret was sealed with key ${keyId} but the configured key is ${this.keyId}; ` +
          `set ${SECRET_KEY_ENV} (or the data directory's ${SECRET_KEY_FILE}) to the key it was sealed with`,
      );
    }
    const raw = Buffer.from(parts[2] ?? '', 'base64url');
    if (raw.length < NONCE_BYTES + TAG_BYTES)
      throw new SecretBoxError('malformed', 'sealed secret is truncated');
    const nonce = raw.subarray(0, NONCE_BYTES);
    const tag = raw.subarray(raw.length - TAG_BYTES);
    const body = raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.key, nonce);
    decipher.setAAD(this.header(keyId));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError(
        'tampered',
        `sealed secret failed authentication (altered, or sealed with another key of id ${keyId})`,
      );
    }
  }

  private header(keyId = this.keyId): Buffer {
    return Buffer.from(`${VERSION}:${keyId}`, 'utf8');
  }
}

/**
 * The embedded default's key: `<dataDir>/secret.key`, created with mode 0600 on first start. Returns the
 * key in base64 (pass it to SecretBox.fromBase64Key). Losing this file makes stored secrets unreadable.
 */
export function loadOrCreateKeyFile(dataDir: string): string {
  const file = join(dataDir, SECRET_KEY_FILE);
  mkdirSync(dataDir, { recursive: true });
  if (!existsSync(file)) {
    // Written whole to a private temp file, then linked into place: link() fails if the key appeared
    // meanwhile, so two processes starting at once never overwrite (or half-read) each other's key.
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(tmp, `${SecretBox.generateKey()}\n`, { mode: 0o600, flag: 'wx' });
    try {
      linkSync(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      unlinkSync(tmp);
    }
  }
  return readFileSync(file, 'utf8').trim();
}

/** SWITCHBOARD_SECRET_KEY when set, else the data directory's key file (created when missing). */
export function secretBoxFromEnvOrKeyFile(envKey: string | undefined, dataDir: string): SecretBox {
  if (envKey !== undefined && envKey.trim() !== '') return SecretBox.fromBase64Key(envKey);
  const file = join(dataDir, SECRET_KEY_FILE);
  try {
    return SecretBox.fromBase64Key(loadOrCreateKeyFile(dataDir));
  } catch (err) {
    if (err instanceof SecretBoxError) {
      throw new SecretBoxError(
        'bad_key',
        `${file} does not hold a valid key (${err.message}); restore it from a backup`,
      );
    }
    throw err;
  }
}
