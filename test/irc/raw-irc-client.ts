import net from 'node:net';
import tls from 'node:tls';

/**
 * A bare IRC connection for tests: writes exactly the lines it is given and records every line the
 * server sends, byte-exact. It is the observer that tells what the server really relayed.
 */
export class RawIrcClient {
  readonly lines: string[] = [];
  private buffer = Buffer.alloc(0);
  private closed = false;
  readonly closedPromise: Promise<void>;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => this.onData(d));
    this.closedPromise = new Promise((resolve) =>
      socket.once('close', () => {
        this.closed = true;
        resolve();
      }),
    );
    socket.on('error', () => undefined);
  }

  static async connect(
    host: string,
    port: number,
    opts: { tls?: boolean; ca?: string } = {},
  ): Promise<RawIrcClient> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = opts.tls
        ? tls.connect({ host, port, ...(opts.ca ? { ca: opts.ca } : {}), servername: 'localhost' })
        : net.connect({ host, port });
      s.once(opts.tls ? 'secureConnect' : 'connect', () => resolve(s));
      s.once('error', reject);
    });
    return new RawIrcClient(socket);
  }

  /** Connects and registers; resolves after 001. CAPs in `caps` are requested first. */
  static async register(
    host: string,
    port: number,
    nick: string,
    opts: { caps?: string[]; password?: string; tls?: boolean; ca?: string } = {},
  ): Promise<RawIrcClient> {
    const c = await RawIrcClient.connect(host, port, opts);
    if (opts.caps?.length) c.send(`CAP REQ :${opts.caps.join(' ')}`);
    if (opts.password) c.send(`PASS ${opts.password}`);
    c.send(`NICK ${nick}`);
    c.send(`USER ${nick} 0 * :${nick}`);
    if (opts.caps?.length) {
      await c.waitFor(/ CAP \S+ (ACK|NAK) /);
      c.send('CAP END');
    }
    await c.waitFor(new RegExp(`^(@\\S+ )?:\\S+ 001 ${nick} `));
    return c;
  }

  private onData(d: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, d]);
    for (;;) {
      const i = this.buffer.indexOf(0x0a);
      if (i < 0) break;
      let line = this.buffer.subarray(0, i);
      this.buffer = this.buffer.subarray(i + 1);
      if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
      const text = line.toString('utf8');
      const ping = /^PING (.*)$/.exec(text);
      if (ping) this.send(`PONG ${ping[1]}`);
      this.lines.push(text);
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  send(line: string): void {
    if (/[\r\n\0]/.test(line)) throw new Error('the raw test client sends one line at a time');
    this.socket.write(`${line}\r\n`);
  }

  /** Writes bytes exactly as given, CR, LF and NUL included (for hostile-input tests). */
  sendBytes(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  /** Resolves with the first recorded line (from `from` on) that matches. */
  async waitFor(pattern: RegExp, timeoutMs = 10_000, from = 0): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.slice(from).find((l) => pattern.test(l));
      if (hit !== undefined) return hit;
      if (Date.now() > deadline)
        throw new Error(
          `no line matching ${String(pattern)} within ${timeoutMs} ms; got:\n${this.lines.slice(-30).join('\n')}`,
        );
      if (this.closed)
        throw new Error(`connection closed before ${String(pattern)}:\n${this.lines.join('\n')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** The command word of a server line (`PRIVMSG`, `001` …), tags and prefix skipped. */
  static commandOf(line: string): string {
    const parts = line.split(' ');
    let i = 0;
    if (parts[i]?.startsWith('@')) i++;
    if (parts[i]?.startsWith(':')) i++;
    return parts[i] ?? '';
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      this.send('QUIT :bye');
    } catch {
      // socket already gone
    }
    const t = setTimeout(() => this.socket.destroy(), 1000);
    this.socket.end();
    await this.closedPromise;
    clearTimeout(t);
  }
}
