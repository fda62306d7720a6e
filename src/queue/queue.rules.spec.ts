import { QueueError } from './queue.port';
import {
  DEFAULT_BACKOFF,
  backoffDelay,
  fnv1a32,
  normalizeJob,
  partitionOf,
  resolveQueueOptions,
  validateQueueName,
} from './queue.rules';

describe('backoffDelay', () => {
  const b = { baseMs: 100, factor: 2, capMs: 1000, jitter: 0 };

  it('grows by the factor from the base after each failed attempt', () => {
    expect([1, 2, 3, 4].map((a) => backoffDelay(a, b))).toEqual([100, 200, 400, 800]);
  });

  it('never exceeds the cap, even for huge attempt numbers', () => {
    expect(backoffDelay(5, b)).toBe(1000);
    expect(backoffDelay(10_000, b)).toBe(1000);
  });

  it('with jitter draws from [d·(1−jitter), d]', () => {
    const j = { ...b, jitter: 0.5 };
    expect(backoffDelay(3, j, () => 0)).toBe(400);
    expect(backoffDelay(3, j, () => 1)).toBe(200);
    expect(backoffDelay(3, j, () => 0.5)).toBe(300);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(4, { ...DEFAULT_BACKOFF });
      expect(d).toBeGreaterThanOrEqual(8000 * (1 - DEFAULT_BACKOFF.jitter));
      expect(d).toBeLessThanOrEqual(8000);
    }
  });

  it('factor 1 is a constant delay', () => {
    expect(backoffDelay(7, { ...b, factor: 1 })).toBe(100);
  });
});

describe('resolveQueueOptions', () => {
  it('fills defaults', () => {
    const o = resolveQueueOptions();
    expect(o.backoff).toEqual(DEFAULT_BACKOFF);
    expect(o.defaultMaxAttempts).toBe(10);
  });

  it.each([
    [{ backoff: { factor: 0.5 } }, /factor/],
    [{ backoff: { jitter: 2 } }, /jitter/],
    [{ backoff: { baseMs: 5000, capMs: 10 } }, /capMs/],
    [{ defaultMaxAttempts: 0 }, /defaultMaxAttempts/],
    [{ leaseMs: Number.NaN }, /leaseMs/],
  ])('rejects %j with a clear error', (opts, message) => {
    expect(() => resolveQueueOptions(opts)).toThrow(message);
    expect(() => resolveQueueOptions(opts)).toThrow(QueueError);
  });
});

describe('validateQueueName', () => {
  it.each(['outbox', 'ingest_1', 'a-b'])('accepts %s', (n) => expect(validateQueueName(n)).toBe(n));
  it.each(['', 'a:b', 'a.b', '-x', 'x'.repeat(65), 'with space'])('rejects %j', (n) => {
    expect(() => validateQueueName(n)).toThrow(QueueError);
  });
});

describe('normalizeJob', () => {
  it('stores data as JSON and applies the default maxAttempts', () => {
    expect(normalizeJob({ id: 'a', data: { x: 1 }, group: 'g' }, 7)).toEqual({
      id: 'a',
      json: '{"x":1}',
      group: 'g',
      delayMs: 0,
      maxAttempts: 7,
    });
  });

  it.each([
    [{ id: '', data: 1 }, /job id/],
    [{ id: 'a', data: undefined }, /JSON/],
    [{ id: 'a', data: 1n }, /JSON/],
    [{ id: 'a', data: 1, delayMs: -1 }, /delayMs/],
    [{ id: 'a', data: 1, maxAttempts: 0 }, /maxAttempts/],
    [{ id: 'a', data: 1, group: '' }, /group/],
  ])('rejects %p', (spec, message) => {
    expect(() => normalizeJob(spec as never, 3)).toThrow(message);
  });

  it('rejects cyclic data', () => {
    const data: Record<string, unknown> = {};
    data.self = data;
    expect(() => normalizeJob({ id: 'a', data }, 3)).toThrow(/JSON/);
  });
});

describe('partitionOf', () => {
  it('is FNV-1a (known vectors), so every process maps a group to the same partition', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('stays in range and spreads groups over the partitions', () => {
    const counts = new Array<number>(16).fill(0);
    for (let i = 0; i < 1600; i++) {
      const p = partitionOf(`!room${i}:example.org`, 16);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(16);
      counts[p]! += 1;
    }
    for (const c of counts) expect(c).toBeGreaterThan(50);
  });
});
