import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ADMIN_PASSWORD, Api, FAKE_ADAPTER_PATH, eventually, startGatewayProcess } from '../support/gateway';
import type { ManagedProcess } from '../support/managed-process';
import { freePort } from '../support/ports';

/**
 * "A message accepted with 202 is never lost": the gateway process is killed with SIGKILL while it is
 * accepting and sending a burst, then started again on the same data folder. Every message that got a
 * 202 must reach the network (the fake network's own send log, which outlives the gateway); a message
 * may be repeated only if its send was in flight at the kill (like IRC, the fake network cannot tell the
 * gateway whether a line written just before the crash arrived).
 */
describe('outbox durability across kill -9', () => {
  let dir: string;
  let proc: ManagedProcess | undefined;

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sb-kill9-'));
  });
  afterAll(async () => {
    await proc?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const startGateway = (port: number): Promise<ManagedProcess> =>
    startGatewayProcess(dir, {
      server: { port },
      adapters: [{ id: 'fake', path: FAKE_ADAPTER_PATH }],
      queue: { backoffBaseMs: 50, backoffMaxMs: 500 },
      log: { level: 'warn', format: 'json' },
    });

  it('delivers every accepted message after a crash, with duplicates bounded by the sends in flight', async () => {
    const port = await freePort();
    const sendLog = path.join(dir, 'network-sends.jsonl');
    proc = await startGateway(port);
    const api = await new Api(`http://127.0.0.1:${port}`).login('admin', ADMIN_PASSWORD);
    const created = await api.call('POST', '/api/v1/accounts', {
      adapter: 'fake',
      label: 'alice',
      // Slow sends (5 ms each) so that a backlog builds up; #crash joined on every connect, as IRC channels.
      options: {
        network: 'crashnet',
        user: 'alice',
        password: 'pw',
        sendDelayMs: 5,
        autoJoin: ['#crash'],
        sendLog,
      },
    });
    expect(created.status).toBe(201);
    const alice = created.json.id as string;
    await eventually(
      async () => (await api.call('GET', `/api/v1/accounts/${alice}`)).json.state === 'connected',
      'connected',
    );
    const conv = await api.call('POST', '/api/v1/conversations', { accountId: alice, address: '#crash' });
    expect(conv.status).toBe(201);

    // A burst, ten requests at a time; the process is killed while messages are still queued. The order of
    // acceptance is the server's: message ids are UUIDv7 taken in the order requests reach the outbox's
    // (serialized) transaction, while the order in which ten parallel responses are read here is not.
    const acceptedIds = new Map<string, string>();
    const accepted: string[] = [];
    const total = 400;
    let killed = false;
    const post = async (i: number) => {
      try {
        const r = await api.call('POST', `/api/v1/conversations/${conv.json.id}/messages`, {
          text: `m${i}`,
          clientId: `c${i}`,
        });
        if (r.status === 202) {
          accepted.push(`m${i}`);
          acceptedIds.set(`m${i}`, (r.json as { id: string }).id);
        }
      } catch {
        // the process is gone
      }
    };
    const sends = (async () => {
      for (let i = 0; i < total && !killed; i += 10)
        await Promise.all(Array.from({ length: 10 }, (_, k) => post(i + k)));
    })();
    await eventually(async () => accepted.length >= 150, '150 accepted');
    await proc.kill9();
    killed = true;
    await sends;
    const reachedBeforeKill = new Set(readSends(sendLog)).size;
    expect(reachedBeforeKill).toBeLessThan(accepted.length); // the crash really interrupted work in progress

    // Same data folder, new process: the outbox resumes where the dead one stopped.
    proc = await startGateway(port);
    const mine = await eventually(
      async () => {
        const r = await api.call('GET', `/api/v1/conversations/${conv.json.id}/messages?limit=500`);
        const list = r.json as { text: string; status: string }[];
        return list.length >= accepted.length && list.every((m) => m.status === 'sent') && list;
      },
      'all sent',
      60000,
    );
    const stored = mine.map((m) => m.text);
    expect(new Set(stored).size).toBe(stored.length); // stored once each (clientId)
    for (const t of accepted) expect(stored).toContain(t);

    // What the network received: every accepted message, in order of acceptance per first arrival;
    // a message repeated only if its send was in flight when the process died.
    const reached = readSends(sendLog);
    for (const t of accepted) expect(reached).toContain(t);
    const counts = new Map<string, number>();
    for (const t of reached) counts.set(t, (counts.get(t) ?? 0) + 1);
    const duplicates = [...counts.values()].filter((n) => n > 1).length;

    console.log(
      `kill -9 outbox: ${accepted.length} accepted, ${reachedBeforeKill} had reached the network at the kill, ` +
        `${reached.length} sends in all, ${duplicates} duplicated`,
    );
    // One conversation sends one message at a time: at most the one in flight is repeated.
    expect(duplicates).toBeLessThanOrEqual(1);
    // Per-conversation order: first arrivals follow the order of acceptance.
    const firstArrival = [...new Set(reached)];
    const byAcceptance = [...accepted].sort((a, b) => (acceptedIds.get(a)! < acceptedIds.get(b)! ? -1 : 1));
    const order = byAcceptance.filter((t) => firstArrival.includes(t));
    expect(firstArrival.filter((t) => accepted.includes(t))).toEqual(order);
  });
});

function readSends(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { text: string }).text);
}
