/** One typed, validated configuration: YAML file + environment overrides, checked at boot. */
export {
  loadConfig,
  buildConfig,
  listBundledAdapters,
  formatPath,
  DEFAULT_CONFIG_FILE,
  CONFIG_FILE_ENV,
} from './config.loader';
export type { LoadConfigOptions, BuildConfigOptions } from './config.loader';
export { ConfigError, formatProblem, type ConfigProblem } from './config.error';
export { redactConfig, maskUrlCredentials, isSecretOptionKey, REDACTED } from './config.redact';
export { configSchema, type ConfigInput, type ParsedConfig, type Sensitivity } from './config.schema';
export { configKeys, configJsonSchema, type ConfigKeyDoc } from './config-keys';
export type * from './config.types';
