import path from 'node:path';
import type xml from '@xmpp/xml';
import { boundedParser } from '../../adapters/xmpp/bounded-xml.parser';
import { classifyFailure } from '../../adapters/xmpp/xmpp-errors.mapper';
import { xmppOptionsSchema } from '../../adapters/xmpp/xmpp.options';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../support/gateway';
import { startProsody, type ProsodyServer } from '../support/prosody';
import { loadCases, payloadBytes, rssBytes, RSS_GROWTH_BOUND, unsafeHtml, type Payload } from './corpus';
import { RawXmppClient } from './raw-xmpp-client';

const XMPP_ADAPTER_PATH = path.resolve(__dirname, '../../adapters/xmpp');
const STREAM = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";

interface XmppInput {
  /** Bytes on the stream after its header. `{to}` is the gateway account's JID, `{from}` the sender's full JID. */
  xml: Payload;
  /** Also send it through prosody from a hostile user (default true). */
  prosody?: boolean;
}

interface XmppExpect {
  /**
   * What the adapter's own parser does with it: refuse the stream with this code, `skipped` (the stanza
   * alone is dropped, the stream goes on: nesting too deep), or `ok`.
   */
  parser: 'ok' | 'skipped' | 'not_well_formed' | 'stanza_too_large';
  /** With `ok`: how many top-level stanzas it parses. */
  parserStanzas?: number;
  /** Through prosody: the server refuses it (closes the sender's stream), or delivers something. */
  prosody?: 'rejects' | 'delivers';
  /** When delivered: the texts the gateway stored, in order. */
  stored?: string[];
}

interface StoredMessage {
  id: string;
  text: string;
  html?: string;
  sender: { displayName: string; self: boolean };
}

const cases = loadCases<XmppInput, XmppExpect>('xmpp');
const defaults = xmppOptionsSchema.parse({ jid: 'a@example.test', password: 'x' });

/** Feeds the stream header and the case to the adapter's bounded parser, in network-sized chunks. */
function parse(bytes: Buffer): { stanzas: xml.Element[]; errors: Error[]; skipped: Error[] } {
  const skipped: Error[] = [];
  const Parser = boundedParser({
    maxStanzaBytes: defaults.maxStanzaBytes,
    maxDepth: defaults.maxDepth,
    onSkipped: (e) => skipped.push(e),
  });
  const p = new Parser();
  const stanzas: xml.Element[] = [];
  const errors: Error[] = [];
  p.on('element', (e: xml.Element) => stanzas.push(e));
  p.on('error', (e: Error) => errors.push(e));
  p.write(STREAM);
  const text = bytes.toString('utf8');
  for (let i = 0; i < text.length; i += 16 * 1024) p.write(text.slice(i, i + 16 * 1024));
  return { stanzas, errors, skipped };
}

/**
 * Hostile XMPP from test/corpus/xmpp/: XML bombs, external entities, deep nesting, oversized stanzas.
 * Each case goes to the adapter's bounded parser directly (prosody refuses most of them before they
 * could reach the gateway), then through a real prosody from a hostile user to the gateway's account:
 * prosody's refusal, or the gateway's outcome for what it lets through, is asserted.
 */
describe('hostile-input corpus: XMPP', () => {
  let server: ProsodyServer;
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let api: Api;
  let accountId: string;
  let gatewayJid: string;
  let hostile: RawXmppClient | undefined;
  let rssBefore = 0;
  const seen = new Set<string>();

  async function hostileClient(): Promise<RawXmppClient> {
    if (!hostile || hostile.isClosed) {
      hostile = await RawXmppClient.login(server.host, server.port, server.domain, 'mallory', 'mallory-pw');
    }
    return hostile;
  }

  beforeAll(async () => {
    server = await startProsody({ allowPlaintext: true });
    await server.registerUser('gw', 'gw-pw');
    await server.registerUser('mallory', 'mallory-pw');
    gatewayJid = `gw@${server.domain}`;
    env = await startTestGateway({ adapters: [{ id: 'xmpp', path: XMPP_ADAPTER_PATH }] });
    api = await new Api(env.gw.url).login('admin', ADMIN_PASSWORD);
    const account = await api.call('POST', '/api/v1/accounts', {
      adapter: 'xmpp',
      options: {
        jid: gatewayJid,
        password: 'gw-pw',
        host: server.host,
        port: server.port,
        trustedCertificate: server.certificatePem,
      },
    });
    expect(account.status).toBe(201);
    accountId = account.json.id as string;
    await eventually(
      async () => (await api.call('GET', `/api/v1/accounts/${accountId}`)).json.state === 'connected',
      'the XMPP account connected',
    );
    await hostileClient();
    rssBefore = rssBytes();
  });

  afterAll(async () => {
    await hostile?.close();
    await env?.stop();
    await server?.stop();
  });

  async function storedFromHostile(): Promise<StoredMessage[]> {
    const convs = (await api.call('GET', '/api/v1/conversations')).json as { id: string }[];
    const out: StoredMessage[] = [];
    for (const c of convs) {
      const list = (await api.call('GET', `/api/v1/conversations/${c.id}/messages?limit=500`))
        .json as StoredMessage[];
      out.push(...list.filter((m) => !m.sender.self && !seen.has(m.id)));
    }
    return out;
  }

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (name, c) => {
    const bytes = Buffer.from(
      payloadBytes(c.input.xml)
        .toString('latin1')
        .replace(/\{to\}/g, gatewayJid)
        .replace(/\{from\}/g, `mallory@${server.domain}/raw`),
      'latin1',
    );

    // 1. The adapter's own parser.
    const parsed = parse(bytes);
    if (c.expect.parser === 'ok' || c.expect.parser === 'skipped') {
      expect(parsed.errors).toEqual([]);
      expect(parsed.skipped.length > 0).toBe(c.expect.parser === 'skipped');
      if (c.expect.parserStanzas !== undefined) expect(parsed.stanzas).toHaveLength(c.expect.parserStanzas);
    } else {
      // One error, which the account reports with this code (the stream is then closed and reopened).
      expect(parsed.errors).toHaveLength(1);
      const status = classifyFailure(parsed.errors[0]);
      expect(status).toMatchObject({ state: 'transient_disconnect', code: c.expect.parser });
      expect(status.message?.length).toBeGreaterThan(20);
    }

    // 2. Through prosody, from a hostile user, to the gateway's account.
    if (c.input.prosody === false) return;
    const sender = await hostileClient();
    sender.send(bytes);
    if (c.expect.prosody === 'rejects') {
      await Promise.race([
        sender.closedPromise,
        sender.waitFor(/<stream:error>/, 15_000).then(() => sender.closedPromise),
      ]);
      expect(sender.text).toMatch(/<stream:error>|<\/stream:stream>/);
    }
    const marker = `end-of-${name}`;
    const next = await hostileClient();
    next.send(`<message to='${gatewayJid}' type='chat' id='${marker}'><body>${marker}</body></message>`);
    const all = await eventually(
      async () => {
        const list = await storedFromHostile();
        return list.some((m) => m.text === marker) && list;
      },
      `the marker after ${name}`,
      30_000,
    );
    for (const m of all) seen.add(m.id);
    const got = all.filter((m) => m.text !== marker);
    expect(got.map((m) => m.text)).toEqual(c.expect.stored ?? []);
    for (const m of got) if (m.html !== undefined) expect(unsafeHtml(m.html)).toEqual([]);
    expect((await new Api(env.gw.url).call('GET', '/healthz')).status).toBe(200);
    expect((await api.call('GET', `/api/v1/accounts/${accountId}`)).json.state).toBe('connected');
  });

  it('kept its memory bounded', () => {
    expect(rssBytes() - rssBefore).toBeLessThan(RSS_GROWTH_BOUND);
  });
});
