export * from './adapter-loader';
export * from './adapter-registry';
export * from './account-supervisor';
export * from './reconnect-backoff';
export * from './registry-errors';
export { SECRET_MASK, type OptionsObject } from './secret-options';
