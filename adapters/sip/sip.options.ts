import { z } from '@switchboard/sdk';

/** A SIP URI as accounts and contacts are written: `sip:user@domain` (no port or parameters). */
export const SIP_AOR = /^sips?:[^@\s:;]+@[a-z0-9.-]+$/i;

/** What one SIP account needs (API.md: `{registrar, uri, username, password, transport?}`). */
export const sipOptionsSchema = z.object({
  /** The registrar and outbound proxy: `host`, `host:port` or `sip:host:port`. */
  registrar: z
    .string()
    .regex(/^(sips?:)?[a-z0-9.-]+(:\d{1,5})?$/i, 'expected host, host:port or sip:host:port'),
  /** The account's address of record, `sip:user@domain`. */
  uri: z.string().regex(SIP_AOR, 'expected sip:user@domain'),
  /** The digest user name (often the URI's user part). */
  username: z.string().min(1),
  password: z.string().min(1),
  /** ws (SIP over WebSocket) is a browser transport; this adapter speaks UDP and TCP. */
  transport: z.enum(['udp', 'tcp']).default('udp'),
  /** The local address SIP binds to and puts in Via/Contact. */
  localAddress: z.ipv4().default('127.0.0.1'),
  /** The local SIP port; a free one is picked when left out. */
  localPort: z.number().int().min(1).max(65535).optional(),
  /** Registration lifetime asked of the registrar, in seconds. */
  expires: z.number().int().min(30).max(86_400).default(300),
  /**
   * Seconds between OPTIONS pings to the registrar. No answer within 5 s means the path is down: the
   * account reports `transient_disconnect` and registers again once the registrar answers (a restarted
   * registrar has forgotten our binding, and over UDP nothing else would tell us).
   */
  keepaliveSeconds: z.number().int().min(1).max(3600).default(30),
});

export type SipOptions = z.infer<typeof sipOptionsSchema>;

/** `host`, `host:port`, `sip:host:port` → host and port (5060 by default). */
export function parseRegistrar(r: string): { host: string; port: number } {
  const m = /^(?:sips?:)?([a-z0-9.-]+)(?::(\d+))?$/i.exec(r);
  if (!m) throw new Error(`bad registrar ${r}`);
  return { host: m[1]!, port: m[2] ? Number(m[2]) : 5060 };
}

/** The address-of-record form of any SIP URI: scheme, user and host (no port, parameters or display name). */
export function aorOf(uri: string): string {
  const m = /^(sips?):([^@;>]+)@([^;:>]+)/i.exec(uri.replace(/^.*</, ''));
  return m ? `${m[1]!.toLowerCase()}:${m[2]!}@${m[3]!.toLowerCase()}` : uri;
}

/** The login an account uses (SDK `loginKey`): its address of record at that registrar. */
export function sipLoginKey(o: SipOptions): string {
  const { host, port } = parseRegistrar(o.registrar);
  return `${aorOf(o.uri)} at ${host.toLowerCase()}:${port}`;
}
