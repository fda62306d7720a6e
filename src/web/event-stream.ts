import type { EventFrame } from './api';

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'closed';

/** Close code the gateway uses for a missing or expired token (src/api/events/events.gateway.ts). */
const UNAUTHORIZED = 4401;

/**
 * The gateway's event WebSocket with reconnect. Each reconnect asks for `?since=<at of the last frame>` so
 * nothing is lost across a short disconnect; before the first frame there is nothing to resume from, so the
 * owner is told to reload its state instead (`onResync`).
 */
export class EventStream {
  private ws: WebSocket | undefined;
  private lastAt: string | undefined;
  private attempts = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(
    private readonly token: string,
    private readonly handlers: {
      onFrame: (frame: EventFrame) => void;
      onState: (state: StreamState) => void;
      onResync: () => void;
      onUnauthorized: () => void;
    },
  ) {}

  start(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.ws?.close(1000, 'client closed');
    this.ws = undefined;
    this.handlers.onState('closed');
  }

  private url(): string {
    const u = new URL('api/v1/events', location.href);
    u.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    u.searchParams.set('token', this.token);
    if (this.lastAt) u.searchParams.set('since', this.lastAt);
    return u.toString();
  }

  private open(): void {
    const resuming = this.attempts > 0;
    this.handlers.onState(resuming ? 'reconnecting' : 'connecting');
    const ws = new WebSocket(this.url());
    this.ws = ws;
    ws.onopen = () => {
      this.attempts = 0;
      this.handlers.onState('live');
      if (resuming && !this.lastAt) this.handlers.onResync();
    };
    ws.onmessage = (ev: MessageEvent<string>) => {
      let frame: EventFrame;
      try {
        frame = JSON.parse(ev.data) as EventFrame;
      } catch {
        return;
      }
      // A truncated replay is followed by a close; the state is reloaded and the stream resumes after it.
      if (frame.type === 'replay.truncated') this.handlers.onResync();
      else this.lastAt = frame.at;
      this.handlers.onFrame(frame);
    };
    ws.onclose = (ev: CloseEvent) => {
      if (this.ws !== ws || this.stopped) return;
      if (ev.code === UNAUTHORIZED) {
        this.handlers.onUnauthorized();
        return;
      }
      this.attempts++;
      // Back off 0.5 s, 1 s, 2 s … up to 15 s so a restarting gateway is not hammered.
      const delay = Math.min(15_000, 500 * 2 ** Math.min(this.attempts - 1, 5));
      this.handlers.onState('reconnecting');
      this.timer = setTimeout(() => this.open(), delay);
    };
  }
}
