/**
 * @switchboard/sdk — the contract between the gateway and network adapters. Pure TypeScript: no
 * framework, no I/O. An adapter imports only this module and its own network library.
 */
export * from './ids';
export * from './presence';
export * from './connection';
export * from './events';
export * from './outbound';
export * from './capabilities';
export * from './adapter';
export * from './standard-schema';
export * from './formatting';
/** zod, re-exported so an adapter can write its options schema without a dependency of its own. */
export { z } from 'zod';
