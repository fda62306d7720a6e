import { Inject, OnModuleDestroy } from '@nestjs/common';
import { OnGatewayConnection, WebSocketGateway } from '@nestjs/websockets';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { AppConfig } from '../../config';
import type { Logger } from '../../common/logger';
import { ClientEventsService, frameText } from '../../events/client-events.service';
import type { ClientEventFrame } from '../../events/client-event.types';
import { CONFIG, LOGGER } from '../../tokens';
import { AuthService } from '../auth/auth.service';
import { bearerToken } from '../auth/auth.guard';

/** Close codes in the private range (4000-4999) so clients can tell why they were dropped. */
export const WS_CLOSE = { unauthorized: 4401, badRequest: 4400, tooSlow: 4408, shuttingDown: 1001 } as const;

/**
 * `GET /api/v1/events` upgraded to WebSocket. Each frame is `{type, data, at, seq}`. `?since=` replays what
 * the client missed, then the stream goes live without a gap or a duplicate.
 */
// Clients never need to send frames (commands go through REST): a small cap means nobody, signed in or
// not yet, can make the server buffer ws's default of 100 MiB per message. Over it: closed with 1009.
@WebSocketGateway({ path: '/api/v1/events', maxPayload: 64 * 1024 })
export class EventsGateway implements OnGatewayConnection, OnModuleDestroy {
  private readonly sockets = new Set<WebSocket>();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    private readonly auth: AuthService,
    private readonly events: ClientEventsService,
    @Inject(CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    // A connection that stops answering pings is dead even if TCP looks up: drop it.
    this.heartbeat = setInterval(() => {
      for (const ws of this.sockets) {
        const w = ws as WebSocket & { alive?: boolean };
        if (w.alive === false) {
          ws.terminate();
          continue;
        }
        w.alive = false;
        ws.ping();
      }
    }, 30_000);
    this.heartbeat.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.heartbeat);
    for (const ws of this.sockets) ws.close(WS_CLOSE.shuttingDown, 'server shutting down');
  }

  /** Resolves true once the socket's send buffer is under `limit`, false if it stays full for 30 s or closes. */
  private async drained(ws: WebSocket, limit: number): Promise<boolean> {
    const deadline = Date.now() + 30_000;
    while (ws.bufferedAmount > limit / 2) {
      if (ws.readyState !== ws.OPEN || Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
    return ws.readyState === ws.OPEN;
  }

  async handleConnection(ws: WebSocket, req: IncomingMessage): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const token = url.searchParams.get('token') ?? bearerToken(req.headers.authorization);
    const user = token ? await this.auth.authenticate(token).catch(() => undefined) : undefined;
    if (!user) {
      ws.close(WS_CLOSE.unauthorized, 'unauthorized: pass ?token= or Authorization: Bearer');
      return;
    }
    this.sockets.add(ws);
    (ws as WebSocket & { alive?: boolean }).alive = true;
    ws.on('pong', () => ((ws as WebSocket & { alive?: boolean }).alive = true));

    const limit = this.config.events.clientBufferBytes;
    let lastSeq = 0;
    let live = false;
    const pending: ClientEventFrame[] = [];
    const send = (frame: ClientEventFrame): void => {
      if (frame.seq <= lastSeq) return;
      lastSeq = frame.seq;
      if (ws.readyState !== ws.OPEN) return;
      // A client that does not read must not grow our memory: past the limit it is dropped with a reason,
      // and it can resume with ?since= when it comes back.
      if (ws.bufferedAmount > limit) {
        ws.close(WS_CLOSE.tooSlow, 'client too slow: reconnect with ?since=');
        return;
      }
      ws.send(frameText(frame));
    };
    const unsubscribe = this.events.subscribe(user.id, (frame) => {
      if (live) return send(frame);
      // Live frames wait while the replay runs; a client that needs longer than this is dropped.
      if (pending.length >= this.config.events.replayLimit)
        ws.close(WS_CLOSE.tooSlow, 'client too slow: reconnect with ?since=');
      else pending.push(frame);
    });
    ws.on('close', () => {
      unsubscribe();
      this.sockets.delete(ws);
    });
    ws.on('message', () => {
      // The stream is server → client; client frames are ignored (commands go through REST).
    });

    const since = url.searchParams.get('since');
    if (since) {
      try {
        const { frames, truncated } = await this.events.replay(user.id, since);
        for (const f of frames) {
          // The replay is paced by the client's reading, not cut off: wait while its buffer is full.
          if (!(await this.drained(ws, limit))) {
            ws.close(WS_CLOSE.tooSlow, 'client too slow: reconnect with ?since=');
            return;
          }
          send(f);
        }
        if (truncated) {
          ws.send(
            JSON.stringify({
              type: 'replay.truncated',
              data: {
                reason:
                  'more events were missed than one replay holds; reconnect with since=<at of the last frame>',
              },
              at: new Date().toISOString(),
              seq: lastSeq,
            }),
          );
          // Live frames after a truncated replay would leave a gap; the client resumes from the last frame.
          ws.close(1000, 'replay truncated: resume with since');
          return;
        }
      } catch (err) {
        ws.close(WS_CLOSE.badRequest, err instanceof RangeError ? err.message.slice(0, 120) : 'bad since');
        return;
      }
    }
    live = true;
    for (const f of pending.splice(0)) send(f);
    this.logger.debug('event stream connected', { user: user.username });
  }
}
