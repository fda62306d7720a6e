import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/common/logger';
import type { AppConfig } from '../../src/config';
import { ClientEventsService } from '../../src/events/client-events.service';
import { openDatabase } from '../../src/storage';

/**
 * `at` orders the event log for clients resuming with `?since=<at>`. A burst is stamped ahead of the clock
 * (one millisecond per event), so a restarted process must go on from the last stamp, not from its clock.
 */
describe('client event stamps', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sb-event-stamps-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const service = async () => {
    const ds = await openDatabase({ kind: 'sqlite', path: join(dir, 'db.sqlite') });
    const config = { events: { replayLimit: 1000, retentionHours: 24 } } as AppConfig;
    const events = new ClientEventsService(
      ds,
      config,
      createLogger({ level: 'error', format: 'json' }, {}, () => {}),
    );
    return {
      events,
      close: async () => {
        events.onModuleDestroy();
        await ds.destroy();
      },
    };
  };

  it('stay strictly increasing across a restart after a burst', async () => {
    const userId = '00000000-0000-4000-8000-000000000001';
    const first = await service();
    const burst = await first.events.publishMany(
      userId,
      Array.from({ length: 3000 }, (_, i) => ({ type: 'presence.changed' as const, data: { i } })),
    );
    await first.close();
    const lastAt = Date.parse(burst[burst.length - 1]!.at);
    expect(lastAt).toBeGreaterThan(Date.now()); // the burst ran ahead of the clock

    const second = await service();
    const next = await second.events.publish(userId, 'contact.updated', {});
    expect(Date.parse(next.at)).toBeGreaterThan(lastAt);
    // A client that saw the burst's last frame and resumes from its `at` gets the new event.
    const { frames } = await second.events.replay(userId, burst[burst.length - 1]!.at);
    expect(frames.map((f) => f.seq)).toEqual([next.seq]);
    await second.close();
  });
});
