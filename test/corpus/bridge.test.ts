import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../support/gateway';
import { startInspircd, type InspircdServer } from '../support/inspircd';
import { startMatrixHomeserver, type MatrixHomeserver } from '../support/matrix-homeserver';
import { as, C, call, enc, txn, type As } from '../matrix-homeserver/matrix-http';
import { expandJson, loadCases, rssBytes, RSS_GROWTH_BOUND, unsafeHtml } from './corpus';

const root = path.resolve(__dirname, '../..');
const CHANNEL = '#bridge';
const GW_NICK = 'gwbridge';

interface BridgeInput {
  /** The hostile Matrix user's display name, set before the events (may hold CR, LF, markup). */
  displayname?: string;
  /** Events the hostile user sends to the bridged Matrix room (`$text` payloads expanded in `content`). */
  events: { type?: string; content: unknown }[];
}

interface BridgeExpect {
  /** Exactly the lines the IRC server received from the gateway for the case (tags dropped). */
  ircLines?: string[];
  /** Or: at most this many lines (big messages). */
  ircMaxLines?: number;
  /** A pattern the body of each copy the gateway posted in the other Matrix room matches. */
  matrixBody?: string;
  /** How many copies the gateway posted in the other Matrix room. */
  matrixCopies: number;
}

const cases = loadCases<BridgeInput, BridgeExpect>('bridge');

/**
 * Hostile input relayed by a bridge: a stranger's Matrix events cross a bridge to an IRC channel (on
 * InspIRCd, whose raw I/O log shows exactly what the gateway wrote) and to a second Matrix room. No
 * relayed text may become an IRC command, and no relayed html may carry script, handlers or script URLs,
 * neither in what the networks receive nor in the copies the API serves.
 */
describe('hostile-input corpus: through a bridge (Matrix to IRC and Matrix)', () => {
  let irc: InspircdServer;
  let hs: MatrixHomeserver;
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let api: Api;
  let mallory: As;
  let owner: As;
  let hostileRoom: string;
  let otherRoom: string;
  let otherConversation: string;
  let logDir: string;
  let rawLog: string;
  let rssBefore = 0;
  let relayUser = '';
  const seenEvents = new Set<string>();

  async function connected(adapter: string, options: object): Promise<string> {
    const r = await api.call('POST', '/api/v1/accounts', { adapter, options });
    expect(r.status).toBe(201);
    await eventually(
      async () => (await api.call('GET', `/api/v1/accounts/${r.json.id}`)).json.state === 'connected',
      `${adapter} connected`,
      30_000,
    );
    return r.json.id as string;
  }
  async function open(accountId: string, address: string): Promise<string> {
    const r = await api.call('POST', '/api/v1/conversations', { accountId, address });
    expect(r.status).toBe(201);
    return r.json.id as string;
  }

  beforeAll(async () => {
    logDir = mkdtempSync(path.join(tmpdir(), 'sb-corpus-bridge-'));
    rawLog = path.join(logDir, 'rawio.log');
    [irc, hs] = await Promise.all([
      startInspircd({
        extraConfig: `<log method="file" type="USERINPUT" level="rawio" target="${rawLog}" flush="1">`,
      }),
      startMatrixHomeserver({ maxEventSize: 256 * 1024 }),
    ]);
    relayUser = (await hs.registerUser('relay', 'relay-password')).userId;
    mallory = as(hs, await hs.registerUser('mallory', 'mallory-password', { displayname: 'mallory' }));
    owner = as(hs, await hs.registerUser('owner', 'owner-password', { displayname: 'owner' }));
    hostileRoom = await mallory.createRoom({ preset: 'public_chat', name: 'hostile' });
    otherRoom = await owner.createRoom({ preset: 'public_chat', name: 'other' });
    env = await startTestGateway({
      adapters: [
        { id: 'irc', path: path.join(root, 'adapters/irc') },
        { id: 'matrix', path: path.join(root, 'adapters/matrix') },
      ],
    });
    api = await new Api(env.gw.url).login('admin', ADMIN_PASSWORD);
    const ircAccount = await connected('irc', {
      host: irc.host,
      port: irc.port,
      tls: false,
      nick: GW_NICK,
      floodIntervalMs: 10,
      floodBurst: 50,
    });
    const matrixAccount = await connected('matrix', {
      homeserverUrl: hs.url,
      userId: 'relay',
      password: 'relay-password',
      syncTimeoutMs: 1000,
    });
    const conversations = [
      await open(matrixAccount, hostileRoom),
      (otherConversation = await open(matrixAccount, otherRoom)),
      await open(ircAccount, CHANNEL),
    ];
    const bridge = await api.call('POST', '/api/v1/bridges', { conversations, name: 'corpus' });
    expect(bridge.status).toBe(201);
    rssBefore = rssBytes();
  });

  afterAll(async () => {
    await env?.stop();
    await Promise.all([irc?.stop(), hs?.stop()]);
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  });

  function gatewayLines(): string[] {
    const uids = new Set<string>();
    const out: string[] = [];
    for (const l of readFileSync(rawLog, 'utf8').split('\n')) {
      const m = /USERINPUT: C\[(\w+)\] I (.*)$/.exec(l);
      if (!m) continue;
      if (new RegExp(`^NICK :?${GW_NICK}$`).test(m[2]!)) uids.add(m[1]!);
      if (uids.has(m[1]!)) out.push(m[2]!.replace(/^@\S+ /, ''));
    }
    return out;
  }

  /** What the gateway posted in the other Matrix room, as its owner reads it. */
  async function copiesInOtherRoom(): Promise<{ event_id: string; content: Record<string, unknown> }[]> {
    const r = await call(hs, 'GET', `${C}/rooms/${enc(otherRoom)}/messages?dir=b&limit=1000`, {
      token: owner.accessToken,
    });
    expect(r.status).toBe(200);
    return (
      r.body.chunk as { event_id: string; type: string; sender: string; content: Record<string, unknown> }[]
    )
      .filter((e) => e.type === 'm.room.message' && e.sender === relayUser && !seenEvents.has(e.event_id))
      .reverse();
  }

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (name, c) => {
    const before = gatewayLines().length;
    if (c.input.displayname !== undefined) {
      const r = await call(hs, 'PUT', `${C}/profile/${enc(mallory.userId)}/displayname`, {
        token: mallory.accessToken,
        body: { displayname: c.input.displayname },
      });
      expect(r.status).toBe(200);
    }
    for (const ev of c.input.events) {
      const r = await call(
        hs,
        'PUT',
        `${C}/rooms/${enc(hostileRoom)}/send/${enc(ev.type ?? 'm.room.message')}/${txn()}`,
        {
          token: mallory.accessToken,
          body: expandJson(ev.content),
        },
      );
      expect(r.status).toBe(200);
    }
    const marker = `end-of-${name}`;
    await call(hs, 'PUT', `${C}/profile/${enc(mallory.userId)}/displayname`, {
      token: mallory.accessToken,
      body: { displayname: 'mallory' },
    });
    await mallory.send(hostileRoom, marker);

    const lines = await eventually(
      async () => {
        const all = gatewayLines().slice(before);
        const i = all.findIndex((l) => l.startsWith(`PRIVMSG ${CHANNEL} :`) && l.endsWith(marker));
        return i >= 0 && all.slice(0, i);
      },
      `the marker of ${name} on IRC`,
      60_000,
    );
    const copies = await eventually(
      async () => {
        const list = await copiesInOtherRoom();
        const i = list.findIndex((e) => String(e.content.body).endsWith(marker));
        return i >= 0 && list.slice(0, i + 1);
      },
      `the marker of ${name} in the other Matrix room`,
      30_000,
    );
    for (const e of copies) seenEvents.add(e.event_id);
    const relayed = copies.slice(0, -1);

    // IRC: only PRIVMSGs to the bridged channel, each within 512 bytes.
    const caused = lines.filter((l) => !/^(PING|PONG|ISON|MONITOR|WHO|CAP) /.test(l));
    for (const l of caused) {
      expect(l.startsWith(`PRIVMSG ${CHANNEL} :`)).toBe(true);
      expect(Buffer.byteLength(l, 'utf8')).toBeLessThanOrEqual(510);
    }
    if (c.expect.ircLines) expect(caused).toEqual(c.expect.ircLines);
    if (c.expect.ircMaxLines !== undefined) expect(caused.length).toBeLessThanOrEqual(c.expect.ircMaxLines);

    // Matrix: what the other room received is safe html.
    expect(relayed).toHaveLength(c.expect.matrixCopies);
    for (const e of relayed) {
      if (c.expect.matrixBody) expect(String(e.content.body)).toMatch(new RegExp(c.expect.matrixBody, 's'));
      if (typeof e.content.formatted_body === 'string')
        expect(unsafeHtml(e.content.formatted_body)).toEqual([]);
    }
    // And the copies the API serves are safe too.
    const served = (await api.call('GET', `/api/v1/conversations/${otherConversation}/messages?limit=500`))
      .json as { html?: string }[];
    for (const m of served) if (m.html !== undefined) expect(unsafeHtml(m.html)).toEqual([]);

    expect((await new Api(env.gw.url).call('GET', '/healthz')).status).toBe(200);
  });

  it('kept its memory bounded', () => {
    expect(rssBytes() - rssBefore).toBeLessThan(RSS_GROWTH_BOUND);
  });
});
