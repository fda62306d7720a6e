import { SendQueue } from './irc-send.queue';

describe('SendQueue (token bucket)', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('lets a burst through at once, then one line per interval, in order', async () => {
    const q = new SendQueue(2, 1000);
    const sent: number[] = [];
    const all = [1, 2, 3, 4].map((n) => q.push(() => sent.push(n)));
    await jest.advanceTimersByTimeAsync(0);
    expect(sent).toEqual([1, 2]);
    await jest.advanceTimersByTimeAsync(1000);
    expect(sent).toEqual([1, 2, 3]);
    await jest.advanceTimersByTimeAsync(1000);
    expect(sent).toEqual([1, 2, 3, 4]);
    await Promise.all(all);
  });

  it('fails lines still waiting when it is closed', async () => {
    const q = new SendQueue(1, 1000);
    const first = q.push(() => 'a');
    const second = q.push(() => 'b');
    await jest.advanceTimersByTimeAsync(0);
    await expect(first).resolves.toBe('a');
    q.close();
    await expect(second).rejects.toThrow('closed');
  });

  it('passes a write failure to its caller and goes on with the next line', async () => {
    const q = new SendQueue(5, 0);
    await expect(
      q.push(() => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    await expect(q.push(() => 'next')).resolves.toBe('next');
  });
});
