import type {
  AccountId,
  AccountStateStore,
  AdapterLogger,
  ConnectionStatus,
  RemoteEvent,
} from '@switchboard/sdk';
import type { ClientHost } from '../../src/registry';

/** Polls `check` until it returns a value (not undefined/false) or the bound runs out; the error says what was awaited. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const silentLogger: AdapterLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** A ClientHost that records what each account's client emitted, as the gateway's intake would receive it. */
export class RecordingHost implements ClientHost {
  readonly events = new Map<string, RemoteEvent[]>();
  readonly statuses = new Map<string, ConnectionStatus[]>();
  private readonly stores = new Map<string, Map<string, unknown>>();

  emit(accountId: AccountId, event: RemoteEvent): Promise<void> {
    const list = this.events.get(accountId) ?? [];
    this.events.set(accountId, list);
    list.push(event);
    return Promise.resolve();
  }

  stateStore(accountId: AccountId): AccountStateStore {
    const m = this.stores.get(accountId) ?? new Map<string, unknown>();
    this.stores.set(accountId, m);
    return {
      get: <T>(key: string) => Promise.resolve(m.get(key) as T | undefined),
      set: (key, value) => Promise.resolve(void m.set(key, value)),
      delete: (key) => Promise.resolve(void m.delete(key)),
    };
  }

  onStatus(accountId: AccountId, status: ConnectionStatus): void {
    const list = this.statuses.get(accountId) ?? [];
    this.statuses.set(accountId, list);
    list.push(status);
  }

  logger(): AdapterLogger {
    return silentLogger;
  }

  eventsOf(accountId: string): RemoteEvent[] {
    return this.events.get(accountId) ?? [];
  }

  find<T extends RemoteEvent['type']>(
    accountId: string,
    type: T,
    pred: (e: Extract<RemoteEvent, { type: T }>) => boolean = () => true,
  ): Extract<RemoteEvent, { type: T }> | undefined {
    return this.eventsOf(accountId).find(
      (e): e is Extract<RemoteEvent, { type: T }> =>
        e.type === type && pred(e as Extract<RemoteEvent, { type: T }>),
    );
  }
}
