import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * SASL mechanisms in the shape the `saslmechanisms` factory under @xmpp/sasl expects (a constructor with
 * `name`, `clientFirst`, `response(cred)`, `challenge(data)`), written here because the published
 * `sasl-scram-sha-1` 1.3+ answers challenges asynchronously, which @xmpp/sasl 0.13 sends as an empty
 * response. Strings in and out are binary (latin1) strings, as @xmpp/base64 handles them.
 */
export interface SaslCredentials {
  username: string;
  password: string;
}

export interface SaslMechanism {
  readonly name: string;
  readonly clientFirst: boolean;
  response(cred: SaslCredentials): string;
  challenge(data: string): this;
}

const utf8ToBinary = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');
const binaryToUtf8 = (s: string): string => Buffer.from(s, 'latin1').toString('utf8');
/** RFC 5802 saslname: `=` and `,` escaped. */
const saslname = (s: string): string => s.replace(/=/g, '=3D').replace(/,/g, '=2C');
/** SASLprep, approximated by NFKC (RFC 4013 maps and normalizes with KC; prohibited output is rare in passwords). */
const prep = (s: string): string => s.normalize('NFKC');

export class ScramError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScramError';
  }
}

/** Most PBKDF2 iterations accepted from a server: a hostile one could otherwise pin the CPU. */
const MAX_ITERATIONS = 1_000_000;

export interface SaslMechanismClass {
  new (nonce?: () => string): SaslMechanism;
  /** The factory matches offered mechanisms by this name. */
  readonly mechanismName: string;
}

function scram(name: string, hash: 'sha1' | 'sha256', keyLen: number): SaslMechanismClass {
  return class Scram implements SaslMechanism {
    static readonly mechanismName = name;
    readonly name = name;
    readonly clientFirst = true;
    private stage: 'initial' | 'challenge' | 'final' = 'initial';
    private clientNonce = '';
    private clientFirstBare = '';
    private serverFirst = '';
    private serverSignature?: Buffer;

    /** `nonce` is for tests (RFC test vectors); the SASL factory constructs without arguments. */
    constructor(private readonly nonce: () => string = () => randomBytes(18).toString('base64')) {}

    response(cred: SaslCredentials): string {
      switch (this.stage) {
        case 'initial': {
          this.clientNonce = this.nonce();
          this.clientFirstBare = `n=${saslname(prep(cred.username))},r=${this.clientNonce}`;
          this.stage = 'challenge';
          return utf8ToBinary(`n,,${this.clientFirstBare}`);
        }
        case 'challenge': {
          const attrs = parseAttrs(this.serverFirst);
          const nonce = attrs.get('r');
          const salt = attrs.get('s');
          const iterations = Number(attrs.get('i'));
          if (!nonce?.startsWith(this.clientNonce) || nonce === this.clientNonce)
            throw new ScramError('the server nonce does not extend ours');
          if (!salt || !Number.isInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS)
            throw new ScramError('the server sent an unusable salt or iteration count');
          const salted = pbkdf2Sync(
            prep(cred.password),
            Buffer.from(salt, 'base64'),
            iterations,
            keyLen,
            hash,
          );
          const clientKey = createHmac(hash, salted).update('Client Key').digest();
          const storedKey = createHash(hash).update(clientKey).digest();
          const withoutProof = `c=${Buffer.from('n,,').toString('base64')},r=${nonce}`;
          const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
          const signature = createHmac(hash, storedKey).update(authMessage).digest();
          const proof = Buffer.from(clientKey.map((b, i) => b ^ (signature[i] ?? 0)));
          const serverKey = createHmac(hash, salted).update('Server Key').digest();
          this.serverSignature = createHmac(hash, serverKey).update(authMessage).digest();
          this.stage = 'final';
          return utf8ToBinary(`${withoutProof},p=${proof.toString('base64')}`);
        }
        case 'final':
          return '';
      }
    }

    challenge(data: string): this {
      const text = binaryToUtf8(data);
      if (this.stage === 'challenge') this.serverFirst = text;
      else if (this.stage === 'final') {
        // Server-final as a challenge (some servers): check the server knows the password too.
        const v = parseAttrs(text).get('v');
        if (v !== undefined && this.serverSignature) {
          const got = Buffer.from(v, 'base64');
          if (got.length !== this.serverSignature.length || !timingSafeEqual(got, this.serverSignature))
            throw new ScramError('the server signature does not match');
        }
      }
      return this;
    }
  };
}

function parseAttrs(s: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of s.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) m.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return m;
}

export const ScramSha256 = scram('SCRAM-SHA-256', 'sha256', 32);
export const ScramSha1 = scram('SCRAM-SHA-1', 'sha1', 20);

/** RFC 4616 PLAIN; only ever offered over TLS (the connection factory refuses plaintext SASL otherwise). */
export class Plain implements SaslMechanism {
  static readonly mechanismName = 'PLAIN';
  readonly name = 'PLAIN';
  readonly clientFirst = true;
  constructor(_nonce?: () => string) {}
  response(cred: SaslCredentials): string {
    return utf8ToBinary(`\u0000${cred.username}\u0000${cred.password}`);
  }
  challenge(): this {
    return this;
  }
}
