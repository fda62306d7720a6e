import net from 'node:net';
import xml from '@xmpp/xml';

const NS_MUC = 'http://jabber.org/protocol/muc';
const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';
const NS_COMMANDS = 'http://jabber.org/protocol/commands';
const NS_DATA = 'jabber:x:data';

const esc = (s: string): string =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');

export const nowMs = (): number => performance.timeOrigin + performance.now();

/** A groupchat message as the client read it, stamped when its stanza was parsed. */
export interface GroupchatMessage {
  from: string;
  body: string;
  at: number;
}

/**
 * A bare XMPP client for benchmarks and gateway tests: plaintext c2s (the server must be started with
 * `allowPlaintext`), SASL PLAIN, bind, no roster or stream management. It writes the stanzas it is told
 * to and hands every groupchat message to `onGroupchat` as soon as its stanza is parsed, so what is
 * measured is the servers and gateways in between, not a client library.
 */
export class RawXmppClient {
  private parser = new xml.Parser();
  private closed = false;
  private nextId = 0;
  private readonly waiters: { match: (el: xml.Element) => boolean; resolve: (el: xml.Element) => void }[] =
    [];
  private readonly listeners: ((m: GroupchatMessage) => void)[] = [];
  /** Stanzas nobody waited for, newest last (kept short; for failure messages). */
  readonly recent: string[] = [];

  private constructor(
    private readonly socket: net.Socket,
    readonly jid: string,
    private readonly domain: string,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.parser.write(d.toString('utf8')));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
    this.resetParser();
  }

  private resetParser(): void {
    this.parser = new xml.Parser();
    this.parser.on('element', (el: xml.Element) => this.onStanza(el));
    this.parser.on('error', (e: Error) => this.recent.push(`parse error: ${e.message}`));
  }

  private onStanza(el: xml.Element): void {
    if (el.name === 'message' && el.attrs.type === 'groupchat') {
      const body = el.getChildText('body');
      if (body !== null) {
        const m = { from: el.attrs.from ?? '', body, at: nowMs() };
        for (const l of this.listeners) l(m);
        return;
      }
    }
    const i = this.waiters.findIndex((w) => w.match(el));
    if (i >= 0) {
      this.waiters.splice(i, 1)[0]!.resolve(el);
      return;
    }
    this.recent.push(el.toString().slice(0, 2000));
    if (this.recent.length > 20) this.recent.shift();
  }

  /** The next stanza `match` accepts (stanzas that arrived before the call are not looked at). */
  waitFor(what: string, match: (el: xml.Element) => boolean, timeoutMs = 15_000): Promise<xml.Element> {
    return new Promise((resolve, reject) => {
      const w = {
        match,
        resolve: (el: xml.Element) => {
          clearTimeout(timer);
          resolve(el);
        },
      };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(
          new Error(`${this.jid}: no ${what} within ${timeoutMs} ms; recent:\n${this.recent.join('\n')}`),
        );
      }, timeoutMs);
      this.waiters.push(w);
    });
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
    const c = new RawXmppClient(socket, `${user}@${domain}`, domain);
    try {
      let features = c.openStream();
      await features;
      const success = c.waitFor('SASL result', (el) => el.name === 'success' || el.name === 'failure');
      c.write(
        `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from(`\0${user}\0${password}`).toString('base64')}</auth>`,
      );
      const sasl = await success;
      if (sasl.name !== 'success') throw new Error(`SASL PLAIN refused: ${sasl.toString()}`);
      features = c.openStream();
      await features;
      const bound = await c.iq(
        `<iq type='set' id='ID'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${esc(resource)}</resource></bind></iq>`,
      );
      const full = bound.getChild('bind')?.getChildText('jid');
      if (!full) throw new Error(`bind: ${bound.toString()}`);
      c.write(`<presence/>`);
      return c;
    } catch (e) {
      socket.destroy();
      throw new Error(`${user}@${domain} could not log in: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private openStream(): Promise<xml.Element> {
    this.resetParser();
    const features = this.waitFor('stream features', (el) => el.name === 'stream:features');
    this.write(
      `<?xml version='1.0'?><stream:stream to='${esc(this.domain)}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`,
    );
    return features;
  }

  write(data: string): void {
    if (this.closed) throw new Error(`${this.jid}: the connection is closed`);
    this.socket.write(data);
  }

  /** Sends an IQ (its `id='ID'` replaced by a fresh id) and resolves with the result, or rejects on an error. */
  async iq(stanza: string, timeoutMs = 15_000): Promise<xml.Element> {
    const id = `q${++this.nextId}`;
    const reply = this.waitFor(
      `answer to iq ${id}`,
      (el) =>
        el.name === 'iq' && el.attrs.id === id && (el.attrs.type === 'result' || el.attrs.type === 'error'),
      timeoutMs,
    );
    this.write(stanza.replace("id='ID'", `id='${id}'`));
    const el = await reply;
    if (el.attrs.type === 'error') throw new Error(`iq ${id} failed: ${el.toString()}`);
    return el;
  }

  onGroupchat(listener: (m: GroupchatMessage) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Joins a MUC as `room/nick` without history and resolves on the room's self-presence (status 110), or
   * rejects with the error the room (or a gateway serving it) answered.
   */
  async joinRoom(roomJid: string, nick: string, timeoutMs = 20_000): Promise<void> {
    const full = `${roomJid}/${nick}`;
    const joined = this.waitFor(
      `self-presence in ${full}`,
      (el) =>
        el.name === 'presence' &&
        el.attrs.from?.toLowerCase() === full.toLowerCase() &&
        (el.attrs.type === 'error' ||
          (el.getChild('x', NS_MUC_USER)?.getChildren('status') ?? []).some((s) => s.attrs.code === '110')),
      timeoutMs,
    );
    this.write(`<presence to='${esc(full)}'><x xmlns='${NS_MUC}'><history maxstanzas='0'/></x></presence>`);
    const p = await joined;
    if (p.attrs.type === 'error') throw new Error(`${this.jid} could not join ${full}: ${p.toString()}`);
    // A room this join created (201) stays locked to others until its owner accepts a configuration.
    if ((p.getChild('x', NS_MUC_USER)?.getChildren('status') ?? []).some((s) => s.attrs.code === '201'))
      await this.iq(
        `<iq type='set' id='ID' to='${esc(roomJid)}'><query xmlns='${NS_MUC}#owner'><x xmlns='${NS_DATA}' type='submit'/></query></iq>`,
      );
  }

  /** A groupchat message to a room. */
  say(roomJid: string, body: string): void {
    this.write(`<message to='${esc(roomJid)}' type='groupchat'><body>${esc(body)}</body></message>`);
  }

  /**
   * Runs an ad-hoc command (XEP-0050) on `to`: executes `node`, then submits the form it returned with
   * `fields` (a list value is a multi-value field, `[]` an empty one). Resolves with the final answer.
   */
  async adhoc(to: string, node: string, fields: Record<string, string | string[]>): Promise<xml.Element> {
    const first = await this.iq(
      `<iq type='set' id='ID' to='${esc(to)}'><command xmlns='${NS_COMMANDS}' node='${esc(node)}' action='execute'/></iq>`,
    );
    const sessionid = first.getChild('command', NS_COMMANDS)?.attrs.sessionid;
    if (!sessionid) throw new Error(`ad-hoc ${node} on ${to}: no session: ${first.toString()}`);
    const form = Object.entries(fields)
      .map(([k, v]) => {
        const values = (Array.isArray(v) ? v : [v]).map((x) => `<value>${esc(x)}</value>`);
        return `<field var='${esc(k)}'>${values.join('')}</field>`;
      })
      .join('');
    const done = await this.iq(
      `<iq type='set' id='ID' to='${esc(to)}'><command xmlns='${NS_COMMANDS}' node='${esc(node)}' sessionid='${esc(sessionid)}' action='complete'><x xmlns='${NS_DATA}' type='submit'>${form}</x></command></iq>`,
    );
    const status = done.getChild('command', NS_COMMANDS)?.attrs.status;
    if (status !== 'completed')
      throw new Error(`ad-hoc ${node} on ${to} did not complete: ${done.toString()}`);
    return done;
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
