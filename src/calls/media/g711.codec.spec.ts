import { decodeG711, encodeG711, linearToUlaw, ulawToLinear } from './g711.codec';
import { sineSource, toneRatio } from './goertzel';

describe('G.711', () => {
  it.each(['PCMU', 'PCMA'] as const)('%s round-trips a tone within the codec error', (codec) => {
    const pcm = sineSource(1000)(800);
    const back = decodeG711(codec, encodeG711(codec, pcm));
    for (let i = 0; i < pcm.length; i++)
      expect(Math.abs(back[i]! - pcm[i]!)).toBeLessThanOrEqual(Math.abs(pcm[i]!) / 16 + 16);
    expect(toneRatio(back, 8000, 1000)).toBeGreaterThan(0.9);
  });
  it('maps silence to the μ-law zero code and back', () => {
    expect(linearToUlaw(0)).toBe(0xff);
    expect(ulawToLinear(0xff)).toBe(0);
  });
});

describe('Goertzel', () => {
  it('finds the tone that is there and not the one that is not', () => {
    const s = sineSource(440)(1600);
    expect(toneRatio(s, 8000, 440)).toBeGreaterThan(0.9);
    expect(toneRatio(s, 8000, 1000)).toBeLessThan(0.05);
    expect(toneRatio(new Int16Array(100), 8000, 440)).toBe(0);
  });
});
