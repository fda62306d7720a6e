import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MatrixError } from './matrix-error';
import { HomeserverStore, type TurnConfig } from './homeserver.store';
import {
  buildRoutes,
  matchRoute,
  type EndpointName,
  type Reply,
  type RouteContext,
} from './homeserver.routes';

export type { EndpointName } from './homeserver.routes';
export type { TurnConfig } from './homeserver.store';
export { MatrixError } from './matrix-error';

export interface RateLimit {
  /** Tokens refilled per second, per user (or per address before login). */
  perSecond: number;
  burst: number;
}

export interface MatrixHomeserverOptions {
  /** Server name in user ids, room ids and mxc URIs. Default `matrix.test`. */
  serverName?: string;
  /** Port on 127.0.0.1; default a free one chosen by the kernel. */
  port?: number;
  /** Open registration through POST /register (user-interactive auth, one m.login.dummy stage). Default true. */
  registration?: boolean;
  /** Rate limit on sends, state, redactions, room creation, joins, invites, uploads, login and register. */
  rateLimit?: RateLimit;
  /** The spec's 65536-byte event limit by default; raise it to let tests send oversized content. */
  maxEventSize?: number;
  maxUploadBytes?: number;
  turn?: TurnConfig;
  /** How long transaction ids are remembered. Default 30 minutes (Synapse's value). */
  transactionTtlMs?: number;
}

export interface RegisteredUser {
  userId: string;
  accessToken: string;
  deviceId: string;
}

export interface InjectedError {
  status: number;
  errcode: string;
  error?: string;
  retryAfterMs?: number;
}

export interface FaultHooks {
  /** The next `count` requests to `endpoint` are processed, then the connection is cut before any reply. */
  dropNextResponse(endpoint: EndpointName, count?: number): void;
  /** The next `count` requests to `endpoint` fail with `error` without being processed. */
  failNext(endpoint: EndpointName, error: InjectedError, count?: number): void;
  clear(): void;
}

export interface MatrixHomeserver {
  url: string;
  serverName: string;
  port: number;
  /** Creates a user directly (no registration flow) and logs in a device. */
  registerUser(
    localpart: string,
    password: string,
    opts?: { displayname?: string; deviceId?: string },
  ): Promise<RegisteredUser>;
  /** A new access token for an existing user, on the given device if any. */
  loginUser(localpart: string, password: string, deviceId?: string): Promise<RegisteredUser>;
  faults: FaultHooks;
  /** How many requests reached each endpoint (including dropped and failed ones). */
  requestCount(endpoint: EndpointName): number;
  setRateLimit(limit: RateLimit | undefined): void;
  /**
   * Stops listening (cutting every connection, long-polls included) and starts again on the same port. Rooms,
   * users and tokens survive like a database would; transaction ids are forgotten, as real servers do.
   */
  restart(opts?: { downMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, PUT, DELETE, OPTIONS',
  'access-control-allow-headers': 'X-Requested-With, Content-Type, Authorization',
};

/**
 * Starts an in-process homeserver that follows the Matrix Client-Server API (v1.x) for what the gateway uses.
 * See docs/adr/0007-matrix-test-homeserver.md for its scope. Loopback only.
 */
export async function startMatrixHomeserver(opts: MatrixHomeserverOptions = {}): Promise<MatrixHomeserver> {
  const serverName = opts.serverName ?? 'matrix.test';
  const maxEventSize = opts.maxEventSize ?? 65536;
  const maxUploadBytes = opts.maxUploadBytes ?? 50 * 1024 * 1024;
  const store = new HomeserverStore({
    serverName,
    maxEventSize,
    turn: opts.turn,
    transactionTtlMs: opts.transactionTtlMs ?? 30 * 60 * 1000,
  });
  const routes = buildRoutes(store, { maxUploadBytes, registration: opts.registration ?? true });
  const maxJsonBody = Math.max(maxEventSize * 2, 1024 * 1024);

  let rateLimit = opts.rateLimit;
  const buckets = new Map<string, { tokens: number; at: number }>();
  const drops = new Map<EndpointName, number>();
  const fails = new Map<EndpointName, { error: InjectedError; count: number }>();
  const counts = new Map<EndpointName, number>();
  let lifecycle = new AbortController();

  const takeToken = (key: string): number | undefined => {
    if (!rateLimit) return undefined;
    const now = Date.now();
    const b = buckets.get(key) ?? { tokens: rateLimit.burst, at: now };
    b.tokens = Math.min(rateLimit.burst, b.tokens + ((now - b.at) / 1000) * rateLimit.perSecond);
    b.at = now;
    buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return undefined;
    }
    return Math.ceil(((1 - b.tokens) / rateLimit.perSecond) * 1000);
  };

  const readBody = (req: IncomingMessage, limit: number): Promise<Buffer | undefined> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let over = false;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > limit) over = true;
        else chunks.push(c);
      });
      req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks)));
      req.on('error', reject);
    });

  const send = (res: ServerResponse, reply: Reply): void => {
    if ('json' in reply) {
      const body = Buffer.from(JSON.stringify(reply.json));
      res.writeHead(reply.status, {
        ...CORS,
        'content-type': 'application/json',
        'content-length': body.length,
      });
      res.end(body);
    } else {
      res.writeHead(reply.status, { ...CORS, ...reply.headers, 'content-length': reply.body.length });
      res.end(reply.body);
    }
  };

  const errorReply = (err: unknown): Reply & { headers?: Record<string, string> } => {
    if (err instanceof MatrixError) return { status: err.status, json: err.toJSON() };
    const msg = err instanceof Error ? err.message : String(err);
    return { status: 500, json: { errcode: 'M_UNKNOWN', error: `Internal server error: ${msg}` } };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    if (method === 'OPTIONS') {
      res.writeHead(200, CORS);
      res.end();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const { route, params } = matchRoute(routes, method, url.pathname);
    counts.set(route.name, (counts.get(route.name) ?? 0) + 1);

    const fail = fails.get(route.name);
    if (fail) {
      if (--fail.count <= 0) fails.delete(route.name);
      const extra: Record<string, unknown> = {};
      if (fail.error.retryAfterMs !== undefined) extra.retry_after_ms = fail.error.retryAfterMs;
      throw new MatrixError(
        fail.error.status,
        fail.error.errcode as never,
        fail.error.error ?? 'Injected failure',
        extra,
      );
    }

    const isUpload = route.name === 'mediaUpload';
    const raw = await readBody(req, isUpload ? maxUploadBytes : maxJsonBody);
    if (raw === undefined) throw new MatrixError(413, 'M_TOO_LARGE', 'Request body is too large');

    let session: RouteContext['session'] | undefined;
    if (route.auth) {
      const header = req.headers.authorization;
      const token = header?.startsWith('Bearer ') ? header.slice(7) : url.searchParams.get('access_token');
      if (!token) throw new MatrixError(401, 'M_MISSING_TOKEN', 'Missing access token');
      session = store.session(token);
      if (!session)
        throw new MatrixError(401, 'M_UNKNOWN_TOKEN', 'Invalid access token passed.', { soft_logout: false });
    }
    if (route.limited) {
      const retry = takeToken(session?.userId ?? req.socket.remoteAddress ?? 'anon');
      if (retry !== undefined)
        throw new MatrixError(429, 'M_LIMIT_EXCEEDED', 'Too Many Requests', { retry_after_ms: retry });
    }

    const aborted = new AbortController();
    const onClose = (): void => {
      if (!res.writableFinished) aborted.abort();
    };
    res.on('close', onClose);
    const stopSignal = lifecycle.signal;
    const onStop = (): void => aborted.abort();
    stopSignal.addEventListener('abort', onStop, { once: true });
    let reply: Reply;
    try {
      reply = await route.handle({
        req,
        path: url.pathname,
        params,
        query: url.searchParams,
        raw,
        session: session as RouteContext['session'],
        signal: aborted.signal,
      });
    } finally {
      stopSignal.removeEventListener('abort', onStop);
    }
    const drop = drops.get(route.name) ?? 0;
    if (drop > 0) {
      if (drop === 1) drops.delete(route.name);
      else drops.set(route.name, drop - 1);
      req.socket.destroy();
      return;
    }
    if (!res.destroyed) send(res, reply);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent || res.destroyed) return;
      const reply = errorReply(err);
      if (reply.status === 429 && err instanceof MatrixError && typeof err.extra.retry_after_ms === 'number')
        res.setHeader('retry-after', String(Math.ceil(err.extra.retry_after_ms / 1000)));
      send(res, reply);
    });
  };

  let server: Server;
  const listen = (port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server = createServer(onRequest);
      server.keepAliveTimeout = 5000;
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      lifecycle.abort();
      store.wakeAll();
      server.close(() => resolve());
      server.closeAllConnections();
    });

  const port = await listen(opts.port ?? 0);
  const url = `http://127.0.0.1:${port}`;
  let stopped = false;

  const loginUser = async (
    localpart: string,
    password: string,
    deviceId?: string,
  ): Promise<RegisteredUser> => {
    const userId = store.checkPassword(localpart, password);
    const s = store.openSession(userId, deviceId);
    return { userId: s.userId, accessToken: s.accessToken, deviceId: s.deviceId };
  };

  return {
    url,
    serverName,
    port,
    registerUser: async (localpart, password, o = {}) => {
      store.createUser(localpart, password, o.displayname);
      return loginUser(localpart, password, o.deviceId);
    },
    loginUser,
    faults: {
      dropNextResponse: (endpoint, count = 1) => drops.set(endpoint, (drops.get(endpoint) ?? 0) + count),
      failNext: (endpoint, error, count = 1) => fails.set(endpoint, { error, count }),
      clear: () => {
        drops.clear();
        fails.clear();
      },
    },
    requestCount: (endpoint) => counts.get(endpoint) ?? 0,
    setRateLimit: (limit) => {
      rateLimit = limit;
      buckets.clear();
    },
    restart: async (o = {}) => {
      if (stopped) throw new Error('the homeserver was stopped');
      await close();
      store.forgetTransactions();
      if (o.downMs) await new Promise((r) => setTimeout(r, o.downMs));
      lifecycle = new AbortController();
      await listen(port);
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await close();
      store.dispose();
    },
  };
}
