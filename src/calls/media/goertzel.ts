/**
 * The Goertzel algorithm: the power of one frequency in a block of samples, relative to the block's
 * total power (0..1). Cheaper than an FFT when only a few tones matter (DTMF, test tones).
 */
export function toneRatio(samples: Int16Array, sampleRate: number, freq: number): number {
  const n = samples.length;
  if (n === 0) return 0;
  const k = Math.round((n * freq) / sampleRate);
  const w = (2 * Math.PI * k) / n;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  let energy = 0;
  for (let i = 0; i < n; i++) {
    const x = samples[i]!;
    energy += x * x;
    const s0 = x + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return energy === 0 ? 0 : (2 * power) / (n * energy);
}

/** A tone source: `next(n)` returns the next n samples of a sine at `freq` Hz. */
export function sineSource(freq: number, sampleRate = 8000, amplitude = 8000) {
  let phase = 0;
  return (n: number): Int16Array => {
    const out = new Int16Array(n);
    const step = (2 * Math.PI * freq) / sampleRate;
    for (let i = 0; i < n; i++) {
      out[i] = Math.round(amplitude * Math.sin(phase));
      phase += step;
    }
    phase %= 2 * Math.PI;
    return out;
  };
}
