import { AsyncLocalStorage } from 'node:async_hooks';
import {
  AccountId,
  type AccountStateStore,
  type AdapterLogger,
  type ClientContext,
  CONNECTION_STATES,
  type ConnectionStatus,
  isRetryableState,
  type NetworkClient,
  type RemoteEvent,
} from '../sdk';
import type { AdapterRegistry } from './adapter-registry';
import { describeDuration, errorMessage } from './registry-errors';
import { backoffDelay, DEFAULT_RECONNECT_POLICY, type ReconnectPolicy } from './reconnect-backoff';

/** One account to keep connected. `options` are decrypted; the supervisor validates them again. */
export interface SupervisedAccount {
  accountId: string;
  adapterId: string;
  options: unknown;
}

/** What the gateway provides to every client the supervisor starts (implemented by the lead's wiring). */
export interface ClientHost {
  /** Durable intake of a client's events (everything except `connection.state`, which goes to `onStatus`). */
  emit(accountId: AccountId, event: RemoteEvent): Promise<void>;
  stateStore(accountId: AccountId): AccountStateStore;
  /** Every change of an account's connection status, whether the client reported it or the supervisor decided it. */
  onStatus(accountId: AccountId, status: ConnectionStatus): void;
  logger(accountId: AccountId): AdapterLogger;
}

/** Time as the supervisor sees it; tests pass a manual clock to check the schedule without waiting. */
export interface SupervisorClock {
  now(): number;
  /** Runs `fn` after `ms`; returns a function that cancels it. */
  setTimer(fn: () => void, ms: number): () => void;
  /** Uniform in [0, 1): the jitter source. */
  random(): number;
}

export const systemClock: SupervisorClock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => {
    const t = setTimeout(fn, ms);
    // A pending reconnect alone must not keep a shutting-down process alive.
    t.unref();
    return () => clearTimeout(t);
  },
  random: () => Math.random(),
};

export interface AccountSupervisorOptions {
  clock?: SupervisorClock;
  policy?: Partial<ReconnectPolicy>;
}

interface ClientRun {
  gen: number;
  abort: AbortController;
  client?: NetworkClient;
}

interface Slot {
  readonly id: AccountId;
  readonly account: SupervisedAccount;
  readonly logger: AdapterLogger;
  options?: unknown;
  /** Bumped for every client created; events from an older client are recognised by it. */
  gen: number;
  run?: ClientRun;
  status?: ConnectionStatus;
  /** Consecutive failed attempts: the backoff step. Reset after a stable connected period. */
  failures: number;
  retryAt?: number;
  cancelRetry?: () => void;
  cancelConnectTimer?: () => void;
  cancelStableTimer?: () => void;
  /** The disposal of the previous client; the next one connects only after it, so two never overlap. */
  draining: Promise<void>;
  stopped: boolean;
}

interface Scope {
  accountId: AccountId;
  gen: number;
}

function isConnectionStatus(s: unknown): s is ConnectionStatus {
  return (
    typeof s === 'object' &&
    s !== null &&
    (CONNECTION_STATES as readonly unknown[]).includes((s as { state?: unknown }).state)
  );
}

function sameStatus(a: ConnectionStatus | undefined, b: ConnectionStatus): boolean {
  return (
    a !== undefined &&
    a.state === b.state &&
    a.code === b.code &&
    a.message === b.message &&
    a.retryable === b.retryable
  );
}

/**
 * Starts one client per account and keeps it connected: a client that reports a retryable state, or whose
 * `connect()` throws or hangs, is disposed of and replaced after an exponential backoff with full jitter
 * (never giving up; reset after a stable connected period). Non-retryable states (bad credentials, a
 * deliberate logout) park the account until `reconnect()` or `start()` is called again.
 */
export class AccountSupervisor {
  private readonly slots = new Map<AccountId, Slot>();
  private readonly clock: SupervisorClock;
  private readonly policy: ReconnectPolicy;
  /** Marks everything a client runs (including its sockets' and timers' callbacks) with its account. */
  private readonly scope = new AsyncLocalStorage<Scope>();

  constructor(
    private readonly registry: AdapterRegistry,
    private readonly host: ClientHost,
    options: AccountSupervisorOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.policy = { ...DEFAULT_RECONNECT_POLICY, ...options.policy };
  }

  /**
   * Starts (or, for an account already supervised, restarts with the new options) the account's client.
   * Resolves once `connect()` was called; the outcome arrives through `onStatus`. Invalid options or an
   * unknown adapter park the account with an `error` status that says why.
   */
  async start(account: SupervisedAccount): Promise<void> {
    const id = AccountId(account.accountId);
    const previous = this.slots.get(id);
    const slot: Slot = {
      id,
      account,
      logger: this.host.logger(id),
      gen: 0,
      failures: 0,
      draining: Promise.resolve(),
      stopped: false,
    };
    this.slots.set(id, slot);
    if (previous) await this.retire(previous);

    const checked = await this.registry.validateAccountOptions(account.adapterId, account.options);
    if (slot.stopped) return;
    if (!checked.ok) {
      const known = this.registry.has(account.adapterId);
      this.setStatus(slot, {
        state: 'error',
        code: known ? 'invalid_options' : 'unknown_adapter',
        message: checked.issues.map((i) => (known ? `${i.path}: ${i.message}` : i.message)).join('; '),
        retryable: false,
      });
      slot.logger.error(`account not started: ${slot.status?.message ?? ''}`, { adapter: account.adapterId });
      return;
    }
    slot.options = checked.value;
    this.launch(slot);
  }

  /** Disconnects the account's client and forgets the account. No status is reported. */
  async stop(accountId: string): Promise<void> {
    const id = AccountId(accountId);
    const slot = this.slots.get(id);
    if (!slot) return;
    this.slots.delete(id);
    await this.retire(slot);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.slots.keys()].map((id) => this.stop(id)));
  }

  /** Reconnects now with a fresh client and a reset backoff (a user's "reconnect", or after fixing a parked account). */
  reconnect(accountId: string): void {
    const slot = this.slots.get(AccountId(accountId));
    if (!slot || slot.stopped || slot.options === undefined) return;
    slot.cancelRetry?.();
    slot.cancelRetry = undefined;
    slot.retryAt = undefined;
    slot.failures = 0;
    this.detach(slot);
    void slot.draining.then(() => {
      if (!slot.stopped && !slot.run && !slot.cancelRetry) this.launch(slot);
    });
  }

  client(accountId: string): NetworkClient | undefined {
    return this.slots.get(AccountId(accountId))?.run?.client;
  }

  status(accountId: string): ConnectionStatus | undefined {
    const s = this.slots.get(AccountId(accountId))?.status;
    return s ? { ...s } : undefined;
  }

  /** When the pending reconnect of the account fires (clock time), if one is pending. */
  retryAt(accountId: string): number | undefined {
    return this.slots.get(AccountId(accountId))?.retryAt;
  }

  accounts(): string[] {
    return [...this.slots.keys()];
  }

  /**
   * For the process's `uncaughtException` / `unhandledRejection` handlers: if the error was thrown by
   * code a client started (a socket callback, a timer), the client is replaced like any other failure and
   * this returns true; otherwise false and the caller applies its own policy.
   */
  handleUncaught(error: unknown): boolean {
    const scope = this.scope.getStore();
    if (!scope) return false;
    this.scope.exit(() => {
      const slot = this.slots.get(scope.accountId);
      if (!slot) return;
      slot.logger.error(`client failed with an uncaught error: ${errorMessage(error)}`, {
        stack: (error as { stack?: unknown } | null)?.stack,
      });
      this.fail(slot, scope.gen, {
        state: 'error',
        code: 'client_crashed',
        message: `the client failed: ${errorMessage(error)}`,
        retryable: true,
      });
    });
    return true;
  }

  private launch(slot: Slot): void {
    if (slot.stopped || slot.run) return;
    const loaded = this.registry.get(slot.account.adapterId);
    if (!loaded) {
      this.setStatus(slot, {
        state: 'error',
        code: 'unknown_adapter',
        message: `unknown adapter "${slot.account.adapterId}"`,
        retryable: false,
      });
      return;
    }
    const gen = ++slot.gen;
    const run: ClientRun = { gen, abort: new AbortController() };
    slot.run = run;
    const scope: Scope = { accountId: slot.id, gen };
    const ctx: ClientContext = {
      accountId: slot.id,
      logger: slot.logger,
      state: this.host.stateStore(slot.id),
      signal: run.abort.signal,
      emit: (event) => this.onEmit(slot, gen, event),
    };
    this.setStatus(slot, { state: 'connecting' });

    let client: NetworkClient;
    try {
      client = this.scope.run(scope, () => loaded.manifest.createClient(slot.options, ctx));
    } catch (e) {
      this.fail(slot, gen, {
        state: 'error',
        code: 'client_create_failed',
        message: `createClient threw: ${errorMessage(e)}`,
        retryable: true,
      });
      return;
    }
    run.client = client;
    if (slot.run !== run) {
      // The client reported a failure from inside createClient; it is already replaced.
      void this.disposeClient(slot, run);
      return;
    }

    slot.cancelConnectTimer = this.clock.setTimer(() => {
      slot.cancelConnectTimer = undefined;
      this.fail(slot, gen, {
        state: 'error',
        code: 'connect_timeout',
        message: `connect() reported no outcome within ${describeDuration(this.policy.connectTimeoutMs)}`,
        retryable: true,
      });
    }, this.policy.connectTimeoutMs);

    let connecting: Promise<void>;
    try {
      connecting = this.scope.run(scope, () => client.connect());
    } catch (e) {
      this.fail(slot, gen, {
        state: 'error',
        code: 'connect_threw',
        message: `connect() threw: ${errorMessage(e)}`,
        retryable: true,
      });
      return;
    }
    // The contract says connect() never rejects; one that does is treated as a failed attempt.
    Promise.resolve(connecting).then(undefined, (e: unknown) =>
      this.fail(slot, gen, {
        state: 'error',
        code: 'connect_threw',
        message: `connect() rejected: ${errorMessage(e)}`,
        retryable: true,
      }),
    );
  }

  private onEmit(slot: Slot, gen: number, event: RemoteEvent): Promise<void> {
    return this.scope.exit(() => {
      if (typeof event !== 'object' || event === null)
        return this.handled(Promise.reject(new TypeError('emit() needs a RemoteEvent')));
      if (event.type === 'connection.state') {
        this.onClientStatus(slot, gen, event.status);
        return Promise.resolve();
      }
      if (slot.stopped) return this.handled(Promise.reject(new Error(`account ${slot.id} is stopped`)));
      // Data from a client being replaced is still forwarded: the network sent it, and ids dedupe it.
      let accepted: Promise<void>;
      try {
        accepted = Promise.resolve(this.host.emit(slot.id, event));
      } catch (e) {
        accepted = Promise.reject(e instanceof Error ? e : new Error(String(e)));
      }
      return this.handled(accepted);
    });
  }

  /**
   * The adapter gets the rejection when it awaits; one that forgets to must not bring the process down
   * with an unhandled rejection.
   */
  private handled(p: Promise<void>): Promise<void> {
    p.catch(() => undefined);
    return p;
  }

  private onClientStatus(slot: Slot, gen: number, status: ConnectionStatus): void {
    if (slot.stopped || slot.run?.gen !== gen) {
      slot.logger.debug('ignoring a status from a disposed client', {
        state: (status as { state?: unknown })?.state,
      });
      return;
    }
    if (!isConnectionStatus(status)) {
      slot.logger.warn('the client reported a malformed connection status; ignored', { status });
      return;
    }
    this.setStatus(slot, status);
    switch (status.state) {
      case 'connecting':
        return;
      case 'connected':
        slot.cancelConnectTimer?.();
        slot.cancelConnectTimer = undefined;
        if (!slot.cancelStableTimer) {
          slot.cancelStableTimer = this.clock.setTimer(() => {
            slot.cancelStableTimer = undefined;
            if (slot.run?.gen === gen && slot.status?.state === 'connected') slot.failures = 0;
          }, this.policy.stableAfterMs);
        }
        return;
      case 'transient_disconnect':
      case 'error':
      case 'bad_credentials':
      case 'logged_out':
        if (isRetryableState(status)) this.scheduleReconnect(slot);
        else this.park(slot);
    }
  }

  /** A failure the supervisor detected (or a retryable state): report it and reconnect later. */
  private fail(slot: Slot, gen: number, status: ConnectionStatus): void {
    if (slot.stopped || slot.run?.gen !== gen) return;
    this.setStatus(slot, status);
    slot.logger.warn(`account connection failed: ${status.message ?? status.state}`, { code: status.code });
    this.scheduleReconnect(slot);
  }

  private scheduleReconnect(slot: Slot): void {
    if (slot.stopped || slot.cancelRetry) return;
    this.detach(slot);
    const delay = backoffDelay(slot.failures, this.policy, () => this.clock.random());
    slot.failures += 1;
    slot.retryAt = this.clock.now() + delay;
    slot.logger.info(`reconnecting in ${delay} ms (attempt ${slot.failures})`, {
      delayMs: delay,
      attempt: slot.failures,
    });
    slot.cancelRetry = this.clock.setTimer(() => {
      slot.cancelRetry = undefined;
      slot.retryAt = undefined;
      void slot.draining.then(() => {
        if (!slot.stopped && !slot.run && !slot.cancelRetry) this.launch(slot);
      });
    }, delay);
  }

  /** A non-retryable state: release the client and wait for the user. */
  private park(slot: Slot): void {
    this.detach(slot);
    slot.logger.info(`not reconnecting: ${slot.status?.state ?? 'unknown'} needs the user`, {
      code: slot.status?.code,
    });
  }

  /** Makes the current client stale (its statuses are ignored from now on) and disposes of it in the background. */
  private detach(slot: Slot): void {
    slot.cancelConnectTimer?.();
    slot.cancelConnectTimer = undefined;
    slot.cancelStableTimer?.();
    slot.cancelStableTimer = undefined;
    const run = slot.run;
    if (!run) return;
    slot.run = undefined;
    run.abort.abort();
    slot.draining = slot.draining.then(() => this.disposeClient(slot, run));
  }

  private async retire(slot: Slot): Promise<void> {
    slot.stopped = true;
    slot.cancelRetry?.();
    slot.cancelRetry = undefined;
    slot.retryAt = undefined;
    this.detach(slot);
    await slot.draining;
  }

  /** Calls `disconnect()` bounded by a timeout; never rejects. */
  private disposeClient(slot: Slot, run: ClientRun): Promise<void> {
    const client = run.client;
    if (!client) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let done = false;
      const finish = (problem?: string): void => {
        if (done) return;
        done = true;
        cancel();
        if (problem) slot.logger.warn(problem);
        resolve();
      };
      const cancel = this.clock.setTimer(
        () =>
          finish(
            `disconnect() did not finish within ${describeDuration(this.policy.disconnectTimeoutMs)}; moving on`,
          ),
        this.policy.disconnectTimeoutMs,
      );
      try {
        const p = this.scope.run({ accountId: slot.id, gen: run.gen }, () => client.disconnect());
        Promise.resolve(p).then(
          () => finish(),
          (e: unknown) => finish(`disconnect() failed: ${errorMessage(e)}`),
        );
      } catch (e) {
        finish(`disconnect() threw: ${errorMessage(e)}`);
      }
    });
  }

  private setStatus(slot: Slot, status: ConnectionStatus): void {
    if (sameStatus(slot.status, status)) return;
    slot.status = { ...status };
    try {
      this.host.onStatus(slot.id, { ...status });
    } catch (e) {
      slot.logger.error(`the status listener failed: ${errorMessage(e)}`);
    }
  }
}
