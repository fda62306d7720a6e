import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../support/gateway';
import {
  assertDeliveredOnce,
  assertOrder,
  expectUnavailableShape,
  fakeAccountWithRoom,
  health,
  isOut,
  readSendLog,
} from './fault-helpers';

/**
 * Embedded mode, the SQLite file turns read-only under a running gateway (a disk remounted read-only, a
 * full volume). The tests run as root, who ignores file modes, so `chmod` proves nothing: the immutable
 * attribute (`chattr +i`) makes every write fail for root too, also through descriptors already open
 * (checked first, so the test cannot pass on a machine where the fault is not real).
 */
describe('embedded mode: the SQLite file becomes read-only', () => {
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let frozen: string[] = [];

  const chattr = (flag: '+i' | '-i', files: string[]) => {
    if (files.length) execFileSync('chattr', [flag, ...files]);
  };

  beforeAll(async () => {
    env = await startTestGateway();
  });
  afterAll(async () => {
    chattr('-i', frozen.filter(existsSync));
    await env?.stop();
  });

  it('answers 503 and an unhealthy /healthz while it lasts, loses nothing, and resumes by itself', async () => {
    const api = await new Api(env.gw.url).login('admin', ADMIN_PASSWORD);
    const sendLog = path.join(env.dir, 'sends.jsonl');
    // 150 ms per send: a backlog is still in the outbox when the fault begins.
    const { conversationId } = await fakeAccountWithRoom(api, {
      network: 'ro-net',
      user: 'alice',
      room: '#ro',
      sendLog,
      sendDelayMs: 150,
    });
    const post = (i: number) =>
      api.call('POST', `/api/v1/conversations/${conversationId}/messages`, {
        text: `m${i}`,
        clientId: `c${i}`,
      });

    const accepted: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await post(i);
      expect(r.status).toBe(202);
      accepted.push(`m${i}`);
    }
    expect((await health(env.gw.url)).status).toBe(200);

    const db = env.config.database.sqlitePath;
    frozen = [db, `${db}-wal`].filter(existsSync);
    chattr('+i', frozen);
    try {
      // The fault is real: root cannot write the file either.
      expect(() => execFileSync('sh', ['-c', `printf x >> '${db}'`], { stdio: 'ignore' })).toThrow();

      const refused = await post(100);
      expectUnavailableShape(refused);
      const h = await health(env.gw.url);
      expect(h.status).toBe(503);
      expect(h.json.status).toBe('unavailable');
      expect(h.json.checks.storage.ok).toBe(false);
      expect(h.json.checks.storage.message).toMatch(/not writable/);
      expect(h.json.error).toEqual({ code: 'UNAVAILABLE', message: expect.stringMatching(/sqlite/) });
      // Still down a moment later (the outbox keeps failing to record sends meanwhile).
      await new Promise((r) => setTimeout(r, 1000));
      expectUnavailableShape(await post(101));
    } finally {
      chattr('-i', frozen);
    }

    // It resumes by itself: no restart, no operator.
    await eventually(async () => (await health(env.gw.url)).status === 200, '/healthz 200 again');
    for (let i = 20; i < 25; i++) {
      const r = await post(i);
      expect(r.status).toBe(202);
      accepted.push(`m${i}`);
    }
    const stored = await eventually(
      async () => {
        const list = (await api.call('GET', `/api/v1/conversations/${conversationId}/messages?limit=100`))
          .json as { text: string; status: string }[];
        return list.length === accepted.length && list.every((m) => isOut(m.status)) && list;
      },
      'every accepted message sent',
      30_000,
    );
    expect(stored.map((m) => m.text)).toEqual(accepted); // the refused ones were never stored
    const log = readSendLog(sendLog);
    assertDeliveredOnce(log, accepted);
    assertOrder(log, accepted);
    expect(log.some((l) => l.text === 'm100' || l.text === 'm101')).toBe(false);
  });
});
