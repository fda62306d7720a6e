import net from 'node:net';

const STREAM_HEADER = (domain: string) =>
  `<?xml version='1.0'?><stream:stream to='${domain}' xmlns='jabber:client' ` +
  `xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`;

/**
 * A bare c2s connection for hostile-input tests: it logs in (plaintext SASL PLAIN, the test server must
 * allow it), binds a resource, then writes whatever bytes it is given, well-formed or not. It records
 * everything the server sends, so a test can tell when the server refused the input and closed.
 */
export class RawXmppClient {
  private received = '';
  private closed = false;
  readonly closedPromise: Promise<void>;

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      // Only the tail matters (stream errors, the next answer): bounded, whatever the server sends.
      this.received = (this.received + d).slice(-64 * 1024);
    });
    socket.on('error', () => undefined);
    this.closedPromise = new Promise((resolve) =>
      socket.once('close', () => {
        this.closed = true;
        resolve();
      }),
    );
  }

  static async login(
    host: string,
    port: number,
    domain: string,
    user: string,
    password: string,
    resource = 'raw',
  ): Promise<RawXmppClient> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host, port }, () => resolve(s));
      s.once('error', reject);
    });
    const c = new RawXmppClient(socket);
    c.send(STREAM_HEADER(domain));
    await c.waitFor(/<\/stream:features>/);
    c.send(
      `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from(`\0${user}\0${password}`).toString('base64')}</auth>`,
    );
    await c.waitFor(/<success/);
    c.received = '';
    c.send(STREAM_HEADER(domain));
    await c.waitFor(/<\/stream:features>/);
    c.send(
      `<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${resource}</resource></bind></iq>`,
    );
    await c.waitFor(/id=['"]bind1['"][^>]*type=['"]result|type=['"]result['"][^>]*id=['"]bind1/);
    c.send(`<iq type='set' id='sess1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>`);
    c.send('<presence/>');
    return c;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** What the server sent lately (the last 64 KiB). */
  get text(): string {
    return this.received;
  }

  send(data: string | Buffer): void {
    if (!this.closed) this.socket.write(data);
  }

  async waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.received)) {
      if (this.closed)
        throw new Error(`the server closed the stream before ${String(pattern)}: ${this.received}`);
      if (Date.now() > deadline)
        throw new Error(`no ${String(pattern)} from the server within ${timeoutMs} ms: ${this.received}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.socket.end('</stream:stream>');
    const t = setTimeout(() => this.socket.destroy(), 1000);
    await this.closedPromise;
    clearTimeout(t);
  }
}
