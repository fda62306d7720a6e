import {
  AccountId,
  type AccountStateStore,
  type AdapterLogger,
  type ClientContext,
  type ConnectionStatus,
  defineAdapter,
  type NetworkClient,
  type RemoteEvent,
  RemoteMessageId,
  RemoteRoomId,
  RemoteUserId,
  z,
} from '../sdk';
import { AccountSupervisor, type ClientHost, type SupervisorClock } from './account-supervisor';
import { AdapterRegistry } from './adapter-registry';

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

/** Time that moves only when the test says so. */
class ManualClock implements SupervisorClock {
  t = 0;
  rnd = 1;
  private seq = 0;
  private timers: { at: number; seq: number; fn: () => void; live: boolean }[] = [];
  now(): number {
    return this.t;
  }
  random(): number {
    return this.rnd;
  }
  setTimer(fn: () => void, ms: number): () => void {
    const timer = { at: this.t + ms, seq: this.seq++, fn, live: true };
    this.timers.push(timer);
    return () => {
      timer.live = false;
    };
  }
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    for (;;) {
      const due = this.timers
        .filter((x) => x.live && x.at <= target)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      due.live = false;
      this.t = due.at;
      due.fn();
      await flush();
    }
    this.t = target;
    await flush();
  }
}

type Behaviour =
  'ok' | 'drop' | 'bad-creds' | 'throw' | 'reject' | 'hang' | 'crash-later' | 'hang-disconnect';

class ScriptedClient implements NetworkClient {
  status: ConnectionStatus = { state: 'connecting' };
  disconnects = 0;
  constructor(
    readonly ctx: ClientContext,
    readonly behaviour: Behaviour,
    private readonly onCrash: (e: Error) => void,
  ) {}
  private async report(status: ConnectionStatus): Promise<void> {
    this.status = status;
    await this.ctx.emit({ type: 'connection.state', at: new Date().toISOString(), status });
  }
  async connect(): Promise<void> {
    switch (this.behaviour) {
      case 'throw':
        throw new Error('boom in connect');
      case 'reject':
        await Promise.resolve();
        throw new Error('rejected connect');
      case 'hang':
        await this.report({ state: 'connecting' });
        return;
      case 'bad-creds':
        await this.report({ state: 'bad_credentials', message: 'wrong password' });
        return;
      case 'drop':
        await this.report({ state: 'connected' });
        await this.report({ state: 'transient_disconnect', message: 'server closed the connection' });
        return;
      case 'crash-later':
        await this.report({ state: 'connected' });
        // A network library callback that throws: the process handler routes it to handleUncaught.
        setTimeout(() => this.onCrash(new Error('socket exploded')), 0);
        return;
      case 'ok':
      case 'hang-disconnect':
        await this.report({ state: 'connected' });
        return;
    }
  }
  disconnect(): Promise<void> {
    this.disconnects++;
    if (this.behaviour === 'hang-disconnect') return new Promise(() => undefined);
    return Promise.resolve();
  }
  send(): Promise<{ messageIds: RemoteMessageId[]; confirmed: boolean }> {
    return Promise.resolve({ messageIds: [RemoteMessageId('m1')], confirmed: true });
  }
  dropNow(): Promise<void> {
    return this.report({ state: 'transient_disconnect', message: 'dropped' });
  }
}

function setup(script: Behaviour[], opts: { createThrows?: number } = {}) {
  const clients: ScriptedClient[] = [];
  let createThrows = opts.createThrows ?? 0;
  const adapter = defineAdapter({
    id: 'scripted',
    displayName: 'Scripted',
    version: '0.0.0',
    sdk: '^1.0.0',
    capabilities: {},
    optionsSchema: z.object({ user: z.string(), retries: z.number().default(3) }),
    createClient: (_options, ctx) => {
      if (createThrows > 0) {
        createThrows--;
        throw new Error('cannot create');
      }
      const behaviour = script.length > 1 ? script.shift()! : (script[0] ?? 'ok');
      const c = new ScriptedClient(ctx, behaviour, (e) => {
        if (!supervisor.handleUncaught(e)) throw e;
      });
      clients.push(c);
      return c;
    },
  });
  const registry = new AdapterRegistry([{ manifest: adapter, source: { kind: 'path', location: '(spec)' } }]);
  const statuses: ConnectionStatus[] = [];
  const emitted: RemoteEvent[] = [];
  let emitFails = false;
  const quiet: AdapterLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
  const store: AccountStateStore = {
    get: () => Promise.resolve(undefined),
    set: () => Promise.resolve(),
    delete: () => Promise.resolve(),
  };
  const host: ClientHost = {
    emit: (_id, e) => {
      if (emitFails) return Promise.reject(new Error('storage down'));
      emitted.push(e);
      return Promise.resolve();
    },
    stateStore: () => store,
    onStatus: (_id, s) => statuses.push(s),
    logger: () => quiet,
  };
  const clock = new ManualClock();
  const supervisor: AccountSupervisor = new AccountSupervisor(registry, host, { clock });
  return {
    supervisor,
    clock,
    clients,
    statuses,
    emitted,
    setEmitFails: (v: boolean) => (emitFails = v),
    account: { accountId: 'acc-1', adapterId: 'scripted', options: { user: 'alice' } },
    delayOf: () => supervisor.retryAt('acc-1')! - clock.now(),
  };
}

describe('AccountSupervisor', () => {
  it('starts a client with validated options and reports its states', async () => {
    const s = setup(['ok']);
    await s.supervisor.start(s.account);
    await flush();
    expect(s.supervisor.status('acc-1')).toEqual({ state: 'connected' });
    expect(s.statuses.map((x) => x.state)).toEqual(['connecting', 'connected']);
    expect(s.supervisor.client('acc-1')).toBe(s.clients[0]);
    expect(s.clients[0]!.ctx.accountId).toBe(AccountId('acc-1'));
    await s.supervisor.stopAll();
    expect(s.clients[0]!.disconnects).toBe(1);
    expect(s.supervisor.client('acc-1')).toBeUndefined();
  });

  it('reconnects with exponential backoff, capped, never giving up', async () => {
    const s = setup(['drop']);
    await s.supervisor.start(s.account);
    await flush();
    const delays: number[] = [];
    for (let i = 0; i < 12; i++) {
      expect(s.supervisor.status('acc-1')?.state).toBe('transient_disconnect');
      const d = s.delayOf();
      delays.push(d);
      await s.clock.advance(d);
    }
    expect(delays).toEqual([
      1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000, 300000, 300000, 300000,
    ]);
    expect(s.clients).toHaveLength(13);
    expect(s.clients.slice(0, 12).every((c) => c.disconnects === 1)).toBe(true);
    await s.supervisor.stopAll();
  });

  it('applies full jitter to the delay', async () => {
    const s = setup(['drop']);
    s.clock.rnd = 0.25;
    await s.supervisor.start(s.account);
    await flush();
    expect(s.delayOf()).toBe(250);
    await s.clock.advance(250);
    expect(s.delayOf()).toBe(500);
    await s.supervisor.stopAll();
  });

  it('resets the backoff after a stable connected period, not before', async () => {
    const s = setup(['drop', 'drop', 'ok', 'ok']);
    await s.supervisor.start(s.account);
    await flush();
    expect(s.delayOf()).toBe(1000);
    await s.clock.advance(1000);
    expect(s.delayOf()).toBe(2000);
    await s.clock.advance(2000);
    expect(s.supervisor.status('acc-1')?.state).toBe('connected');
    // Dropped before the stable period: the backoff keeps growing.
    await s.clock.advance(30_000);
    await s.clients[2]!.dropNow();
    await flush();
    expect(s.delayOf()).toBe(4000);
    await s.clock.advance(4000);
    expect(s.supervisor.status('acc-1')?.state).toBe('connected');
    await s.clock.advance(60_000);
    await s.clients[3]!.dropNow();
    await flush();
    expect(s.delayOf()).toBe(1000);
    await s.supervisor.stopAll();
  });

  it('does not retry bad credentials, until reconnect() is asked', async () => {
    const s = setup(['bad-creds', 'ok']);
    await s.supervisor.start(s.account);
    await flush();
    expect(s.supervisor.status('acc-1')).toEqual({ state: 'bad_credentials', message: 'wrong password' });
    expect(s.supervisor.retryAt('acc-1')).toBeUndefined();
    expect(s.supervisor.client('acc-1')).toBeUndefined();
    expect(s.clients[0]!.disconnects).toBe(1);
    await s.clock.advance(3_600_000);
    expect(s.clients).toHaveLength(1);
    s.supervisor.reconnect('acc-1');
    await flush();
    expect(s.clients).toHaveLength(2);
    expect(s.supervisor.status('acc-1')?.state).toBe('connected');
    await s.supervisor.stopAll();
  });

  it.each(['throw', 'reject'] as const)('treats a connect() that %ss as a failed attempt', async (b) => {
    const s = setup([b, 'ok']);
    await s.supervisor.start(s.account);
    await flush();
    expect(s.supervisor.status('acc-1')).toMatchObject({
      state: 'error',
      code: 'connect_threw',
      retryable: true,
    });
    expect(s.supervisor.status('acc-1')?.message).toContain(
      b === 'throw' ? 'boom in connect' : 'rejected connect',
    );
    await s.clock.advance(s.delayOf());
    expect(s.supervisor.status('acc-1')?.state).toBe('connected');
    await s.supervisor.stopAll();
  });

  it('replaces a client whose connect() hangs past the timeout', async () => {
    const s = setup(['hang', 'ok']);
    await s.supervisor.start(s.account);
    await flush();
    await s.clock.advance(59_999);
    expect(s.supervisor.status('acc-1')?.state).toBe('connecting');
    await s.clock.advance(1);
    expect(s.supervisor.status('acc-1')).toMatchObject({ state: 'error', code: 'connect_timeout' });
    expect(s.clients[0]!.disconnects).toBe(1);
    expect(s.clients[0]!.ctx.signal.aborted).toBe(true);
    await s.clock.advance(s.delayOf());
    expect(s.supervisor.status('acc-1')?.state).toBe('connected');
    await s.supervisor.stopAll();
  });

  it('retries when createClient throws', async () => {
    const s = setup(['ok'], { createThrows: 1 });
    await s.supervisor.start(s.account);
    expect(s.supervisor.status('acc-1')).toMatchObject({ state: 'error', code: 'client_create_failed' });
    await s.clock.advance(s.delayOf());
    expect(s.supervisor.status('acc-1')?.state).toBe('connected');
    await s.supervisor.stopAll();
  });

  it('ignores statuses from a client it already replaced', async () => {
    const s = setup(['drop', 'hang']);
    await s.supervisor.start(s.account);
    await flush();
    await s.clock.advance(s.delayOf());
    expect(s.supervisor.status('acc-1')?.state).toBe('connecting');
    await s.clients[0]!.dropNow();
    await s.clients[0]!.ctx.emit({ type: 'connection.state', at: '', status: { state: 'connected' } });
    expect(s.supervisor.status('acc-1')?.state).toBe('connecting');
    await s.supervisor.stopAll();
  });

  it('waits for the old client to disconnect, but not forever', async () => {
    const s = setup(['hang-disconnect', 'ok']);
    await s.supervisor.start(s.account);
    await flush();
    await s.clients[0]!.dropNow();
    await flush();
    await s.clock.advance(s.delayOf());
    expect(s.clients).toHaveLength(1);
    await s.clock.advance(10_000);
    expect(s.clients).toHaveLength(2);
    expect(s.supervisor.status('acc-1')?.state).toBe('connected');
    await s.supervisor.stopAll();
  });

  it('forwards data events to the host; a failed intake rejects without crashing', async () => {
    const s = setup(['ok']);
    await s.supervisor.start(s.account);
    await flush();
    const ev: RemoteEvent = {
      type: 'message',
      at: '2024-01-01T00:00:00Z',
      roomId: RemoteRoomId('bob'),
      messageId: RemoteMessageId('m1'),
      sender: { userId: RemoteUserId('bob') },
      kind: 'text',
      text: 'hi',
    };
    await s.clients[0]!.ctx.emit(ev);
    expect(s.emitted).toEqual([ev]);
    s.setEmitFails(true);
    await expect(s.clients[0]!.ctx.emit(ev)).rejects.toThrow('storage down');
    // Not awaited by a careless adapter: must not surface as an unhandled rejection.
    void s.clients[0]!.ctx.emit(ev);
    await flush();
    expect(s.supervisor.status('acc-1')?.state).toBe('connected');
    await s.supervisor.stopAll();
    await expect(s.clients[0]!.ctx.emit(ev)).rejects.toThrow('stopped');
  });

  it('parks an account whose options are invalid, naming the field', async () => {
    const s = setup(['ok']);
    await s.supervisor.start({ ...s.account, options: { user: 7 } });
    expect(s.supervisor.status('acc-1')).toMatchObject({
      state: 'error',
      code: 'invalid_options',
      retryable: false,
    });
    expect(s.supervisor.status('acc-1')?.message).toMatch(/^user: /);
    expect(s.clients).toHaveLength(0);
    await s.supervisor.start({ ...s.account, adapterId: 'nope' });
    expect(s.supervisor.status('acc-1')).toMatchObject({ state: 'error', code: 'unknown_adapter' });
    expect(s.supervisor.status('acc-1')?.message).toContain('"nope"');
  });

  it('stop() cancels a pending reconnect', async () => {
    const s = setup(['drop']);
    await s.supervisor.start(s.account);
    await flush();
    expect(s.supervisor.retryAt('acc-1')).toBeDefined();
    await s.supervisor.stop('acc-1');
    await s.clock.advance(600_000);
    expect(s.clients).toHaveLength(1);
    expect(s.supervisor.status('acc-1')).toBeUndefined();
  });

  it('start() on a running account restarts it with the new options', async () => {
    const s = setup(['ok']);
    await s.supervisor.start(s.account);
    await flush();
    await s.supervisor.start({ ...s.account, options: { user: 'bob' } });
    await flush();
    expect(s.clients).toHaveLength(2);
    expect(s.clients[0]!.disconnects).toBe(1);
    expect(s.supervisor.client('acc-1')).toBe(s.clients[1]);
    await s.supervisor.stopAll();
  });

  it('turns an uncaught error from a client callback into a reconnect', async () => {
    const s = setup(['crash-later', 'ok']);
    await s.supervisor.start(s.account);
    await flush();
    await new Promise((r) => setTimeout(r, 5));
    await flush();
    expect(s.supervisor.status('acc-1')).toMatchObject({ state: 'error', code: 'client_crashed' });
    expect(s.supervisor.status('acc-1')?.message).toContain('socket exploded');
    await s.clock.advance(s.delayOf());
    expect(s.supervisor.status('acc-1')?.state).toBe('connected');
    expect(s.supervisor.handleUncaught(new Error('not from a client'))).toBe(false);
    await s.supervisor.stopAll();
  });
});
