/**
 * The domain: people and their endpoints, presence, conversations, messages and bridge rules. Pure
 * TypeScript over the SDK's types: no I/O, no framework.
 */
export * from './ids';
export * from './presence-aggregation';
export * from './person';
export * from './conversation';
export * from './message';
export * from './bridge-rules';
