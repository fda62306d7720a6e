import type { Logger } from '../common/logger';
import type { EnqueueResult, QueuePort } from '../queue';
import { OutboxLanes, type DeliverOutcome } from './outbox-lanes';
import { sendJob } from './outbox.jobs';

/** A runner whose writes and outcomes the test releases by hand. */
function scripted() {
  const calls: { ids: string[]; written(): void; finish(o: DeliverOutcome): void }[] = [];
  const runner = (ids: string[], onWritten: () => void) =>
    new Promise<DeliverOutcome>((resolve) => calls.push({ ids, written: onWritten, finish: resolve }));
  return { calls, runner };
}

function lanesWithQueue() {
  const enqueued: string[] = [];
  const queue = {
    enqueueMany: (_q: string, jobs: readonly { data: { messageId: string } }[]) => {
      enqueued.push(...jobs.map((j) => j.data.messageId));
      return Promise.resolve(jobs.map((): EnqueueResult => ({ added: true }) as EnqueueResult));
    },
  } as unknown as QueuePort;
  const logger = { debug: () => undefined, warn: () => undefined } as unknown as Logger;
  return { lanes: new OutboxLanes(queue, logger), enqueued };
}

const flush = () => new Promise((r) => setImmediate(r));
const copies = (conv: string, ...ids: string[]) => ids.map((id) => sendJob(id, conv));

describe('OutboxLanes', () => {
  it('writes the next batch as soon as the previous one is written, before its confirmation', async () => {
    const { lanes } = lanesWithQueue();
    const { calls, runner } = scripted();
    lanes.runner = runner;
    await lanes.send(copies('c', 'm1'));
    expect(calls.map((c) => c.ids)).toEqual([['m1']]);
    await lanes.send(copies('c', 'm2', 'm3'));
    await flush();
    // m1 is not written yet: m2 and m3 wait (order on the wire).
    expect(calls).toHaveLength(1);
    calls[0]!.written();
    await flush();
    // Written, not confirmed: the next batch goes out anyway.
    expect(calls.map((c) => c.ids)).toEqual([['m1'], ['m2', 'm3']]);
    calls[1]!.written();
    // New copies while both wait for confirmation wake the lane.
    await lanes.send(copies('c', 'm4'));
    await flush();
    expect(calls.map((c) => c.ids)).toEqual([['m1'], ['m2', 'm3'], ['m4']]);
    calls[2]!.written();
    for (const c of calls) c.finish({ sent: c.ids.length });
    await flush();
  });

  it('hands failures to the queue in order, and writes nothing more in that run', async () => {
    const { lanes, enqueued } = lanesWithQueue();
    const { calls, runner } = scripted();
    lanes.runner = runner;
    await lanes.send(copies('c', 'a1', 'a2'));
    calls[0]!.written();
    await lanes.send(copies('c', 'b1', 'b2'));
    await flush();
    calls[1]!.written();
    // The later batch's outcome arrives first; it waits for the earlier one's.
    calls[1]!.finish({ sent: 1, failed: { err: new Error('gone') } });
    await flush();
    expect(enqueued).toEqual([]);
    await lanes.send(copies('c', 'c1'));
    await flush();
    calls[0]!.finish({ sent: 1, failed: { err: new Error('gone') } });
    await flush();
    await flush();
    // a2 (unconfirmed in the first batch), then b2, then c1 which had not been written.
    expect(enqueued).toEqual(['a2', 'b2', 'c1']);
    expect(calls).toHaveLength(2);
    // Work is waiting in the queue now: later copies of that conversation queue behind it.
    await lanes.send(copies('c', 'd1'));
    await flush();
    expect(enqueued).toEqual(['a2', 'b2', 'c1', 'd1']);
    expect(calls).toHaveLength(2);
  });

  it('a runner that throws counts as a failure of its whole batch', async () => {
    const { lanes, enqueued } = lanesWithQueue();
    lanes.runner = () => Promise.reject(new Error('boom'));
    await lanes.send(copies('c', 'x1', 'x2'));
    await flush();
    await flush();
    expect(enqueued).toEqual(['x1', 'x2']);
  });

  it('conversations have lanes of their own', async () => {
    const { lanes } = lanesWithQueue();
    const { calls, runner } = scripted();
    lanes.runner = runner;
    await lanes.send([...copies('c', 'm1'), ...copies('d', 'n1')]);
    expect(calls.map((c) => c.ids)).toEqual([['m1'], ['n1']]);
    for (const c of calls) {
      c.written();
      c.finish({ sent: 1 });
    }
    await flush();
  });
});
