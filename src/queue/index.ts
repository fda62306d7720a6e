export * from './queue.port';
export { createQueue, type QueueConfig } from './create-queue';
export { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions, type QueueOptions } from './queue.rules';
export type { EmbeddedQueueConfig } from './embedded-queue.driver';
export type { RedisQueueConfig } from './bullmq-queue.driver';
