import net from 'node:net';

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * A bare XMPP client for the benchmark's contacts: plaintext c2s (the bench's prosody allows it for these
 * peers only in the sense that it does not require TLS), SASL PLAIN, bind, presence. It writes presence
 * stanzas and reports when each left, so the latency measured is the gateway's, not a client library's.
 */
export class RawXmppPeer {
  private buf = '';
  private closed = false;

  private constructor(
    private readonly socket: net.Socket,
    readonly jid: string,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => {
      // Only the login needs what the server says; afterwards keep a short tail so memory stays flat.
      this.buf = (this.buf + d.toString('utf8')).slice(-65536);
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }

  static async login(host: string, port: number, domain: string, user: string, password: string) {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host, port }, () => resolve(s));
      s.once('error', reject);
    });
    const c = new RawXmppPeer(socket, `${user}@${domain}`);
    const open = `<?xml version='1.0'?><stream:stream to='${domain}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`;
    socket.write(open);
    await c.waitFor(/<\/stream:features>/);
    c.buf = '';
    const plain = Buffer.from(`\0${user}\0${password}`).toString('base64');
    socket.write(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${plain}</auth>`);
    await c.waitFor(/<success/);
    c.buf = '';
    socket.write(open);
    await c.waitFor(/<\/stream:features>/);
    c.buf = '';
    socket.write(
      `<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>bench</resource></bind></iq>`,
    );
    await c.waitFor(/bind1/);
    c.buf = '';
    return c;
  }

  private async waitFor(re: RegExp, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!re.test(this.buf)) {
      if (/<failure|type=['"]error['"]/.test(this.buf))
        throw new Error(`${this.jid}: the server refused: ${this.buf.slice(0, 500)}`);
      if (this.closed || Date.now() > deadline)
        throw new Error(`${this.jid}: no ${String(re)} from the server; got ${this.buf.slice(0, 500)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Sends a presence; resolves with the time (performance.timeOrigin + now) just before the write. */
  presence(show?: 'away' | 'dnd' | 'xa' | 'chat', status?: string): number {
    const body = `${show ? `<show>${show}</show>` : ''}${status !== undefined ? `<status>${esc(status)}</status>` : ''}`;
    const t = performance.timeOrigin + performance.now();
    this.socket.write(`<presence>${body}</presence>`);
    return t;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.socket.end(`<presence type='unavailable'/></stream:stream>`);
    await new Promise<void>((r) => {
      const t = setTimeout(() => {
        this.socket.destroy();
        r();
      }, 1000);
      this.socket.once('close', () => {
        clearTimeout(t);
        r();
      });
    });
  }
}
