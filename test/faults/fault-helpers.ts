import { existsSync, readFileSync } from 'node:fs';
import { Api, eventually } from '../support/gateway';

/** One line of the fake network's send log: every send the network took (retries with one transaction id included). */
export interface SentLine {
  from: string;
  room: string;
  transactionId: string;
  text: string;
}

export function readSendLog(file: string): SentLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as SentLine);
}

/** A fake-network account, connected, with one room joined and opened as a conversation. */
export async function fakeAccountWithRoom(
  api: Api,
  opts: { network: string; user: string; room: string; sendLog: string; sendDelayMs?: number },
): Promise<{ accountId: string; conversationId: string }> {
  const created = await api.call('POST', '/api/v1/accounts', {
    adapter: 'fake',
    label: opts.user,
    options: {
      network: opts.network,
      user: opts.user,
      password: 'pw',
      autoJoin: [opts.room],
      sendLog: opts.sendLog,
      ...(opts.sendDelayMs ? { sendDelayMs: opts.sendDelayMs } : {}),
    },
  });
  if (created.status !== 201) throw new Error(`account: ${created.status} ${created.text}`);
  const accountId = created.json.id as string;
  await eventually(
    async () => (await api.call('GET', `/api/v1/accounts/${accountId}`)).json.state === 'connected',
    'the fake account connected',
  );
  const conv = await api.call('POST', '/api/v1/conversations', { accountId, address: opts.room });
  if (conv.status !== 201) throw new Error(`conversation: ${conv.status} ${conv.text}`);
  return { accountId, conversationId: conv.json.id as string };
}

/**
 * The API's answer while storage or queue is down: 503 with the documented error shape (or, for a request
 * that got through before the fault bit, a success). Returns the status.
 */
export function expectUnavailableShape(r: { status: number; json: unknown }): void {
  expect(r.status).toBe(503);
  expect(r.json).toEqual({
    error: { code: 'UNAVAILABLE', message: expect.any(String) },
  });
}

export interface Health {
  status: string;
  checks: { storage: { ok: boolean; message: string }; queue: { ok: boolean; message: string } };
  error?: { code: string; message: string };
}

export async function health(base: string): Promise<{ status: number; json: Health }> {
  const r = await new Api(base).call('GET', '/healthz');
  return { status: r.status, json: r.json as Health };
}

/** Every accepted text reached the network under exactly one transaction id (the network dedupes by it). */
export function assertDeliveredOnce(log: SentLine[], accepted: string[]): void {
  const txByText = new Map<string, Set<string>>();
  for (const l of log) {
    const s = txByText.get(l.text) ?? new Set<string>();
    s.add(l.transactionId);
    txByText.set(l.text, s);
  }
  const missing = accepted.filter((t) => !txByText.has(t));
  expect(missing).toEqual([]);
  const twice = accepted.filter((t) => (txByText.get(t)?.size ?? 0) > 1);
  expect(twice).toEqual([]);
}

/** Order of first arrival at the network, restricted to `accepted`, equals the order of acceptance. */
export function assertOrder(log: SentLine[], accepted: string[]): void {
  const acc = new Set(accepted);
  const first = [...new Set(log.map((l) => l.text))].filter((t) => acc.has(t));
  expect(first).toEqual(accepted.filter((t) => first.includes(t)));
}

/** The message left the outbox and the network took it (a receipt may have moved it on to delivered/read). */
export function isOut(status: string): boolean {
  return status === 'sent' || status === 'delivered' || status === 'read';
}
