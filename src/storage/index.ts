export * from './database';
export * from './entities';
export * from './secret-box';
export { MIGRATIONS } from './migrations';
export { RowDefaultsSubscriber } from './row-defaults.subscriber';
export { epochMsTransformer } from './columns';
