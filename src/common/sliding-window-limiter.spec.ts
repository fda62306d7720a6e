import { SlidingWindowLimiter } from './sliding-window-limiter';

describe('SlidingWindowLimiter', () => {
  it('blocks after maxAttempts failures within the window and frees the key after it', () => {
    let now = 1_000_000;
    const rl = new SlidingWindowLimiter(3, 60_000, () => now);
    for (let i = 0; i < 3; i++) {
      expect(rl.retryAfter('alice|1.2.3.4')).toBe(0);
      rl.record('alice|1.2.3.4');
    }
    expect(rl.retryAfter('alice|1.2.3.4')).toBe(60_000);
    expect(rl.retryAfter('bob|1.2.3.4')).toBe(0);
    now += 60_001;
    expect(rl.retryAfter('alice|1.2.3.4')).toBe(0);
  });

  it('forgets failures after a successful login', () => {
    const rl = new SlidingWindowLimiter(1, 60_000);
    rl.record('k');
    expect(rl.retryAfter('k')).toBeGreaterThan(0);
    rl.reset('k');
    expect(rl.retryAfter('k')).toBe(0);
  });
});
