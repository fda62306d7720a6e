// A worker thread holding a share of the benchmark's WebSocket clients. Each frame is stamped the moment
// its 'message' event fires, before anything else is done with it, so time spent parsing or in other
// sockets' handlers of the same batch is the only bench-side delay; the main thread (which drives the
// presence changes) is never the one receiving.
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';

interface Params {
  url: string;
  clients: number;
  /** Status texts `<marker><n>` identify the measured presence changes. */
  marker: string;
}

const { url, clients, marker } = workerData as Params;
const port = parentPort;
if (!port) throw new Error('ws-receivers.worker must run as a worker thread');

/** change number → receipt times (performance.timeOrigin + now, ms), one per client that got it. */
const receipts = new Map<number, number[]>();
const sockets: WebSocket[] = [];
let frames = 0;
let closedEarly = 0;
const re = new RegExp(`"status":"${marker}(\\d+)"`);

function open(): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.on('message', (data: Buffer) => {
      const t = performance.timeOrigin + performance.now();
      frames++;
      const text = data.toString('utf8');
      if (!text.startsWith('{"type":"presence.changed"')) return;
      // The endpoint's presence carries the status text; personPresence repeats it, the first match is enough.
      const m = re.exec(text);
      if (!m) return;
      const n = Number(m[1]);
      const list = receipts.get(n);
      if (list) list.push(t);
      else receipts.set(n, [t]);
    });
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.on('close', (code) => {
      if (code !== 1000 && code !== 1005) closedEarly++;
    });
    sockets.push(ws);
  });
}

port.on('message', (msg: { cmd: 'stop' }) => {
  if (msg.cmd !== 'stop') return;
  for (const ws of sockets) ws.close(1000);
  port.postMessage({ kind: 'result', receipts: [...receipts.entries()], frames, closedEarly });
});

void (async () => {
  // A few at a time: 250 handshakes at once on a loaded 2-core box would time some out.
  for (let i = 0; i < clients; i += 25)
    await Promise.all(Array.from({ length: Math.min(25, clients - i) }, () => open()));
  port.postMessage({ kind: 'ready' });
})().catch((e: unknown) => port.postMessage({ kind: 'error', error: String(e) }));
