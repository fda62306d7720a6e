import WebSocket from 'ws';
import { ClientEventsService } from '../../src/events/client-events.service';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../support/gateway';

/**
 * A WebSocket client that stops reading must not make the gateway buffer without bound: past
 * `events.clientBufferBytes` it is closed with 4408, and it can resume later with `?since=`.
 */
describe('a slow event-stream client', () => {
  let env: Awaited<ReturnType<typeof startTestGateway>>;

  beforeAll(async () => {
    env = await startTestGateway({
      events: { clientBufferBytes: 64 * 1024, replayLimit: 1000, retentionHours: 1 },
    });
  });
  afterAll(async () => env?.stop());

  it('is disconnected with 4408 once its buffer is full, and resumes with since', async () => {
    const admin = await new Api(env.gw.url).login('admin', ADMIN_PASSWORD);
    const me = (await admin.call('GET', '/api/v1/me')).json as { id: string };
    const ws = new WebSocket(`${env.gw.url.replace('http', 'ws')}/api/v1/events?token=${admin.token}`);
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
    );
    // The client stops reading from its socket.
    (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();

    const events = env.gw.app.get(ClientEventsService);
    const payload = 'x'.repeat(16 * 1024);
    // 300 × 16 KiB: far more than the socket buffers plus the 64 KiB allowance hold. The client, paused,
    // cannot see the close until it reads again.
    const published = 300;
    for (let i = 0; i < published; i++) {
      await events.publish(me.id, 'typing', { i, payload });
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    (ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const { code, reason } = await closed;
    expect(code).toBe(4408);
    expect(reason).toMatch(/too slow/);

    // Everything it missed is still there for a replay.
    const replay = new WebSocket(
      `${env.gw.url.replace('http', 'ws')}/api/v1/events?token=${admin.token}&since=seq:0`,
    );
    const frames: { seq: number; at: string }[] = [];
    replay.on('message', (d) => frames.push(JSON.parse(String(d))));
    await eventually(async () => frames.length >= published, 'the replay');
    replay.close();
    expect(frames[0]!.seq).toBeLessThan(frames.at(-1)!.seq);
  });
});
