import type { Presence } from '../sdk';
import { aggregatePresence, effectivePresence, type EndpointPresence } from './presence-aggregation';

const ep = (presence: Presence, accountConnected = true, lastActiveAt?: string): EndpointPresence => ({
  presence,
  accountConnected,
  ...(lastActiveAt ? { lastActiveAt } : {}),
});

describe('aggregatePresence', () => {
  it('is unknown for a person with no endpoints', () => {
    expect(aggregatePresence([])).toEqual({ state: 'unknown' });
  });

  it('takes the best state: available > away > busy > offline > unknown', () => {
    const order = ['unknown', 'offline', 'busy', 'away', 'available'] as const;
    for (let better = 1; better < order.length; better++) {
      for (let worse = 0; worse < better; worse++) {
        const endpoints = [ep({ state: order[worse]! }), ep({ state: order[better]! })];
        expect(aggregatePresence(endpoints)).toMatchObject({ state: order[better], decidedBy: 1 });
        expect(aggregatePresence([...endpoints].reverse())).toMatchObject({
          state: order[better],
          decidedBy: 0,
        });
      }
    }
  });

  it('carries the status text and since of the endpoint that decided it', () => {
    const result = aggregatePresence([
      ep({ state: 'busy', status: 'in a meeting' }),
      ep({ state: 'away', status: 'lunch', since: '2026-01-01T12:00:00Z' }),
    ]);
    expect(result).toEqual({ state: 'away', status: 'lunch', since: '2026-01-01T12:00:00Z', decidedBy: 1 });
  });

  it('counts an endpoint of a disconnected account as unknown, not offline, and hides its status', () => {
    expect(effectivePresence(ep({ state: 'available', status: 'here' }, false))).toEqual({
      state: 'unknown',
    });
    expect(
      aggregatePresence([ep({ state: 'available', status: 'stale' }, false), ep({ state: 'offline' })]),
    ).toEqual({
      state: 'offline',
      decidedBy: 1,
    });
    expect(aggregatePresence([ep({ state: 'available', status: 'stale' }, false)])).toEqual({
      state: 'unknown',
      decidedBy: 0,
    });
  });

  it('breaks ties by the most recent since, then lastActiveAt, then input order', () => {
    const older = ep({ state: 'available', status: 'old', since: '2026-01-01T10:00:00Z' });
    const newer = ep({ state: 'available', status: 'new', since: '2026-01-01T11:00:00+00:00' });
    expect(aggregatePresence([older, newer])).toMatchObject({ status: 'new', decidedBy: 1 });
    expect(aggregatePresence([newer, older])).toMatchObject({ status: 'new', decidedBy: 0 });

    const active = ep({ state: 'away', status: 'active' }, true, '2026-01-02T00:00:00Z');
    const noTime = ep({ state: 'away', status: 'no time' });
    expect(aggregatePresence([noTime, active])).toMatchObject({ status: 'active', decidedBy: 1 });
    expect(aggregatePresence([noTime, ep({ state: 'away', status: 'also none' })])).toMatchObject({
      decidedBy: 0,
    });
    expect(aggregatePresence([ep({ state: 'away', since: 'garbage' }), active])).toMatchObject({
      decidedBy: 1,
    });
  });

  it('treats a state outside the vocabulary as unknown', () => {
    expect(aggregatePresence([ep({ state: 'dnd' as Presence['state'] }), ep({ state: 'offline' })])).toEqual({
      state: 'offline',
      decidedBy: 1,
    });
  });
});
