export * from './voice-capabilities';
export * from './route-selection';
export * from './call-state';
