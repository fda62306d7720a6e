import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Client } from 'pg';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../support/gateway';
import { startPostgres, type PostgresServer } from '../support/postgres';
import { startRedis, type RedisServer } from '../support/redis';
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
 * Cluster mode (PostgreSQL + Redis/BullMQ) under outages of its two backing services, one gateway in this
 * process with a fake network whose send log is the truth about what reached the network. Each phase
 * leaves a backlog in the outbox when the fault begins; at the end every accepted message reached the
 * network under one transaction id, in the order it was accepted, and refused requests never did.
 */
describe('cluster mode: PostgreSQL and Redis outages', () => {
  let pg: PostgresServer;
  let redis: RedisServer;
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let api: Api;
  let conversationId: string;
  let sendLog: string;
  const accepted: string[] = [];
  const refused: string[] = [];
  let n = 0;

  beforeAll(async () => {
    [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
    env = await startTestGateway({
      database: { url: pg.url },
      queue: { redisUrl: redis.url, backoffBaseMs: 50, backoffMaxMs: 500 },
      security: { secretKey: randomBytes(32).toString('base64') },
    });
    api = await new Api(env.gw.url).login('admin', ADMIN_PASSWORD);
    sendLog = path.join(env.dir, 'sends.jsonl');
    ({ conversationId } = await fakeAccountWithRoom(api, {
      network: 'cluster-net',
      user: 'alice',
      room: '#cluster',
      sendLog,
      sendDelayMs: 100,
    }));
  }, 60_000);
  afterAll(async () => {
    await env?.stop();
    await Promise.all([pg?.stop(), redis?.stop()]);
  });

  /** Posts one message; 202 → accepted, 503 (with the JSON error) → refused; anything else fails the test. */
  async function post(): Promise<number> {
    const text = `m${n++}`;
    const r = await api.call('POST', `/api/v1/conversations/${conversationId}/messages`, {
      text,
      clientId: `c-${text}`,
    });
    if (r.status === 202) accepted.push(text);
    else {
      expectUnavailableShape(r);
      refused.push(text);
    }
    return r.status;
  }

  async function backlog(count: number): Promise<void> {
    for (let i = 0; i < count; i++) expect(await post()).toBe(202);
  }

  it('TypeORM reconnects after its PostgreSQL connections are terminated: the next API calls succeed', async () => {
    await backlog(10);
    const admin = new Client({ connectionString: pg.url });
    await admin.connect();
    try {
      const killed = await admin.query<{ pid: number }>(
        "SELECT pid FROM (SELECT pid, pg_terminate_backend(pid) AS signalled FROM pg_stat_activity WHERE application_name = 'switchboard' AND pid <> pg_backend_pid()) t WHERE signalled",
      );
      expect(killed.rows.length).toBeGreaterThan(0);
      // pg_terminate_backend only signals: each backend then tells its client and exits. The cut is over
      // (and every connection the gateway held is dead) once none of them is left.
      const pids = killed.rows.map((r) => r.pid);
      await eventually(
        async () =>
          Number(
            (
              await admin.query<{ n: string }>(
                'SELECT count(*) AS n FROM pg_stat_activity WHERE pid = ANY($1)',
                [pids],
              )
            ).rows[0]!.n,
          ) === 0,
        'the terminated backends to exit',
      );
    } finally {
      await admin.end();
    }
    // No outage for the user: every call right after the cut succeeds.
    for (let i = 0; i < 5; i++) {
      expect((await api.call('GET', `/api/v1/conversations/${conversationId}/messages?limit=5`)).status).toBe(
        200,
      );
      expect(await post()).toBe(202);
    }
    expect((await health(env.gw.url)).status).toBe(200);
  });

  it('PostgreSQL stopped: 503 with the JSON error, /healthz names the database, and it resumes by itself', async () => {
    await backlog(10);
    await pg.down();
    try {
      expect(await post()).toBe(503);
      const h = await health(env.gw.url);
      expect(h.status).toBe(503);
      expect(h.json.checks.storage.ok).toBe(false);
      expect(h.json.checks.storage.message).toMatch(/^postgres /);
      expect(h.json.checks.queue.ok).toBe(true);
      expect(h.json.error?.code).toBe('UNAVAILABLE');
      await new Promise((r) => setTimeout(r, 1500));
      expect(await post()).toBe(503);
    } finally {
      await pg.up();
    }
    await eventually(async () => (await health(env.gw.url)).status === 200, '/healthz 200 again', 30_000);
    expect(await post()).toBe(202);
  });

  it('Redis killed and restarted: 503 while it is down, BullMQ workers resume, nothing accepted is lost', async () => {
    await backlog(10);
    let restarted = false;
    const restart = redis.restart({ downMs: 4000, kill: true }).finally(() => (restarted = true));
    // While it is down: the API refuses new messages (503) and /healthz names the queue.
    const sawDown = await eventually(async () => {
      const h = await health(env.gw.url);
      return (h.status === 503 && !h.json.checks.queue.ok && h.json) || restarted;
    }, '/healthz reporting the queue down');
    expect(sawDown).not.toBe(true); // seen while Redis was down, not after
    expect(typeof sawDown === 'object' && sawDown.checks.queue.message).toMatch(/redis queue/);
    expect(await post()).toBe(503);
    await restart;
    await eventually(async () => (await health(env.gw.url)).status === 200, '/healthz 200 again', 30_000);
    // Workers and producers both work again: new jobs too.
    for (let i = 0; i < 5; i++) expect(await post()).toBe(202);
  });

  it('in the end every accepted message reached the network once, in order, and no refused one did', async () => {
    // A client retries what was refused, with the same clientId: now it is accepted, once.
    const retried = refused.splice(0);
    for (const text of retried) {
      const r = await api.call('POST', `/api/v1/conversations/${conversationId}/messages`, {
        text: `${text}-again`,
        clientId: `c-${text}`,
      });
      expect(r.status).toBe(202);
      accepted.push(`${text}-again`);
    }
    refused.push(...retried);
    const stored = await eventually(
      async () => {
        const list = (await api.call('GET', `/api/v1/conversations/${conversationId}/messages?limit=200`))
          .json as { text: string; status: string }[];
        return list.length >= accepted.length && list.every((m) => isOut(m.status)) && list;
      },
      'every accepted message sent',
      60_000,
    );
    expect(stored.map((m) => m.text)).toEqual(accepted);
    const log = readSendLog(sendLog);
    assertDeliveredOnce(log, accepted);
    assertOrder(log, accepted);
    expect(refused.length).toBeGreaterThanOrEqual(3);
    expect(log.filter((l) => refused.includes(l.text))).toEqual([]);
  });
});
