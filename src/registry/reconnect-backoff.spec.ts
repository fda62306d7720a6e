import { backoffCeiling, backoffDelay, DEFAULT_RECONNECT_POLICY } from './reconnect-backoff';

describe('reconnect backoff', () => {
  const p = DEFAULT_RECONNECT_POLICY;

  it('doubles from 1 s and stops at 5 min', () => {
    const ceilings = Array.from({ length: 12 }, (_, i) => backoffCeiling(i, p));
    expect(ceilings).toEqual([
      1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000, 300000, 300000, 300000,
    ]);
    expect(backoffCeiling(10_000, p)).toBe(300000);
  });

  it('draws the delay uniformly below the ceiling (full jitter)', () => {
    expect(backoffDelay(3, p, () => 0)).toBe(0);
    expect(backoffDelay(3, p, () => 0.5)).toBe(4000);
    expect(backoffDelay(3, p, () => 0.999)).toBe(7992);
    expect(backoffDelay(3, p, () => 7)).toBe(8000);
  });
});
