import type { EventFrame } from './api';
import { EventStream, type StreamState } from './event-stream';

/** A stand-in for the browser's WebSocket: records the URLs opened and lets the test drive events. */
class FakeSocket {
  static opened: FakeSocket[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: string }) => void) | null = null;
  onclose: ((ev: { code: number }) => void) | null = null;
  closed = false;
  constructor(readonly url: string) {
    FakeSocket.opened.push(this);
  }
  close(): void {
    this.closed = true;
  }
  frame(type: string, at: string): void {
    this.onmessage?.({ data: JSON.stringify({ type, data: {}, at, seq: 1 }) });
  }
}

describe('EventStream', () => {
  const g = globalThis as Record<string, unknown>;
  const saved = { WebSocket: g.WebSocket, location: g.location };
  let frames: EventFrame[];
  let states: StreamState[];
  let resyncs: number;
  let unauthorized: number;
  let stream: EventStream;

  beforeEach(() => {
    jest.useFakeTimers();
    FakeSocket.opened = [];
    g.WebSocket = FakeSocket;
    g.location = { href: 'https://gw.example/app/', protocol: 'https:' };
    frames = [];
    states = [];
    resyncs = 0;
    unauthorized = 0;
    stream = new EventStream('tok en', {
      onFrame: (f) => frames.push(f),
      onState: (s) => states.push(s),
      onResync: () => resyncs++,
      onUnauthorized: () => unauthorized++,
    });
  });
  afterEach(() => {
    stream.stop();
    jest.useRealTimers();
    g.WebSocket = saved.WebSocket;
    g.location = saved.location;
  });

  const last = () => FakeSocket.opened[FakeSocket.opened.length - 1]!;

  it('connects beside the page with the token, and resumes after a drop with since=<at of the last frame>', () => {
    stream.start();
    const first = new URL(last().url);
    expect(first.origin + first.pathname).toBe('wss://gw.example/app/api/v1/events');
    expect(first.searchParams.get('token')).toBe('tok en');
    expect(first.searchParams.has('since')).toBe(false);
    last().onopen?.();
    last().frame('presence.changed', '2026-11-26T10:00:00.000Z');
    last().frame('message.received', '2026-11-26T10:00:01.500Z');
    expect(frames.map((f) => f.type)).toEqual(['presence.changed', 'message.received']);

    last().onclose?.({ code: 1006 });
    expect(states[states.length - 1]).toBe('reconnecting');
    expect(FakeSocket.opened).toHaveLength(1);
    jest.advanceTimersByTime(500);
    expect(FakeSocket.opened).toHaveLength(2);
    expect(new URL(last().url).searchParams.get('since')).toBe('2026-11-26T10:00:01.500Z');
    last().onopen?.();
    expect(states[states.length - 1]).toBe('live');
    expect(resyncs).toBe(0);
  });

  it('backs off while the gateway stays away, and reloads the state when there was no frame to resume from', () => {
    stream.start();
    last().onclose?.({ code: 1006 });
    jest.advanceTimersByTime(500);
    last().onclose?.({ code: 1006 });
    jest.advanceTimersByTime(999);
    expect(FakeSocket.opened).toHaveLength(2);
    jest.advanceTimersByTime(1);
    expect(FakeSocket.opened).toHaveLength(3);
    last().onopen?.();
    expect(resyncs).toBe(1);
  });

  it('reloads after a truncated replay, signs out on 4401, and stays closed once stopped', () => {
    stream.start();
    last().onopen?.();
    last().frame('replay.truncated', '2026-11-26T10:00:02.000Z');
    expect(resyncs).toBe(1);
    last().onclose?.({ code: 4401 });
    expect(unauthorized).toBe(1);
    jest.advanceTimersByTime(60_000);
    expect(FakeSocket.opened).toHaveLength(1);

    stream.stop();
    expect(states[states.length - 1]).toBe('closed');
  });
});
