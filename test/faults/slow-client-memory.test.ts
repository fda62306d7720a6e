import WebSocket from 'ws';
import { EventsGateway } from '../../src/api/events/events.gateway';
import { ClientEventsService } from '../../src/events/client-events.service';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../support/gateway';

const LIMIT = 256 * 1024;
const FRAME = 64 * 1024;
/** 40 MiB: far more than loopback's socket buffers can absorb (a few MiB at most). */
const PUBLISHED = 640;

/**
 * The gateway's own buffer for a WebSocket client that never reads stays bounded by
 * `events.clientBufferBytes` (plus the one frame that crossed it), however much is published: the client is
 * closed with 4408 and a reason, and nothing more is queued for it. test/api/slow-client.test.ts shows the
 * close and the replay; this one measures the buffer while 160 times the limit is published.
 */
describe('a WebSocket client that never reads', () => {
  let env: Awaited<ReturnType<typeof startTestGateway>>;

  beforeAll(async () => {
    env = await startTestGateway({
      events: { clientBufferBytes: LIMIT, replayLimit: 1000, retentionHours: 1 },
    });
  });
  afterAll(async () => env?.stop());

  it('never makes the gateway buffer more than the limit, and is closed with 4408', async () => {
    const admin = await new Api(env.gw.url).login('admin', ADMIN_PASSWORD);
    const me = (await admin.call('GET', '/api/v1/me')).json as { id: string };
    const ws = new WebSocket(`${env.gw.url.replace('http', 'ws')}/api/v1/events?token=${admin.token}`);
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
    );
    const clientSocket = (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    clientSocket.pause();

    // The gateway's side of this connection (the only one).
    const gateway: unknown = env.gw.app.get(EventsGateway);
    const sockets = (gateway as { sockets: Set<WebSocket> }).sockets;
    const server = await eventually(async () => sockets.size === 1 && [...sockets][0], 'the server socket');

    const events = env.gw.app.get(ClientEventsService);
    const payload = 'x'.repeat(FRAME);
    let maxBuffered = 0;
    for (let i = 0; i < PUBLISHED; i++) {
      await events.publish(me.id, 'typing', { i, payload });
      maxBuffered = Math.max(maxBuffered, server.bufferedAmount);
      if (i % 20 === 0) await new Promise((r) => setImmediate(r));
    }
    // The kernel's socket buffers hold some; the gateway's own buffer never passed limit + one frame.
    expect(maxBuffered).toBeGreaterThan(LIMIT); // the client really stopped reading
    expect(maxBuffered).toBeLessThanOrEqual(LIMIT + FRAME + 1024);
    expect(server.readyState).toBe(WebSocket.CLOSING);
    const after = server.bufferedAmount;
    for (let i = 0; i < 50; i++) await events.publish(me.id, 'typing', { i, payload });
    expect(server.bufferedAmount).toBeLessThanOrEqual(after); // nothing more is queued for it

    clientSocket.resume();
    const { code, reason } = await closed;
    expect(code).toBe(4408);
    expect(reason).toMatch(/too slow/);
    await eventually(async () => sockets.size === 0, 'the gateway forgets the socket');
  });
});
