import http from 'node:http';
import WebSocket from 'ws';
import { fakeHub } from '../fixtures/fake-adapter';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../support/gateway';
import {
  expandJson,
  loadCases,
  payloadBytes,
  rssBytes,
  RSS_GROWTH_BOUND,
  unsafeHtml,
  type Payload,
} from './corpus';

interface ApiInput {
  method: string;
  /** `{account}`, `{conversation}`, `{contact}` and `{message}` stand for ids of the signed-in user's own data. */
  path: Payload;
  /** The body as a JSON value (`$text` payloads expanded) … */
  json?: unknown;
  /** … or as raw bytes. */
  body?: Payload;
  contentType?: string;
  headers?: Record<string, unknown>;
  /** Send the body chunked, without Content-Length. */
  chunked?: boolean;
  /** Send the signed-in user's token (default true). */
  auth?: boolean;
}

interface ApiExpect {
  status: number;
  code?: string;
  /** A regular expression the error message must match (e.g. the name of the bad field). */
  message?: string;
  /** Fields the JSON answer must have (a partial match). */
  json?: Record<string, unknown>;
  /** For an accepted message: a pattern its html, as the API serves it back, matches. */
  storedHtml?: string;
}

const cases = loadCases<ApiInput, ApiExpect>('api');

/** A raw HTTP request: the path goes out byte for byte (no URL normalisation), the body as given. */
function send(
  base: URL,
  input: ApiInput,
  ids: Record<string, string>,
  token: string,
): Promise<{ status: number; text: string }> {
  const path = payloadBytes(input.path)
    .toString('latin1')
    .replace(/\{(\w+)\}/g, (m, k: string) => ids[k] ?? m);
  const body =
    input.json !== undefined
      ? Buffer.from(JSON.stringify(expandJson(input.json)))
      : input.body !== undefined
        ? payloadBytes(input.body)
        : undefined;
  const headers: Record<string, string> = {};
  if (body) headers['content-type'] = input.contentType ?? 'application/json';
  if (input.auth !== false) headers.authorization = `Bearer ${token}`;
  for (const [k, v] of Object.entries(input.headers ?? {})) headers[k] = String(expandJson(v));
  if (body && !input.chunked) headers['content-length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: base.hostname, port: base.port, method: input.method, path, headers });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    // The server may answer (413) and close before it has read a big body: the answer is what counts.
    req.on('error', (e) => reject(e));
    if (body && input.chunked) {
      for (let i = 0; i < body.length; i += 64 * 1024) req.write(body.subarray(i, i + 64 * 1024));
      req.end();
    } else req.end(body);
  });
}

/**
 * Hostile API requests from test/corpus/api/: each gets its expected status, and every error is the JSON
 * `{error:{code,message}}`; the gateway stays healthy after each case, and its memory stays bounded.
 */
describe('hostile-input corpus: the API', () => {
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let me: Api;
  let base: URL;
  const ids: Record<string, string> = {};
  let rssBefore = 0;

  beforeAll(async () => {
    fakeHub.reset();
    env = await startTestGateway();
    base = new URL(env.gw.url);
    me = await new Api(env.gw.url).login('admin', ADMIN_PASSWORD);
    for (const user of ['me', 'peer']) {
      const r = await me.call('POST', '/api/v1/accounts', {
        adapter: 'fake',
        options: { network: 'corpus', user, password: 'pw' },
      });
      expect(r.status).toBe(201);
      if (user === 'me') ids.account = r.json.id as string;
    }
    const contact = await eventually(async () => {
      const list = (await me.call('GET', '/api/v1/contacts')).json as { id: string; displayName: string }[];
      return list.find((c) => c.displayName === 'peer');
    }, 'a contact');
    ids.contact = contact.id;
    const conv = await me.call('POST', '/api/v1/conversations', {
      accountId: ids.account,
      address: '#corpus',
    });
    expect(conv.status).toBe(201);
    ids.conversation = conv.json.id as string;
    const msg = await me.call('POST', `/api/v1/conversations/${ids.conversation}/messages`, {
      text: 'hello',
    });
    ids.message = msg.json.id as string;
    rssBefore = rssBytes();
  });

  afterAll(async () => {
    await env?.stop();
    fakeHub.reset();
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const r = await send(base, c.input, ids, me.token!);
    let json: { error?: { code?: unknown; message?: unknown } } | undefined;
    try {
      json = JSON.parse(r.text) as typeof json;
    } catch {
      json = undefined;
    }
    expect({ case: c.name, status: r.status, body: r.text.slice(0, 300) }).toEqual({
      case: c.name,
      status: c.expect.status,
      body: expect.any(String),
    });
    if (r.status >= 400) {
      expect(json?.error).toEqual({
        code: expect.any(String),
        message: expect.any(String),
        ...(json?.error ?? {}),
      });
      expect(typeof json?.error?.message).toBe('string');
      if (c.expect.code) expect(json?.error?.code).toBe(c.expect.code);
      if (c.expect.message) expect(json?.error?.message).toMatch(new RegExp(c.expect.message));
    }
    if (c.expect.json) expect(json).toMatchObject(c.expect.json);
    // A message the API accepted is served back safe to render, whatever html it came with.
    const accepted = (json as { id?: unknown } | undefined)?.id;
    if (r.status === 202 && typeof accepted === 'string') {
      const list = await me.call('GET', `/api/v1/conversations/${ids.conversation}/messages?limit=500`);
      const m = (list.json as { id: string; html?: string }[]).find((x) => x.id === accepted);
      expect(m).toBeDefined();
      if (m?.html !== undefined) expect(unsafeHtml(m.html)).toEqual([]);
      if (c.expect.storedHtml) expect(m?.html ?? '').toMatch(new RegExp(c.expect.storedHtml));
    }
    const health = await new Api(env.gw.url).call('GET', '/healthz');
    expect(health.status).toBe(200);
  });

  it('closes an event-stream client that sends a big frame (client frames are never used; no 100 MiB buffers)', async () => {
    const url = `${env.gw.url.replace('http', 'ws')}/api/v1/events?token=${me.token!}`;
    for (const size of [1024 * 1024, 20 * 1024 * 1024]) {
      const ws = new WebSocket(url);
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
      ws.on('error', () => undefined);
      ws.send(Buffer.alloc(size, 0x61));
      // Bounded wait: without the cap the frame is buffered and ignored, and the socket stays open.
      const code = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 10_000))]);
      ws.terminate();
      expect(code).toBe(1009); // "message too big"
    }
    // A small frame is ignored, and the stream stays open.
    const ok = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ok.once('open', () => resolve());
      ok.once('error', reject);
    });
    ok.send('{"type":"hello"}');
    const pong = await new Promise<boolean>((resolve) => {
      ok.once('pong', () => resolve(true));
      ok.ping();
    });
    expect(pong).toBe(true);
    ok.close();
  });

  it('still serves a normal request, and its memory stayed bounded', async () => {
    const list = await me.call('GET', `/api/v1/conversations/${ids.conversation}/messages`);
    expect(list.status).toBe(200);
    expect(rssBytes() - rssBefore).toBeLessThan(RSS_GROWTH_BOUND);
    // No case polluted Object.prototype (the gateway runs in this process).
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });
});
