import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';

export interface FreePortOptions {
  /** Consecutive ports needed from the returned one on (baresip takes its TLS listener at port + 1). */
  span?: number;
  /** Check TCP (default) and/or UDP at each port. */
  tcp?: boolean;
  udp?: boolean;
}

/**
 * The ports tests hand to servers come from below the kernel's ephemeral range. A port the kernel
 * picked for `listen(0)` is an ephemeral port, and between our probe closing it and the server binding
 * it, any outgoing connection of any process may take it as its local port: CI once lost a whole SIP
 * file to `bind: Address already in use` that way. Below the range no outgoing connection is given a
 * port, and the module never hands the same port out twice in one process.
 */
function allocatableRange(): [number, number] {
  let low = 32768;
  try {
    const [l] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    const n = Number(l);
    if (Number.isInteger(n) && n > 12000) low = n;
  } catch {
    /* not Linux: keep the IANA default */
  }
  // Leave room under the range for the RTP and relay ranges some servers are given by fixed numbers.
  return [10000, low - 1];
}

const [FIRST, LAST] = allocatableRange();
let cursor = FIRST + Math.floor(Math.random() * (LAST - FIRST));
const handedOut = new Set<number>();

function tcpFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function udpFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    s.unref();
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind({ port, address: host, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/**
 * A free port on `host` (loopback by default), with `span` consecutive ports free from it on, by TCP
 * and/or UDP as asked. Each port is handed out at most once per process.
 */
export async function freePort(host = '127.0.0.1', o: FreePortOptions = {}): Promise<number> {
  const span = o.span ?? 1;
  const tcp = o.tcp ?? true;
  const udp = o.udp ?? false;
  const size = LAST - FIRST + 1;
  for (let tried = 0; tried < size; tried++) {
    if (cursor + span - 1 > LAST) cursor = FIRST;
    const start = cursor;
    cursor += span;
    let ok = true;
    for (let p = start; ok && p < start + span; p++) {
      ok = !handedOut.has(p) && (!tcp || (await tcpFree(p, host))) && (!udp || (await udpFree(p, host)));
    }
    if (!ok) continue;
    for (let p = start; p < start + span; p++) handedOut.add(p);
    return start;
  }
  throw new Error(`no ${span} free consecutive ports on ${host} between ${FIRST} and ${LAST}`);
}

/** Resolves once something accepts TCP connections at host:port, or rejects after timeoutMs. */
export async function waitForPort(port: number, host = '127.0.0.1', timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port, host });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => {
        s.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(`nothing accepted connections on ${host}:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
