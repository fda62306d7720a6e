import xml from '@xmpp/xml';
import * as sdpTransform from 'sdp-transform';

/**
 * SDP ⇄ Jingle for RTP sessions: XEP-0166 (Jingle), XEP-0167 (RTP), XEP-0176 (ICE-UDP), XEP-0320 (DTLS
 * fingerprints), XEP-0293 (rtcp-fb), XEP-0294 (header extensions), XEP-0338 (grouping/BUNDLE) and
 * XEP-0339 (sources). Parsing and writing SDP is sdp-transform's; this file only moves fields between
 * the two shapes. Used by the call signalling over XMPP (the SDP is the gateway's or the web client's).
 */

export const NS = {
  jingle: 'urn:xmpp:jingle:1',
  rtp: 'urn:xmpp:jingle:apps:rtp:1',
  rtcpFb: 'urn:xmpp:jingle:apps:rtp:rtcp-fb:0',
  hdrExt: 'urn:xmpp:jingle:apps:rtp:rtp-hdrext:0',
  ssma: 'urn:xmpp:jingle:apps:rtp:ssma:0',
  iceUdp: 'urn:xmpp:jingle:transports:ice-udp:1',
  dtls: 'urn:xmpp:jingle:apps:dtls:0',
  grouping: 'urn:xmpp:jingle:apps:grouping:0',
} as const;

export type JingleRole = 'initiator' | 'responder';
type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
type Senders = 'both' | 'initiator' | 'responder' | 'none';

export class JingleMappingError extends Error {
  override name = 'JingleMappingError';
}

/** The senders attribute from the SDP direction of `role`'s own description (XEP-0167 §5). */
function sendersOf(direction: Direction, role: JingleRole): Senders {
  const other: JingleRole = role === 'initiator' ? 'responder' : 'initiator';
  switch (direction) {
    case 'sendrecv':
      return 'both';
    case 'sendonly':
      return role;
    case 'recvonly':
      return other;
    case 'inactive':
      return 'none';
  }
}

function directionOf(senders: string | undefined, role: JingleRole): Direction {
  if (senders === undefined || senders === 'both') return 'sendrecv';
  if (senders === 'none') return 'inactive';
  return senders === role ? 'sendonly' : 'recvonly';
}

const str = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;

/**
 * The `<content/>` elements (and the BUNDLE `<group/>`) of an SDP, as `role` describes its side. Only
 * RTP media are mapped; a data channel or a media line without ICE credentials is refused.
 */
export function sdpToJingle(sdp: string, role: JingleRole): xml.Element[] {
  const s = sdpTransform.parse(sdp);
  const out: xml.Element[] = [];
  const bundle = s.groups?.find((g) => g.type === 'BUNDLE');
  if (bundle)
    out.push(
      xml(
        'group',
        { xmlns: NS.grouping, semantics: 'BUNDLE' },
        ...String(bundle.mids)
          .split(' ')
          .filter(Boolean)
          .map((m) => xml('content', { name: m })),
      ),
    );
  for (const [i, m] of s.media.entries()) {
    if (m.type !== 'audio' && m.type !== 'video')
      throw new JingleMappingError(`media "${m.type}" has no RTP mapping in Jingle here`);
    const name = str(m.mid) ?? String(i);
    const ufrag = m.iceUfrag ?? s.iceUfrag;
    const pwd = m.icePwd ?? s.icePwd;
    if (!ufrag || !pwd) throw new JingleMappingError(`media ${name} has no ICE credentials`);
    const fingerprint = m.fingerprint ?? s.fingerprint;
    const setup = m.setup ?? s.setup;
    const payloads = String(m.payloads ?? '')
      .split(' ')
      .filter(Boolean)
      .map(Number);
    const description = xml(
      'description',
      { xmlns: NS.rtp, media: m.type },
      ...payloads.map((pt) => {
        const rtp = m.rtp.find((r) => r.payload === pt);
        const fmtp = m.fmtp.find((f) => f.payload === pt);
        const parsed = fmtp ? sdpTransform.parseParams(fmtp.config) : {};
        // A bare fmtp value (RED's "111/111") is not name=value: it is kept whole, as a nameless parameter.
        const named = Object.values(parsed).every((v) => v !== undefined);
        const params = named ? parsed : {};
        return xml(
          'payload-type',
          {
            id: pt,
            ...(rtp ? { name: rtp.codec, clockrate: rtp.rate } : {}),
            ...(rtp?.encoding !== undefined ? { channels: rtp.encoding } : {}),
          },
          ...Object.entries(params).map(([k, v]) => xml('parameter', { name: k, value: String(v) })),
          ...(fmtp && !named ? [xml('parameter', { name: '', value: fmtp.config })] : []),
          ...(m.rtcpFb ?? [])
            .filter((f) => String(f.payload) === String(pt))
            .map((f) => xml('rtcp-fb', { xmlns: NS.rtcpFb, type: f.type, subtype: f.subtype })),
        );
      }),
      ...(m.ext ?? []).map((e) => xml('rtp-hdrext', { xmlns: NS.hdrExt, id: e.value, uri: e.uri })),
      ...(m.rtcpMux ? [xml('rtcp-mux')] : []),
      ...[...new Set((m.ssrcs ?? []).map((x) => x.id))].map((id) =>
        xml(
          'source',
          { xmlns: NS.ssma, ssrc: id },
          ...(m.ssrcs ?? [])
            .filter((x) => x.id === id)
            .map((x) => xml('parameter', { name: x.attribute, value: x.value })),
        ),
      ),
    );
    const transport = xml(
      'transport',
      { xmlns: NS.iceUdp, ufrag, pwd },
      ...(fingerprint
        ? [xml('fingerprint', { xmlns: NS.dtls, hash: fingerprint.type, setup }, fingerprint.hash)]
        : []),
      ...(m.candidates ?? []).map((c, k) =>
        xml('candidate', {
          component: c.component,
          foundation: c.foundation,
          generation: c.generation ?? 0,
          id: `${name}-${k}`,
          ip: c.ip,
          network: 0,
          port: c.port,
          priority: c.priority,
          protocol: c.transport.toLowerCase(),
          type: c.type,
          ...(c.raddr !== undefined ? { 'rel-addr': c.raddr } : {}),
          ...(c.rport !== undefined ? { 'rel-port': c.rport } : {}),
        }),
      ),
    );
    out.push(
      xml(
        'content',
        {
          creator: 'initiator',
          name,
          senders: sendersOf(m.direction ?? s.direction ?? 'sendrecv', role),
        },
        description,
        transport,
      ),
    );
  }
  return out;
}

/** An SDP from a Jingle element's contents (`jingle` is `<jingle/>`), as `role`'s side describes itself. */
export function jingleToSdp(jingle: xml.Element, role: JingleRole, sessionId = '1'): string {
  const contents = jingle.getChildren('content');
  if (contents.length === 0) throw new JingleMappingError('the Jingle element has no content');
  const group = jingle.getChild('group', NS.grouping);
  const media = contents.map((c): sdpTransform.MediaDescription => {
    const d = c.getChild('description', NS.rtp);
    const t = c.getChild('transport', NS.iceUdp);
    if (!d) throw new JingleMappingError(`content ${c.attrs.name ?? ''} is not an RTP description`);
    if (!t) throw new JingleMappingError(`content ${c.attrs.name ?? ''} has no ICE-UDP transport`);
    const pts = d.getChildren('payload-type');
    const fp = t.getChild('fingerprint', NS.dtls);
    const candidates = t.getChildren('candidate');
    const type = d.attrs.media ?? 'audio';
    const sources = d.getChildren('source', NS.ssma);
    return {
      type,
      port: 9,
      protocol: fp ? 'UDP/TLS/RTP/SAVPF' : 'RTP/AVPF',
      payloads: pts.map((p) => p.attrs.id).join(' '),
      connection: { version: 4, ip: '0.0.0.0' },
      mid: c.attrs.name ?? '0',
      direction: directionOf(c.attrs.senders, role),
      iceUfrag: t.attrs.ufrag ?? '',
      icePwd: t.attrs.pwd ?? '',
      ...(fp
        ? {
            fingerprint: { type: fp.attrs.hash ?? 'sha-256', hash: fp.text() },
            setup: fp.attrs.setup ?? 'actpass',
          }
        : {}),
      rtp: pts
        .filter((p) => p.attrs.name)
        .map((p) => ({
          payload: Number(p.attrs.id),
          codec: p.attrs.name!,
          rate: Number(p.attrs.clockrate),
          ...(p.attrs.channels ? { encoding: Number(p.attrs.channels) } : {}),
        })),
      fmtp: pts.flatMap((p) => {
        const params = p.getChildren('parameter');
        if (params.length === 0) return [];
        const config = params
          .map((x) => (x.attrs.name ? `${x.attrs.name}=${x.attrs.value ?? ''}` : (x.attrs.value ?? '')))
          .join(';');
        return [{ payload: Number(p.attrs.id), config }];
      }),
      rtcpFb: pts.flatMap((p) =>
        p.getChildren('rtcp-fb', NS.rtcpFb).map((f) => ({
          payload: Number(p.attrs.id),
          type: f.attrs.type ?? '',
          ...(f.attrs.subtype ? { subtype: f.attrs.subtype } : {}),
        })),
      ),
      ext: d
        .getChildren('rtp-hdrext', NS.hdrExt)
        .map((e) => ({ value: Number(e.attrs.id), uri: e.attrs.uri ?? '' })),
      ...(d.getChild('rtcp-mux') ? { rtcpMux: 'rtcp-mux' } : {}),
      ssrcs: sources.flatMap((src) =>
        src.getChildren('parameter').map((p) => ({
          id: Number(src.attrs.ssrc),
          attribute: p.attrs.name ?? '',
          ...(p.attrs.value !== undefined ? { value: p.attrs.value } : {}),
        })),
      ),
      candidates: candidates.map((x) => ({
        foundation: x.attrs.foundation ?? '0',
        component: Number(x.attrs.component ?? 1),
        transport: x.attrs.protocol ?? 'udp',
        priority: Number(x.attrs.priority ?? 0),
        ip: x.attrs.ip ?? '',
        port: Number(x.attrs.port ?? 0),
        type: x.attrs.type ?? 'host',
        ...(x.attrs['rel-addr'] !== undefined ? { raddr: x.attrs['rel-addr'] } : {}),
        ...(x.attrs['rel-port'] !== undefined ? { rport: Number(x.attrs['rel-port']) } : {}),
        generation: Number(x.attrs.generation ?? 0),
      })),
    };
  });
  const bundle = group?.attrs.semantics === 'BUNDLE' ? group.getChildren('content') : [];
  return sdpTransform.write({
    version: 0,
    origin: {
      username: '-',
      sessionId,
      sessionVersion: 2,
      netType: 'IN',
      ipVer: 4,
      address: '127.0.0.1',
    },
    name: '-',
    timing: { start: 0, stop: 0 },
    ...(bundle.length
      ? { groups: [{ type: 'BUNDLE', mids: bundle.map((b) => b.attrs.name).join(' ') }] }
      : {}),
    media,
  });
}
