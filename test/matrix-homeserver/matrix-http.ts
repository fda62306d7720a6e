import type { MatrixHomeserver, RegisteredUser } from '../support/matrix-homeserver';

/** A reply as the tests see it: status plus parsed JSON (or undefined for non-JSON bodies). */
export interface HttpReply {
  status: number;
  body: any;
  headers: Headers;
}

/** Plain fetch against the homeserver, as any client would talk to it. */
export async function call(
  hs: MatrixHomeserver,
  method: string,
  path: string,
  opts: {
    token?: string;
    body?: unknown;
    raw?: string | Buffer;
    contentType?: string;
    signal?: AbortSignal;
  } = {},
): Promise<HttpReply> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | Buffer | undefined;
  if (opts.raw !== undefined) {
    body = opts.raw;
    headers['content-type'] = opts.contentType ?? 'application/json';
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(`${hs.url}${path}`, { method, headers, body, signal: opts.signal });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

export const C = '/_matrix/client/v3';
export const enc = encodeURIComponent;

let txnCounter = 0;
export const txn = (): string => `t${Date.now()}.${++txnCounter}`;

/** Small conveniences over `call` for one logged-in user. */
export function as(hs: MatrixHomeserver, user: RegisteredUser) {
  const t = user.accessToken;
  return {
    ...user,
    get: (path: string) => call(hs, 'GET', path, { token: t }),
    post: (path: string, body: unknown = {}) => call(hs, 'POST', path, { token: t, body }),
    put: (path: string, body: unknown = {}) => call(hs, 'PUT', path, { token: t, body }),
    async createRoom(body: Record<string, unknown> = {}): Promise<string> {
      const r = await call(hs, 'POST', `${C}/createRoom`, { token: t, body });
      if (r.status !== 200) throw new Error(`createRoom ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.room_id as string;
    },
    async send(roomId: string, body: string, txnId = txn()): Promise<string> {
      const r = await call(hs, 'PUT', `${C}/rooms/${enc(roomId)}/send/m.room.message/${enc(txnId)}`, {
        token: t,
        body: { msgtype: 'm.text', body },
      });
      if (r.status !== 200) throw new Error(`send ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.event_id as string;
    },
    async join(roomIdOrAlias: string): Promise<void> {
      const r = await call(hs, 'POST', `${C}/join/${enc(roomIdOrAlias)}`, { token: t, body: {} });
      if (r.status !== 200) throw new Error(`join ${r.status} ${JSON.stringify(r.body)}`);
    },
    async sync(query: Record<string, string | number> = {}, signal?: AbortSignal): Promise<any> {
      const qs = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]));
      const r = await call(hs, 'GET', `${C}/sync?${qs.toString()}`, { token: t, signal });
      if (r.status !== 200) throw new Error(`sync ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    },
  };
}

export type As = ReturnType<typeof as>;

/** Timeline events of one joined room in a sync response. */
export function timeline(sync: any, roomId: string): any[] {
  return sync.rooms?.join?.[roomId]?.timeline?.events ?? [];
}

/** Waits until whoami answers (a restarted server cuts pooled sockets; the first reuse may fail). */
export async function reachable(hs: MatrixHomeserver, token: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      const r = await call(hs, 'GET', `${C}/account/whoami`, { token });
      if (r.status === 200) return;
      throw new Error(`whoami answered ${r.status}`);
    } catch (err) {
      if (i >= 50) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
