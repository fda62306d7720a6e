import { codecsInSdp, endReasonOf } from './sip.client';

describe('SIP call outcomes', () => {
  it.each([
    [486, 'busy'],
    [600, 'busy'],
    [603, 'rejected'],
    [403, 'rejected'],
    [480, 'no_answer'],
    [408, 'no_answer'],
    [487, 'no_answer'],
    [404, 'failed'],
    [488, 'failed'],
    [503, 'failed'],
  ])('a final %i ends the call as %s', (status, reason) => {
    expect(endReasonOf(status)).toBe(reason);
  });
});

describe('codecsInSdp', () => {
  it('lists rtpmap names once, and PCMU for a bare static payload 0', () => {
    const sdp =
      'v=0\r\nm=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n' +
      'a=rtpmap:8 PCMA/8000\r\n';
    expect(codecsInSdp(sdp)).toEqual(['PCMA', 'telephone-event', 'PCMU']);
    expect(codecsInSdp('v=0\r\n')).toEqual([]);
  });
});
