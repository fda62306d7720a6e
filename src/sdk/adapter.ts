import type { CapabilityName } from './capabilities';
import type { ConnectionStatus } from './connection';
import type { RemoteEvent } from './events';
import type { AccountId } from './ids';
import type { OutboundMessage, SendResult } from './outbound';
import type { StandardSchemaV1 } from './standard-schema';

/** The SDK's own version. An adapter names the range it was built for in `defineAdapter({ sdk })`. */
export const SDK_VERSION = '1.3.0';

export interface AdapterLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Small JSON values an adapter keeps per account across restarts (sync tokens, device ids, cursors). */
export interface AccountStateStore {
  get<T = unknown>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<void>;
}

/** What the gateway hands a client when it creates it. */
export interface ClientContext {
  readonly accountId: AccountId;
  readonly logger: AdapterLogger;
  /**
   * The one entry point for everything that arrives from the network. Resolves when the event is
   * durably accepted by the gateway: an adapter that acknowledges to its network (a sync token, a MAM
   * cursor, a stream-management ack) does so only after this resolves, so a crash never loses events.
   * Events are accepted in the order emit() is called: an adapter may hand over a burst (a roster, the
   * presences after login) without awaiting each one, and the gateway then stores it in a few writes.
   */
  emit(event: RemoteEvent): Promise<void>;
  readonly state: AccountStateStore;
  /** Aborted when the gateway disposes of the client. */
  readonly signal: AbortSignal;
}

/**
 * One logged-in account on one network. Optional features are separate capability interfaces
 * (capabilities.ts) that the same object may also implement.
 */
export interface NetworkClient {
  /**
   * Connect and log in. Never throws and never rejects: the outcome is reported with
   * `connection.state` events (connecting → connected, or bad_credentials / error / transient_disconnect).
   * Report `connected` only when the client can send: logged in and its rooms (re)joined, because the
   * outbox starts delivering queued messages the moment it sees `connected`.
   */
  connect(): Promise<void>;
  /** Log out and release everything; after it resolves the client emits nothing more. */
  disconnect(): Promise<void>;
  /**
   * Send a message. Resolves when the network took it; rejects with `SendError` (retryable or not).
   * A retry of the same send carries the same `transactionId`.
   */
  send(message: OutboundMessage): Promise<SendResult>;
  /** The last state this client reported. */
  readonly status: ConnectionStatus;
}

/** What a network can do at all, before any account exists (shown by GET /api/v1/adapters). */
export type AdapterCapabilities = Partial<Record<CapabilityName, boolean>> & {
  /** Call media the network can carry at all. */
  media?: { audio: boolean; video: boolean };
  /** Most bytes of text one message may carry on the network (before the adapter splits it). */
  maxMessageBytes?: number;
};

export interface AdapterContext {
  readonly logger: AdapterLogger;
}

/**
 * One network, per process. `Options` is what an account of this network needs (validated by
 * `optionsSchema` before `createClient` is called); `AdapterOptions` are the operator's per-process
 * settings from the config file.
 */
export interface NetworkAdapter<Options = unknown, AdapterOptions = unknown> {
  /** Stable id used in config and the API (`irc`, `xmpp`): lowercase letters, digits and dashes. */
  readonly id: string;
  readonly displayName: string;
  readonly version: string;
  /** The SDK versions this adapter works with, as a semver range (`^1.0.0`). */
  readonly sdk: string;
  readonly capabilities: AdapterCapabilities;
  readonly optionsSchema: StandardSchemaV1<unknown, Options>;
  /** Paths (dot form) of account options that are secrets: encrypted at rest, masked in logs and API output. */
  readonly secretOptions?: readonly string[];
  readonly adapterOptionsSchema?: StandardSchemaV1<unknown, AdapterOptions>;
  /**
   * The network login that an account with these (validated) options uses, in one canonical spelling:
   * case-folded where the network ignores case, defaults filled in (XMPP: the bare JID; IRC: server, port
   * and nick). A user cannot hold two accounts of this adapter with the same key: a second one would be a
   * second client on one login, and the two would fight (an XMPP resource conflict, an IRC nick taken,
   * a phone registered twice). POST /api/v1/accounts answers 409 instead. Leave it out where several
   * accounts may share one login. Must not throw; it sees only options the schema accepted.
   */
  loginKey?(options: Options): string;
  init?(options: AdapterOptions, ctx: AdapterContext): Promise<void>;
  createClient(options: Options, ctx: ClientContext): NetworkClient;
  dispose?(): Promise<void>;
}

/** Any adapter, whatever its option types (what the registry holds). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- variance: options are checked by the schema
export type AnyNetworkAdapter = NetworkAdapter<any, any>;

export const ADAPTER_ID_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

/**
 * The manifest every adapter package default-exports. It returns its argument: the value is in the
 * type checking, and in the shape check that catches a hand-written JavaScript manifest's mistakes early.
 */
export function defineAdapter<O, A = unknown>(adapter: NetworkAdapter<O, A>): NetworkAdapter<O, A> {
  const problems = describeManifestProblems(adapter);
  if (problems.length > 0) throw new TypeError(`invalid adapter manifest: ${problems.join('; ')}`);
  return adapter;
}

/** Structural checks the registry also runs on manifests that did not come through defineAdapter. */
export function describeManifestProblems(m: unknown): string[] {
  if (typeof m !== 'object' || m === null) return ['the manifest is not an object'];
  const r = m as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof r.id !== 'string' || !ADAPTER_ID_PATTERN.test(r.id))
    problems.push('id must be lowercase letters, digits and dashes (at most 32)');
  for (const k of ['displayName', 'version', 'sdk'] as const)
    if (typeof r[k] !== 'string' || r[k] === '') problems.push(`${k} must be a non-empty string`);
  if (typeof r.capabilities !== 'object' || r.capabilities === null)
    problems.push('capabilities must be an object');
  const schema = r.optionsSchema as { '~standard'?: { validate?: unknown } } | undefined;
  if (typeof schema?.['~standard']?.validate !== 'function')
    problems.push(
      'optionsSchema must be a Standard Schema (zod, valibot, arktype, or an object with ~standard.validate)',
    );
  if (typeof r.createClient !== 'function') problems.push('createClient must be a function');
  if (r.loginKey !== undefined && typeof r.loginKey !== 'function')
    problems.push('loginKey, when given, must be a function');
  return problems;
}
