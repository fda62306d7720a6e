import type xml from '@xmpp/xml';
import type { IceServerInfo } from '@switchboard/sdk';

export const NS_EXTDISCO = 'urn:xmpp:extdisco:2';

/**
 * The STUN/TURN services of an XEP-0215 `<services/>` answer as ICE servers. Services without a host or
 * of other types are skipped; a TURN service the server gives no credentials for is still listed (some
 * relays accept anonymous allocations, and the client then learns why it fails).
 */
export function iceServersFromExtdisco(services: xml.Element | undefined): IceServerInfo[] {
  if (!services) return [];
  const out: IceServerInfo[] = [];
  for (const s of services.getChildren('service')) {
    const type = s.attrs.type;
    const host = s.attrs.host;
    if (!host || (type !== 'stun' && type !== 'turn' && type !== 'turns')) continue;
    if (!/^[a-z0-9.:[\]-]+$/i.test(host)) continue; // nothing that could smuggle URL syntax
    const port = s.attrs.port && /^\d{1,5}$/.test(s.attrs.port) ? `:${s.attrs.port}` : '';
    const transport =
      type !== 'stun' && (s.attrs.transport === 'udp' || s.attrs.transport === 'tcp')
        ? `?transport=${s.attrs.transport}`
        : '';
    out.push({
      urls: [`${type}:${host}${port}${transport}`],
      ...(s.attrs.username !== undefined ? { username: s.attrs.username } : {}),
      ...(s.attrs.password !== undefined ? { credential: s.attrs.password } : {}),
      ...(s.attrs.expires !== undefined && !Number.isNaN(Date.parse(s.attrs.expires))
        ? { expiresAt: new Date(s.attrs.expires).toISOString() }
        : {}),
    });
  }
  return out;
}
