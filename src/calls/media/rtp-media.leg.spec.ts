import { sineSource, toneRatio } from './goertzel';
import { RtpMediaLeg, SdpError } from './rtp-media.leg';

describe('RtpMediaLeg', () => {
  const legs: RtpMediaLeg[] = [];
  afterEach(() => legs.splice(0).forEach((l) => l.close()));

  it('negotiates G.711 over SDP and carries a tone each way', async () => {
    const a = await RtpMediaLeg.open('127.0.0.1');
    const b = await RtpMediaLeg.open('127.0.0.1');
    legs.push(a, b);
    const answer = b.answer(a.offer(['PCMA', 'PCMU']));
    expect(answer).toContain('a=rtpmap:8 PCMA/8000');
    a.applyAnswer(answer);
    expect([a.codec, b.codec]).toEqual(['PCMA', 'PCMA']);
    a.play(sineSource(1000));
    b.play(sineSource(440));
    const got = { a: [] as number[], b: [] as number[] };
    a.onAudio((p) => got.a.push(...p));
    b.onAudio((p) => got.b.push(...p));
    while (got.a.length < 1600 || got.b.length < 1600) await new Promise((r) => setTimeout(r, 20));
    const at = Int16Array.from(got.a.slice(0, 1600));
    const bt = Int16Array.from(got.b.slice(0, 1600));
    expect(toneRatio(bt, 8000, 1000)).toBeGreaterThan(0.8);
    expect(toneRatio(at, 8000, 440)).toBeGreaterThan(0.8);
    expect(a.stats.firstPacketAt).toBeDefined();
  });

  it('refuses an offer without a common codec or with SRTP, saying why', async () => {
    const a = await RtpMediaLeg.open('127.0.0.1');
    legs.push(a);
    const opusOnly =
      'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n' +
      'm=audio 4000 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n';
    expect(() => a.answer(opusOnly)).toThrow(
      new SdpError('no common codec: they offer OPUS; we have PCMU, PCMA'),
    );
    expect(() => a.answer(opusOnly.replace('RTP/AVP', 'UDP/TLS/RTP/SAVPF'))).toThrow(/plain RTP/);
    expect(() => a.answer('v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n')).toThrow(/no active audio/);
  });
});
