/** G.711 μ-law (PCMU) and A-law (PCMA), the codecs every SIP phone has; 8 kHz mono, one byte a sample. */

const BIAS = 0x84;
const CLIP = 32635;

export function linearToUlaw(sample: number): number {
  let s = Math.max(-32768, Math.min(32767, Math.round(sample)));
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  if (s > CLIP) s = CLIP;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

export function ulawToLinear(byte: number): number {
  const u = ~byte & 0xff;
  const sign = u & 0x80;
  const exponent = (u >> 4) & 0x07;
  const mantissa = u & 0x0f;
  const magnitude = (((mantissa << 3) + BIAS) << exponent) - BIAS;
  return sign ? -magnitude : magnitude;
}

export function linearToAlaw(sample: number): number {
  let s = Math.max(-32768, Math.min(32767, Math.round(sample)));
  const sign = s >= 0 ? 0x80 : 0;
  if (s < 0) s = -s - 1;
  let out: number;
  if (s < 256) out = s >> 4;
  else {
    let exponent = 7;
    for (let mask = 0x4000; (s & mask) === 0 && exponent > 1; mask >>= 1) exponent--;
    out = (exponent << 4) | ((s >> (exponent + 3)) & 0x0f);
  }
  return (out | sign) ^ 0x55;
}

export function alawToLinear(byte: number): number {
  const a = byte ^ 0x55;
  const exponent = (a >> 4) & 0x07;
  const mantissa = a & 0x0f;
  let magnitude = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  if (!(a & 0x80)) magnitude = -magnitude;
  return magnitude;
}

export type G711Codec = 'PCMU' | 'PCMA';

export function encodeG711(codec: G711Codec, pcm: Int16Array): Buffer {
  const out = Buffer.alloc(pcm.length);
  const enc = codec === 'PCMU' ? linearToUlaw : linearToAlaw;
  for (let i = 0; i < pcm.length; i++) out[i] = enc(pcm[i]!);
  return out;
}

export function decodeG711(codec: G711Codec, bytes: Uint8Array): Int16Array {
  const out = new Int16Array(bytes.length);
  const dec = codec === 'PCMU' ? ulawToLinear : alawToLinear;
  for (let i = 0; i < bytes.length; i++) out[i] = dec(bytes[i]!);
  return out;
}
