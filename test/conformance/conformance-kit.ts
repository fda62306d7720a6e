import {
  AccountId,
  type AnyNetworkAdapter,
  CAPABILITY_GUARDS,
  type CapabilityName,
  type ClientContext,
  isRoomsCapable,
  type NetworkClient,
  type RemoteEvent,
  RemoteRoomId,
  type RemoteUserId,
  TransactionId,
} from '@switchboard/sdk';
import { AccountSupervisor, type AdapterRegistry } from '../../src/registry';
import { RecordingHost, silentLogger, waitFor } from '../registry/registry-harness';

/** One account of the network under test, and its own address (how the other account reaches it). */
export interface ConformanceAccount {
  options: Record<string, unknown>;
  address: RemoteUserId;
}

/** What an adapter's conformance test provides: the adapter loaded, and two accounts on a real server. */
export interface ConformanceEnv {
  registry: AdapterRegistry;
  adapterId: string;
  accounts: [ConformanceAccount, ConformanceAccount];
  /** Options whose login the server refuses; undefined for a network without credentials. */
  badCredentials?: Record<string, unknown>;
  /** Stops the server and everything the factory started. */
  teardown(): Promise<void>;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

function isIsoTime(at: unknown): boolean {
  return typeof at === 'string' && ISO.test(at) && !Number.isNaN(Date.parse(at));
}

/** A client context that records what the client emitted, without a supervisor in between. */
function recordingContext(accountId: string, events: RemoteEvent[], abort: AbortController): ClientContext {
  const store = new Map<string, unknown>();
  return {
    accountId: AccountId(accountId),
    logger: silentLogger,
    signal: abort.signal,
    emit: (e) => {
      events.push(e);
      return Promise.resolve();
    },
    state: {
      get: <T>(k: string) => Promise.resolve(store.get(k) as T | undefined),
      set: (k, v) => Promise.resolve(void store.set(k, v)),
      delete: (k) => Promise.resolve(void store.delete(k)),
    },
  };
}

/**
 * The adapter contract, checked against a real server: every adapter's test file calls this with a
 * factory that starts its server and gives two accounts. The scenarios are the SDK's rules, not any one
 * network's: connect never throws and reaches `connected`, a refused login is `bad_credentials` and is
 * not retried, a sent text arrives as a `message` with the same text, capability guards agree with the
 * manifest, a disconnected client emits nothing more, and every event carries an ISO `at`.
 */
export function runConformance(name: string, makeEnv: () => Promise<ConformanceEnv>): void {
  describe(`adapter conformance: ${name}`, () => {
    let env: ConformanceEnv;
    let host: RecordingHost;
    let supervisor: AccountSupervisor;
    let manifest: AnyNetworkAdapter;
    const a = `${name}-conf-a`;
    const b = `${name}-conf-b`;

    beforeAll(async () => {
      env = await makeEnv();
      manifest = env.registry.get(env.adapterId)!.manifest;
      host = new RecordingHost();
      supervisor = new AccountSupervisor(env.registry, host, {
        policy: { initialDelayMs: 100, maxDelayMs: 1000 },
      });
    });

    afterAll(async () => {
      await supervisor?.stopAll();
      await env?.teardown();
    });

    const client = (id: string): NetworkClient => supervisor.client(id)!;

    it('connect() never throws and reaches connected', async () => {
      await supervisor.start({ accountId: a, adapterId: env.adapterId, options: env.accounts[0].options });
      await supervisor.start({ accountId: b, adapterId: env.adapterId, options: env.accounts[1].options });
      for (const id of [a, b]) {
        await waitFor(`${id} connected`, () => supervisor.status(id)?.state === 'connected', 30_000);
        const states = host.statuses.get(id)!.map((s) => s.state);
        expect(states[0]).toBe('connecting');
        expect(states.at(-1)).toBe('connected');
        expect(client(id).status.state).toBe('connected');
      }
    });

    it('reports refused credentials as bad_credentials and does not retry them', async () => {
      if (!env.badCredentials) {
        // A network without credentials has nothing to refuse; the factory says so by leaving it out.
        expect(env.badCredentials).toBeUndefined();
        return;
      }
      const id = `${name}-conf-bad`;
      await supervisor.start({ accountId: id, adapterId: env.adapterId, options: env.badCredentials });
      await waitFor('bad credentials', () => supervisor.status(id)?.state === 'bad_credentials', 30_000);
      expect(supervisor.retryAt(id)).toBeUndefined();
      expect(supervisor.client(id)).toBeUndefined();
      await supervisor.stop(id);
    });

    it('delivers a sent text to the other account as a message event, both ways', async () => {
      const pairs: [string, string, ConformanceAccount][] = [
        [a, b, env.accounts[1]],
        [b, a, env.accounts[0]],
      ];
      for (const [from, to, toAccount] of pairs) {
        const sender = client(from);
        const roomId = isRoomsCapable(sender)
          ? (await sender.openDirect(toAccount.address)).roomId
          : RemoteRoomId(toAccount.address);
        const text = `conformance ${from} → ${to} ${Date.now()}`;
        const result = await sender.send({ roomId, transactionId: TransactionId(`conf-${from}`), text });
        expect(result.messageIds.length).toBeGreaterThan(0);
        const got = await waitFor(`the message at ${to}`, () =>
          host.find(to, 'message', (e) => e.text === text && e.sender.self !== true),
        );
        expect(typeof got.messageId).toBe('string');
        expect(got.messageId).not.toBe('');
      }
    });

    it('has capability guards that match the manifest', () => {
      for (const id of [a, b]) {
        const c = client(id);
        for (const [cap, guard] of Object.entries(CAPABILITY_GUARDS) as [
          CapabilityName,
          (c: unknown) => boolean,
        ][]) {
          const declared = manifest.capabilities[cap] === true;
          expect({ cap, implemented: guard(c) }).toEqual({ cap, implemented: declared });
        }
      }
    });

    it('emits nothing after disconnect() resolved', async () => {
      const events: RemoteEvent[] = [];
      const abort = new AbortController();
      const opts = await env.registry.validateAccountOptions(env.adapterId, env.accounts[1].options);
      if (!opts.ok) throw new Error(`the factory's options are invalid: ${JSON.stringify(opts.issues)}`);
      // The same identity as account b: the server replaces b's session or refuses a second one; either way
      // this client is what the check is about. Stop b first so the network state is plain.
      await supervisor.stop(b);
      const direct = manifest.createClient(
        opts.value,
        recordingContext(`${name}-conf-direct`, events, abort),
      );
      await expect(direct.connect()).resolves.toBeUndefined();
      await waitFor('the direct client connected', () => direct.status.state === 'connected', 30_000);
      await direct.disconnect();
      abort.abort();
      const count = events.length;
      // Traffic for the disconnected account after the fact must not come out of its client.
      const sender = client(a);
      const roomId = isRoomsCapable(sender)
        ? (await sender.openDirect(env.accounts[1].address)).roomId
        : RemoteRoomId(env.accounts[1].address);
      await sender
        .send({ roomId, transactionId: TransactionId('conf-after'), text: 'after disconnect' })
        .catch(() => undefined);
      await new Promise((r) => setTimeout(r, 500));
      expect(events.slice(count)).toEqual([]);
      for (const e of events) expect(isIsoTime(e.at)).toBe(true);
    });

    it('stamps every event with an ISO 8601 `at`', () => {
      const all = [...host.events.values()].flat();
      expect(all.length).toBeGreaterThan(0);
      const bad = all.filter((e) => !isIsoTime(e.at));
      expect(bad).toEqual([]);
    });
  });
}
