import { readFileSync } from 'node:fs';
import path from 'node:path';
import xml from '@xmpp/xml';
import * as sdpTransform from 'sdp-transform';
import { jingleToSdp, JingleMappingError, NS, sdpToJingle } from './xmpp-jingle.mapper';

const fixture = (name: string) => readFileSync(path.join(__dirname, 'fixtures', name), 'utf8');

/** What both shapes must agree on for a call to work, per media line. */
function essentials(sdp: string) {
  const s = sdpTransform.parse(sdp);
  return {
    bundle: s.groups?.find((g) => g.type === 'BUNDLE')?.mids,
    media: s.media.map((m) => ({
      type: m.type,
      mid: String(m.mid),
      payloads: String(m.payloads),
      direction: m.direction ?? s.direction,
      rtp: m.rtp.map((r) => [r.payload, r.codec.toLowerCase(), r.rate, r.encoding]),
      fmtp: m.fmtp.map((f) => [f.payload, f.config]),
      rtcpFb: (m.rtcpFb ?? []).map((f) => [Number(f.payload), f.type, f.subtype]),
      ext: (m.ext ?? []).map((e) => [e.value, e.uri]),
      rtcpMux: m.rtcpMux !== undefined,
      ice: [m.iceUfrag ?? s.iceUfrag, m.icePwd ?? s.icePwd],
      fingerprint: [(m.fingerprint ?? s.fingerprint)?.type, (m.fingerprint ?? s.fingerprint)?.hash],
      setup: m.setup ?? s.setup,
      candidates: (m.candidates ?? []).map((c) => [
        c.foundation,
        c.component,
        c.ip,
        c.port,
        c.type,
        c.priority,
      ]),
      ssrcs: (m.ssrcs ?? []).map((x) => [x.id, x.attribute, x.value]),
    })),
  };
}

const wrap = (children: xml.Element[]) =>
  xml('jingle', { xmlns: NS.jingle, action: 'session-initiate', sid: 's1' }, ...children);

describe('SDP ⇄ Jingle on real offers', () => {
  it.each(['chromium-audio-offer.sdp', 'werift-audio-offer.sdp'])('%s survives the round trip', (name) => {
    const sdp = fixture(name);
    const jingle = wrap(sdpToJingle(sdp, 'initiator'));
    expect(essentials(jingleToSdp(jingle, 'initiator'))).toEqual(essentials(sdp));
    // And the Jingle itself says what XEP-0167/0176/0320 say it should.
    const content = jingle.getChild('content')!;
    expect(content.attrs).toMatchObject({ creator: 'initiator', name: '0', senders: 'both' });
    expect(content.getChild('description', NS.rtp)!.attrs.media).toBe('audio');
    const transport = content.getChild('transport', NS.iceUdp)!;
    expect(transport.attrs.ufrag).toBe(sdpTransform.parse(sdp).media[0]!.iceUfrag);
    expect(transport.getChild('fingerprint', NS.dtls)!.attrs.setup).toBe('actpass');
    expect(jingle.getChild('group', NS.grouping)!.attrs.semantics).toBe('BUNDLE');
  });

  it('maps the chromium offer codecs with their parameters and feedback', () => {
    const d = wrap(sdpToJingle(fixture('chromium-audio-offer.sdp'), 'initiator'))
      .getChild('content')!
      .getChild('description', NS.rtp)!;
    const opus = d.getChildByAttr('id', '111')!;
    expect(opus.attrs).toMatchObject({ name: 'opus', clockrate: '48000', channels: '2' });
    expect(opus.getChildren('parameter').map((p) => [p.attrs.name, p.attrs.value])).toEqual([
      ['minptime', '10'],
      ['useinbandfec', '1'],
    ]);
    expect(opus.getChild('rtcp-fb', NS.rtcpFb)!.attrs.type).toBe('transport-cc');
    expect(d.getChildren('payload-type').map((p) => p.attrs.name)).toEqual([
      'opus',
      'red',
      'G722',
      'PCMU',
      'PCMA',
      'CN',
      'telephone-event',
      'telephone-event',
    ]);
  });

  it.each([
    ['sendrecv', 'initiator', 'both'],
    ['sendonly', 'initiator', 'initiator'],
    ['recvonly', 'initiator', 'responder'],
    ['sendonly', 'responder', 'responder'],
    ['inactive', 'responder', 'none'],
  ] as const)('direction %s from the %s is senders=%s, and back', (direction, role, senders) => {
    const sdp = fixture('werift-audio-offer.sdp').replace('a=sendrecv', `a=${direction}`);
    const jingle = wrap(sdpToJingle(sdp, role));
    expect(jingle.getChild('content')!.attrs.senders).toBe(senders);
    expect(sdpTransform.parse(jingleToSdp(jingle, role)).media[0]!.direction).toBe(direction);
  });

  it('refuses what it cannot map, saying why', () => {
    const data = fixture('werift-audio-offer.sdp').replace(
      'm=audio 9 UDP/TLS/RTP/SAVPF 96 0',
      'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    );
    expect(() => sdpToJingle(data, 'initiator')).toThrow(JingleMappingError);
    const noIce = fixture('werift-audio-offer.sdp').replace(/a=ice-(ufrag|pwd):.*\r?\n/g, '');
    expect(() => sdpToJingle(noIce, 'initiator')).toThrow('media 0 has no ICE credentials');
    expect(() => jingleToSdp(xml('jingle', { xmlns: NS.jingle }), 'responder')).toThrow('no content');
  });
});
