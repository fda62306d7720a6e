import type { RedisQueueConfig } from './bullmq-queue.driver';
import { EmbeddedQueueDriver, type EmbeddedQueueConfig } from './embedded-queue.driver';
import { QueueError, type QueuePort } from './queue.port';
import { resolveQueueOptions, type QueueOptions } from './queue.rules';

export type QueueConfig = EmbeddedQueueConfig | RedisQueueConfig;

/**
 * The queue for this process: embedded (a SQLite file, single node) or BullMQ over Redis (cluster, chosen
 * when REDIS_URL is set). Options are validated here; a bad value throws a QueueError('invalid-argument').
 */
export function createQueue(cfg: QueueConfig, opts: QueueOptions = {}): QueuePort {
  const resolved = resolveQueueOptions(opts);
  switch (cfg?.kind) {
    case 'embedded':
      return new EmbeddedQueueDriver(cfg, resolved);
    case 'redis': {
      // Loaded only here: BullMQ and ioredis cost some 10 MB of resident memory in every process, and a
      // single-node gateway (the embedded queue) never uses them.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const driver = require('./bullmq-queue.driver') as typeof import('./bullmq-queue.driver');
      return new driver.BullmqQueueDriver(cfg, resolved);
    }
    default:
      throw new QueueError(
        'invalid-argument',
        `queue kind must be 'embedded' or 'redis', got ${JSON.stringify((cfg as { kind?: unknown } | undefined)?.kind)}`,
      );
  }
}
