import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RawIrcClient } from '../irc/raw-irc-client';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../support/gateway';
import { startInspircd, type InspircdServer } from '../support/inspircd';
import {
  expandJson,
  loadCases,
  payloadBytes,
  rssBytes,
  RSS_GROWTH_BOUND,
  unsafeHtml,
  type Payload,
} from './corpus';

const IRC_ADAPTER_PATH = path.resolve(__dirname, '../../adapters/irc');
const CHANNEL = '#corpus';
const GW_NICK = 'gwcorpus';
const HOSTILE_NICK = 'mallory';

interface IrcInput {
  /** `inbound`: raw bytes from a hostile IRC user; `outbound`: an API request whose text goes to IRC. */
  direction: 'inbound' | 'outbound';
  /** inbound: what the hostile client writes, byte for byte; `{channel}` and `{gateway}` are replaced. */
  send?: Payload[];
  /** outbound: the API request (`{account}`, `{conversation}` in the path are replaced). */
  request?: { method: string; path: string; json?: unknown };
}

interface IrcExpect {
  /** inbound: the texts the gateway stored from the hostile user, in order (channel and private). */
  stored?: string[];
  /** inbound: instead of `stored`, how many messages and a pattern each text matches. */
  storedCount?: number;
  storedMatches?: string;
  /** inbound: a pattern the `html` of every stored message must match. */
  htmlMatches?: string;
  /** outbound: the API's status for the request. */
  status?: number;
  /** outbound: the stored message's final status (`sent` or `failed`). */
  messageStatus?: string;
  /** outbound: exactly the lines the IRC server received from the gateway (tags dropped), in order. */
  lines?: string[];
}

interface StoredMessage {
  id: string;
  text: string;
  html?: string;
  status: string;
  sender: { displayName: string; self: boolean };
}

const cases = loadCases<IrcInput, IrcExpect>('irc');

/**
 * Hostile IRC input from test/corpus/irc/, through a real InspIRCd to the gateway's IRC account, and
 * API sends whose text must never become an IRC command of its own. The server logs every line it
 * receives (raw I/O log), so the outbound cases assert on exactly what the server saw from the gateway.
 */
describe('hostile-input corpus: IRC', () => {
  let server: InspircdServer;
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let api: Api;
  let hostile: RawIrcClient;
  let accountId: string;
  let conversationId: string;
  let logDir: string;
  let rawLog: string;
  let rssBefore = 0;
  const seen = new Set<string>();

  beforeAll(async () => {
    logDir = mkdtempSync(path.join(tmpdir(), 'sb-corpus-irc-'));
    rawLog = path.join(logDir, 'rawio.log');
    server = await startInspircd({
      extraConfig: `<log method="file" type="USERINPUT" level="rawio" target="${rawLog}" flush="1">`,
    });
    env = await startTestGateway({ adapters: [{ id: 'irc', path: IRC_ADAPTER_PATH }] });
    api = await new Api(env.gw.url).login('admin', ADMIN_PASSWORD);
    const account = await api.call('POST', '/api/v1/accounts', {
      adapter: 'irc',
      options: {
        host: server.host,
        port: server.port,
        tls: false,
        nick: GW_NICK,
        floodIntervalMs: 20,
        floodBurst: 20,
      },
    });
    expect(account.status).toBe(201);
    accountId = account.json.id as string;
    await eventually(
      async () => (await api.call('GET', `/api/v1/accounts/${accountId}`)).json.state === 'connected',
      'the IRC account connected',
    );
    const conv = await api.call('POST', '/api/v1/conversations', { accountId, address: CHANNEL });
    expect(conv.status).toBe(201);
    conversationId = conv.json.id as string;
    hostile = await RawIrcClient.register(server.host, server.port, HOSTILE_NICK);
    hostile.send(`JOIN ${CHANNEL}`);
    await hostile.waitFor(new RegExp(`^:${HOSTILE_NICK}!\\S+ JOIN :?${CHANNEL}`));
    // The gateway is in the channel once the server tells the hostile user so (NAMES or its JOIN).
    await eventually(async () => {
      hostile.send(`NAMES ${CHANNEL}`);
      return hostile.lines.some((l) =>
        new RegExp(` 353 ${HOSTILE_NICK} . ${CHANNEL} :.*\\b${GW_NICK}\\b`).test(l),
      );
    }, 'the gateway in the channel');
    rssBefore = rssBytes();
  });

  afterAll(async () => {
    await hostile?.close();
    await env?.stop();
    await server?.stop();
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  });

  /** Every message from the hostile user the gateway stored, in all conversations, not yet seen. */
  async function storedFromHostile(): Promise<StoredMessage[]> {
    const convs = (await api.call('GET', '/api/v1/conversations')).json as { id: string }[];
    const out: StoredMessage[] = [];
    for (const c of convs) {
      const list = (await api.call('GET', `/api/v1/conversations/${c.id}/messages?limit=500`))
        .json as StoredMessage[];
      out.push(...list.filter((m) => m.sender.displayName === HOSTILE_NICK && !seen.has(m.id)));
    }
    return out;
  }

  /** The lines the server received from the gateway's connection(s), tags dropped. */
  function gatewayLines(): string[] {
    const log = readFileSync(rawLog, 'utf8').split('\n');
    const uids = new Set<string>();
    const out: string[] = [];
    for (const l of log) {
      const m = /USERINPUT: C\[(\w+)\] I (.*)$/.exec(l);
      if (!m) continue;
      const [, uid, line] = m as unknown as [string, string, string];
      if (new RegExp(`^NICK :?${GW_NICK}$`).test(line)) uids.add(uid);
      if (uids.has(uid)) out.push(line.replace(/^@\S+ /, ''));
    }
    return out;
  }

  async function healthy(): Promise<void> {
    expect((await new Api(env.gw.url).call('GET', '/healthz')).status).toBe(200);
    const state = (await api.call('GET', `/api/v1/accounts/${accountId}`)).json.state as string;
    expect(state).toBe('connected');
  }

  const fill = (s: string): string =>
    s
      .replace(/\{channel\}/g, CHANNEL)
      .replace(/\{gateway\}/g, GW_NICK)
      .replace(/\{account\}/g, accountId)
      .replace(/\{conversation\}/g, conversationId);

  async function runInbound(name: string, input: IrcInput, expected: IrcExpect): Promise<void> {
    for (const p of input.send ?? [])
      hostile.sendBytes(Buffer.from(fill(payloadBytes(p).toString('latin1')), 'latin1'));
    // The markers go after the case on both paths (channel and private): once both are stored, so is the case.
    const marker = `end-of-${name}`;
    hostile.send(`PRIVMSG ${CHANNEL} :${marker}`);
    hostile.send(`PRIVMSG ${GW_NICK} :${marker}`);
    const all = await eventually(
      async () => {
        const list = await storedFromHostile();
        return list.filter((m) => m.text === marker).length === 2 && list;
      },
      `the markers after ${name}`,
      30_000,
    );
    for (const m of all) seen.add(m.id);
    const got = all.filter((m) => m.text !== marker);
    if (expected.stored) expect(got.map((m) => m.text)).toEqual(expected.stored);
    if (expected.storedCount !== undefined) expect(got).toHaveLength(expected.storedCount);
    if (expected.storedMatches)
      for (const m of got) expect(m.text).toMatch(new RegExp(expected.storedMatches, 'u'));
    for (const m of got) {
      expect(m.text).not.toMatch(/[\0\r\n]/);
      if (m.html !== undefined) {
        expect(unsafeHtml(m.html)).toEqual([]);
        if (expected.htmlMatches) expect(m.html).toMatch(new RegExp(expected.htmlMatches));
      }
    }
    if (expected.htmlMatches) expect(got.some((m) => m.html !== undefined)).toBe(true);
  }

  async function runOutbound(name: string, input: IrcInput, expected: IrcExpect): Promise<void> {
    const before = gatewayLines().length;
    const req = input.request!;
    const body = req.json === undefined ? undefined : fill(JSON.stringify(expandJson(req.json)));
    const r = await api.call(req.method, fill(req.path), body);
    if (expected.status !== undefined)
      expect({ status: r.status, body: r.text.slice(0, 300) }).toMatchObject({ status: expected.status });
    if (r.status >= 400)
      expect(r.json.error).toEqual({
        code: expect.any(String),
        message: expect.any(String),
        ...r.json.error,
      });
    if (expected.messageStatus) {
      const id = r.json.id as string;
      const final = await eventually(async () => {
        const list = (await api.call('GET', `/api/v1/conversations/${conversationId}/messages?limit=500`))
          .json as StoredMessage[];
        const m = list.find((x) => x.id === id);
        return m && m.status !== 'queued' && m;
      }, `the final status of ${name}`);
      expect(final.status).toBe(expected.messageStatus);
    }
    const marker = `end-of-${name}`;
    expect(
      (await api.call('POST', `/api/v1/conversations/${conversationId}/messages`, { text: marker })).status,
    ).toBe(202);
    const lines = await eventually(
      async () => {
        const all = gatewayLines().slice(before);
        const i = all.indexOf(`PRIVMSG ${CHANNEL} :${marker}`);
        return i >= 0 && all.slice(0, i);
      },
      `the marker after ${name} at the server`,
      30_000,
    );
    // Keep-alive and buddy-list polling may interleave; everything else is what the case caused.
    const caused = lines.filter((l) => !/^(PING|PONG|ISON|MONITOR|WHO|CAP) /.test(l));
    // Every line fits IRC's 512 bytes with its CR LF (a longer one would be cut by the server).
    for (const l of caused) expect(Buffer.byteLength(l, 'utf8')).toBeLessThanOrEqual(510);
    if (expected.lines) expect(caused).toEqual(expected.lines.map(fill));
    // Without an exact list: nothing but PRIVMSG to the conversation's channel.
    else for (const l of caused) expect(l.startsWith(`PRIVMSG ${CHANNEL} :`)).toBe(true);
  }

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (name, c) => {
    if (c.input.direction === 'inbound') await runInbound(name, c.input, c.expect);
    else await runOutbound(name, c.input, c.expect);
    await healthy();
  });

  it('kept its memory bounded, and the hostile user got no reply from the gateway', async () => {
    expect(rssBytes() - rssBefore).toBeLessThan(RSS_GROWTH_BOUND);
    // No CTCP answers, no NOTICEs: an IRC user cannot make the gateway talk back (reflection floods).
    const toHostile = gatewayLines().filter((l) =>
      new RegExp(`^(PRIVMSG|NOTICE) ${HOSTILE_NICK} `, 'i').test(l),
    );
    expect(toHostile).toEqual([]);
  });
});
