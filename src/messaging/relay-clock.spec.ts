import { MetricsService } from '../api/health/metrics.service';
import { RelayClock } from './relay-clock';

async function counts(metrics: MetricsService): Promise<Record<string, number>> {
  const m = await metrics.relayLatency.get();
  return Object.fromEntries(
    m.values
      .filter((v) => v.metricName === 'switchboard_relay_latency_seconds_count')
      .map((v) => [String(v.labels.adapter), v.value]),
  );
}

describe('RelayClock', () => {
  it('observes a copy once, when it is written, under its target adapter', async () => {
    const metrics = new MetricsService();
    const clock = new RelayClock(metrics);
    clock.received(['a', 'b'], performance.now() - 5);
    clock.done('a', 'xmpp');
    clock.done('a', 'xmpp'); // written twice (a retry after an unconfirmed write): counted once
    clock.done('b', 'irc');
    expect(await counts(metrics)).toEqual({ xmpp: 1, irc: 1 });
    const sum = (await metrics.relayLatency.get()).values.find(
      (v) => v.metricName === 'switchboard_relay_latency_seconds_sum' && v.labels.adapter === 'xmpp',
    )!.value;
    expect(sum).toBeGreaterThanOrEqual(0.005);
  });

  it('forgets a copy that failed for good, and one it never saw', async () => {
    const metrics = new MetricsService();
    const clock = new RelayClock(metrics);
    clock.received(['a'], performance.now());
    clock.done('a'); // failed: not observed
    clock.done('a', 'xmpp'); // gone
    clock.done('unknown', 'xmpp');
    expect(await counts(metrics)).toEqual({});
  });

  it('keeps at most 50,000 waiting copies, dropping the oldest', async () => {
    const metrics = new MetricsService();
    const clock = new RelayClock(metrics);
    const ids = Array.from({ length: 50_010 }, (_, i) => `m${i}`);
    clock.received(ids, performance.now());
    clock.done('m0', 'irc'); // among the 10 oldest, forgotten
    clock.done('m50009', 'irc');
    clock.done('m10', 'irc');
    expect(await counts(metrics)).toEqual({ irc: 2 });
  });
});
