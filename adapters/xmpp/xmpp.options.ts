import { z } from '@switchboard/sdk';

/** A bare JID: `local@domain`, no resource. Kept simple: the server is the authority on stringprep. */
const JID_PATTERN = /^[^@/\s"&'<>:]+@[^@/\s]+$/;
const SHA256_FINGERPRINT = /^(?:[0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{64}$/;

export const xmppOptionsSchema = z
  .object({
    /** `xmpp://host:port` (STARTTLS) or `xmpps://host:port` (direct TLS). Overrides host/port/tls. */
    service: z
      .string()
      .regex(
        /^xmpps?:\/\/[^/\s:]+(?::\d{1,5})?$/,
        'service must look like xmpp://host:5222 or xmpps://host:5223',
      )
      .optional(),
    host: z.string().min(1).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    jid: z.string().regex(JID_PATTERN, 'jid must be a bare JID such as alice@example.org'),
    password: z.string().min(1),
    tls: z.enum(['starttls', 'direct', 'none']).default('starttls'),
    /** Needed together with `tls: 'none'`: plaintext is never chosen by accident. */
    allowPlaintext: z.boolean().default(false),
    resource: z.string().min(1).max(64).optional(),
    /**
     * Trust this server certificate explicitly (self-hosted servers): a PEM certificate, used as the only
     * trust anchor and still checked against the JID's domain, or a sha256 fingerprint of the server's
     * certificate (pinning: that exact certificate is accepted).
     */
    trustedCertificate: z
      .string()
      .refine(
        (v) => SHA256_FINGERPRINT.test(v.trim()) || v.includes('-----BEGIN CERTIFICATE-----'),
        'trustedCertificate must be a PEM certificate or a sha256 fingerprint (AB:CD:…)',
      )
      .optional(),
    /** Largest stanza accepted from the server, in bytes; a bigger one closes the stream. */
    maxStanzaBytes: z
      .number()
      .int()
      .min(4096)
      .max(64 * 1024 * 1024)
      .default(1024 * 1024),
    /** Deepest element nesting accepted inside one stanza. */
    maxDepth: z.number().int().min(8).max(1000).default(64),
    /**
     * Seconds between XEP-0199 pings to the server; a ping unanswered for as long drops the connection
     * (a silently dead TCP path is otherwise only noticed when a write fails).
     */
    keepaliveSeconds: z.number().int().min(2).max(3600).default(60),
    /** MUC rooms joined at connect, as `room@conference.example.org` (optionally `/nick`). */
    rooms: z.array(z.string().min(3)).default([]),
    /** Nick in MUC rooms when none is given (default: the JID's local part). */
    nick: z.string().min(1).max(64).optional(),
  })
  .superRefine((o, ctx) => {
    if (o.tls === 'none' && !o.allowPlaintext)
      ctx.addIssue({
        code: 'custom',
        path: ['allowPlaintext'],
        message: "tls 'none' sends the password unencrypted: set allowPlaintext: true to allow it",
      });
    if (o.port !== undefined && o.host === undefined && o.service === undefined)
      ctx.addIssue({ code: 'custom', path: ['host'], message: 'port needs host' });
  });

export type XmppOptions = z.infer<typeof xmppOptionsSchema>;

export interface XmppEndpoint {
  /** `xmpp://host:port` or `xmpps://host:port`, as @xmpp/connection expects. */
  service: string;
  host: string;
  port: number;
  /** The JID's domain: the stream's `to`, the TLS server name, and the name the certificate must carry. */
  domain: string;
  tls: 'starttls' | 'direct' | 'none';
}

/** Where to connect. Without service or host, the JID's domain on the standard port (no SRV lookup yet). */
export function resolveEndpoint(o: XmppOptions): XmppEndpoint {
  const domain = o.jid.slice(o.jid.indexOf('@') + 1).toLowerCase();
  if (o.service !== undefined) {
    const m = /^(xmpps?):\/\/([^/:]+)(?::(\d+))?$/.exec(o.service);
    if (!m) throw new Error(`bad service ${o.service}`);
    const direct = m[1] === 'xmpps';
    const host = m[2] ?? domain;
    const port = m[3] !== undefined ? Number(m[3]) : direct ? 5223 : 5222;
    const tls = direct ? 'direct' : o.tls === 'none' ? 'none' : 'starttls';
    return { service: `${direct ? 'xmpps' : 'xmpp'}://${host}:${port}`, host, port, domain, tls };
  }
  const host = o.host ?? domain;
  const port = o.port ?? (o.tls === 'direct' ? 5223 : 5222);
  return {
    service: `${o.tls === 'direct' ? 'xmpps' : 'xmpp'}://${host}:${port}`,
    host,
    port,
    domain,
    tls: o.tls,
  };
}

/** The login an account uses (SDK `loginKey`): its bare JID at the server it connects to. */
export function xmppLoginKey(o: XmppOptions): string {
  const { host, port } = resolveEndpoint(o);
  return `${o.jid.toLowerCase()} at ${host.toLowerCase()}:${port}`;
}
