import { EventEmitter } from 'node:events';
import { Socket as NetSocket } from 'node:net';
import { checkServerIdentity, connect, type ConnectionOptions, type TLSSocket } from 'node:tls';

/** How the server's certificate is trusted: the system CAs, one given PEM, or one pinned sha256 fingerprint. */
export type TlsTrust =
  { kind: 'system' } | { kind: 'pem'; pem: string } | { kind: 'fingerprint'; sha256: string };

export function parseTrust(trustedCertificate: string | undefined): TlsTrust {
  if (trustedCertificate === undefined) return { kind: 'system' };
  const t = trustedCertificate.trim();
  if (t.includes('-----BEGIN CERTIFICATE-----')) return { kind: 'pem', pem: t };
  return { kind: 'fingerprint', sha256: normalizeFingerprint(t) };
}

export const normalizeFingerprint = (f: string): string => f.replace(/:/g, '').toUpperCase();

export class TlsVerificationError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'TlsVerificationError';
  }
}

/**
 * The node:tls options for a server of `domain`. The certificate is always checked against the JID's
 * domain (never the host we dialled, which may be an IP or a different name), and against the system CAs
 * or the one PEM the account trusts. A pinned fingerprint replaces both checks: it names one certificate.
 */
export function tlsOptions(domain: string, trust: TlsTrust): ConnectionOptions {
  const base: ConnectionOptions = {
    servername: domain,
    minVersion: 'TLSv1.2',
    checkServerIdentity: (_host, cert) => checkServerIdentity(domain, cert),
  };
  switch (trust.kind) {
    case 'system':
      return { ...base, rejectUnauthorized: true };
    case 'pem':
      return { ...base, rejectUnauthorized: true, ca: [trust.pem] };
    case 'fingerprint':
      // Checked by TlsSocket on secureConnect, before a byte of XMPP is written.
      return { ...base, rejectUnauthorized: false };
  }
}

/**
 * The socket @xmpp/connection drives (the same event shape as @xmpp/tls's Socket), over node:tls with our
 * trust policy. Used for direct TLS and for the STARTTLS upgrade of a plain socket.
 */
export class TlsSocket extends EventEmitter {
  socket?: TLSSocket;

  constructor(private readonly trust: TlsTrust = { kind: 'system' }) {
    super();
  }

  connect(options: ConnectionOptions): void {
    const socket = connect(options);
    this.socket = socket;
    // Stanzas go out as they are written (no Nagle delay behind an unacknowledged one). For STARTTLS the
    // plain socket underneath carries the bytes, so it is set too.
    socket.setNoDelay(true);
    if (options.socket instanceof NetSocket) options.socket.setNoDelay(true);
    socket.on('secureConnect', () => {
      const problem = this.verify(socket);
      if (problem) {
        socket.destroy();
        this.emit('error', problem);
        return;
      }
      this.emit('connect');
    });
    socket.on('data', (d: Buffer) => this.emit('data', d));
    socket.on('error', (e: Error) => this.emit('error', toVerificationError(e)));
    socket.on('close', (hadError: boolean) => this.emit('close', hadError));
  }

  private verify(socket: TLSSocket): Error | undefined {
    if (this.trust.kind !== 'fingerprint') {
      // rejectUnauthorized already refused anything else; this is a second guard.
      return socket.authorized
        ? undefined
        : new TlsVerificationError(
            `the server certificate is not trusted: ${String(socket.authorizationError)}`,
            'tls_untrusted',
          );
    }
    const seen = normalizeFingerprint(socket.getPeerCertificate().fingerprint256 ?? '');
    return seen === this.trust.sha256
      ? undefined
      : new TlsVerificationError(
          `the server certificate's sha256 fingerprint ${seen} is not the trusted one`,
          'tls_fingerprint_mismatch',
        );
  }

  end(): void {
    this.socket?.end();
  }

  write(data: string, cb?: (err?: Error | null) => void): void {
    if (!this.socket) {
      cb?.(new Error('socket not connected'));
      return;
    }
    // As bytes: a stanza serialized by ltx is a rope of every piece concatenated, and a string waiting in
    // the socket's queue (a server slow to read, e.g. 6,500 disco#info answers after login) kept the whole
    // rope alive long enough to reach the old generation: some 25 MB of the gateway's peak at a cold start.
    this.socket.write(Buffer.from(data, 'utf8'), cb);
  }
}

/**
 * The TCP (or TLS) socket under an @xmpp/connection entity's socket, whichever kind it is: our TlsSocket
 * wrapper (direct TLS, or after STARTTLS) or the plain socket before it.
 */
export function transportSocket(sock: unknown): NetSocket | undefined {
  if (sock instanceof TlsSocket) return sock.socket;
  return sock instanceof NetSocket ? sock : undefined;
}

/** Node's certificate errors carry codes (DEPTH_ZERO_SELF_SIGNED_CERT, ERR_TLS_CERT_ALTNAME_INVALID …). */
function toVerificationError(e: Error): Error {
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|UNABLE_TO_GET_ISSUER/.test(code))
    return new TlsVerificationError(`the server certificate is not trusted: ${e.message}`, 'tls_untrusted');
  return e;
}
