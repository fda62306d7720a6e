/**
 * The configuration the gateway runs with: every default applied, every path absolute, frozen. Built by
 * loadConfig() from the YAML file and the environment; keys are described in config.schema.ts.
 */

export type ConfigMode = 'embedded' | 'cluster';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'json' | 'pretty';
export type TrustProxySetting = boolean | number | string | readonly string[];

/** Options a config file hands to an adapter or account: checked later by the adapter's own schema. */
export type OptionsBag = Readonly<Record<string, unknown>>;

interface AdapterSpecBase {
  readonly id: string;
  readonly enabled: boolean;
  readonly options: OptionsBag;
}

/**
 * Where an adapter's code comes from, in the registry's words: `folder` is the bundled folder
 * adapters/<id> (the registry knows where that is, under dist/ when compiled), `path` a folder the config
 * names (absolute here), `package` an installed npm package.
 */
export type AdapterSpec =
  | (AdapterSpecBase & { readonly kind: 'folder' })
  | (AdapterSpecBase & { readonly kind: 'path'; readonly path: string })
  | (AdapterSpecBase & { readonly kind: 'package'; readonly package: string });

export interface AccountSpec {
  readonly owner: string;
  readonly adapter: string;
  readonly label?: string;
  readonly options: OptionsBag;
}

export interface BridgeSpec {
  readonly name?: string;
  readonly conversations: readonly { readonly account: string; readonly room: string }[];
  readonly options: OptionsBag;
}

export interface AppConfig {
  /** `cluster` when database.url is set (PostgreSQL + Redis, many instances), else `embedded`. */
  readonly mode: ConfigMode;
  /** Absolute path of the config file that was read; absent when there was none. */
  readonly configFile?: string;
  /** Names of the environment variables that overrode keys (their values are not kept here). */
  readonly envOverrides: readonly string[];
  readonly server: {
    readonly host: string;
    readonly port: number;
    readonly bodyLimitBytes: number;
    readonly publicUrl?: string;
    readonly trustProxy: TrustProxySetting;
  };
  /** Absolute. */
  readonly dataDir: string;
  readonly database: {
    /** PostgreSQL URL (cluster mode). A secret: print it through redactConfig. */
    readonly url?: string;
    /** Absolute path of the SQLite file (used in embedded mode). */
    readonly sqlitePath: string;
    /** See the config key: 'full' waits for the disk at every commit, 'normal' does not. */
    readonly sqliteSynchronous: 'full' | 'normal';
  };
  readonly queue: {
    /** Redis URL (BullMQ driver); absent → the embedded queue. A secret: print it through redactConfig. */
    readonly redisUrl?: string;
    /** Absolute path of the embedded queue's file. */
    readonly embeddedPath: string;
    readonly concurrency: number;
    readonly maxAttempts: number;
    readonly backoffBaseMs: number;
    readonly backoffMaxMs: number;
  };
  readonly security: {
    /** base64 of 32 bytes, when configured. Absent (embedded mode only) → use or create secretKeyFile. */
    readonly secretKey?: string;
    /** Absolute path of the key file used when secretKey is absent: <dataDir>/secret.key. */
    readonly secretKeyFile: string;
    readonly tokenTtlHours: number;
    readonly loginRateLimit: { readonly maxAttempts: number; readonly windowSeconds: number };
  };
  readonly admin: { readonly username: string; readonly password?: string };
  readonly adapters: readonly AdapterSpec[];
  readonly accounts: readonly AccountSpec[];
  readonly bridges: readonly BridgeSpec[];
  readonly events: {
    readonly replayLimit: number;
    readonly retentionHours: number;
    readonly clientBufferBytes: number;
  };
  readonly calls: {
    readonly mediaAddress: string;
    readonly answerTimeoutSeconds: number;
    readonly stunUrls: readonly string[];
    readonly turnUrls: readonly string[];
    readonly turnSecret?: string;
    readonly turnUsername?: string;
    readonly turnPassword?: string;
    readonly turnTtlSeconds: number;
  };
  /** Files relayed by bridges (docs/adr/0014-bridged-media.md). */
  readonly media: {
    readonly maxBytes: number;
    readonly rateLimit: { readonly requests: number; readonly windowSeconds: number };
  };
  readonly log: { readonly level: LogLevel; readonly format: LogFormat };
}
