/** Nest injection tokens for the gateway's infrastructure, built before Nest starts (see main.ts). */
export const CONFIG = Symbol('CONFIG');
export const DATA_SOURCE = Symbol('DATA_SOURCE');
export const QUEUE = Symbol('QUEUE');
export const ADAPTER_REGISTRY = Symbol('ADAPTER_REGISTRY');
export const LOGGER = Symbol('LOGGER');
