import type { IncomingMessage } from 'node:http';
import { badJson, forbidden, invalidParam, MatrixError } from './matrix-error';
import {
  type HomeserverStore,
  type Json,
  type Session,
  ROOM_VERSIONS,
  DEFAULT_ROOM_VERSION,
} from './homeserver.store';

/** Names of the endpoints, used by fault hooks and the rate limiter. */
export type EndpointName =
  | 'versions'
  | 'login'
  | 'register'
  | 'logout'
  | 'whoami'
  | 'capabilities'
  | 'sync'
  | 'filter'
  | 'createRoom'
  | 'join'
  | 'invite'
  | 'leave'
  | 'kick'
  | 'ban'
  | 'unban'
  | 'send'
  | 'state'
  | 'messages'
  | 'event'
  | 'members'
  | 'joinedRooms'
  | 'redact'
  | 'presence'
  | 'typing'
  | 'receipt'
  | 'readMarkers'
  | 'accountData'
  | 'profile'
  | 'directory'
  | 'devices'
  | 'turnServer'
  | 'pushrules'
  | 'mediaUpload'
  | 'mediaDownload'
  | 'mediaConfig';

export type Reply =
  { status: number; json: unknown } | { status: number; headers: Record<string, string>; body: Buffer };

export interface RouteContext {
  req: IncomingMessage;
  path: string;
  params: string[];
  query: URLSearchParams;
  raw: Buffer;
  /** Present when the route needs auth; otherwise undefined. */
  session: Session;
  signal: AbortSignal;
}

interface Route {
  method: 'GET' | 'POST' | 'PUT';
  pattern: RegExp;
  name: EndpointName;
  auth: boolean;
  /** Requests that count against the optional rate limit. */
  limited?: boolean;
  handle(ctx: RouteContext): Reply | Promise<Reply>;
}

export interface RouteOptions {
  maxUploadBytes: number;
  registration: boolean;
}

const C = String.raw`^/_matrix/client/(?:r0|v3)`;
const SEG = String.raw`([^/]+)`;
const re = (s: string): RegExp => new RegExp(`${s}$`);
const ok = (json: unknown = {}): Reply => ({ status: 200, json });
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The JSON request body as an object: M_NOT_JSON if it does not parse, M_BAD_JSON if it is not an object. */
export function jsonBody(raw: Buffer, allowEmpty = false): Json {
  if (raw.length === 0 && allowEmpty) return {};
  let v: unknown;
  try {
    v = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new MatrixError(400, 'M_NOT_JSON', 'Content not JSON.');
  }
  if (!isObject(v)) throw badJson('Content must be a JSON object.');
  return v;
}

function intParam(q: URLSearchParams, name: string, def: number, max: number): number {
  const s = q.get(name);
  if (s === null) return def;
  if (!/^\d+$/.test(s)) throw invalidParam(`${name} must be a non-negative integer`);
  return Math.min(Number(s), max);
}

function streamToken(s: string | null, name: string): number | undefined {
  if (s === null || s === '') return undefined;
  const m = /^s(\d+)$/.exec(s);
  if (!m) throw invalidParam(`Invalid ${name} token`);
  return Number(m[1]);
}

function timelineLimit(store: HomeserverStore, session: Session, filterParam: string | null): number {
  if (filterParam === null) return 10;
  let filter: Json;
  if (filterParam.trimStart().startsWith('{')) {
    try {
      const v: unknown = JSON.parse(filterParam);
      if (!isObject(v)) throw new Error('not an object');
      filter = v;
    } catch {
      throw invalidParam('filter is not valid JSON');
    }
  } else filter = store.getFilter(session.userId, filterParam);
  const room = filter.room;
  const timeline = isObject(room) ? room.timeline : undefined;
  const limit = isObject(timeline) ? timeline.limit : undefined;
  return typeof limit === 'number' && limit >= 0 ? Math.min(Math.floor(limit), 1000) : 10;
}

function loginBody(store: HomeserverStore, body: Json): Json {
  if (body.type !== 'm.login.password')
    throw new MatrixError(400, 'M_UNKNOWN', `Unknown login type ${String(body.type)}`);
  const ident = body.identifier;
  let user: unknown = body.user;
  if (isObject(ident)) {
    if (ident.type !== 'm.id.user')
      throw new MatrixError(400, 'M_UNKNOWN', 'Only m.id.user identifiers are supported');
    user = ident.user;
  }
  if (typeof user !== 'string' || typeof body.password !== 'string')
    throw badJson('user and password are required');
  if (body.device_id !== undefined && typeof body.device_id !== 'string')
    throw badJson('device_id must be a string');
  const dn =
    typeof body.initial_device_display_name === 'string' ? body.initial_device_display_name : undefined;
  const userId = store.checkPassword(user, body.password);
  const s = store.openSession(userId, body.device_id, dn);
  return {
    user_id: s.userId,
    access_token: s.accessToken,
    device_id: s.deviceId,
    home_server: store.serverName,
  };
}

function mediaReply(store: HomeserverStore, server: string, id: string, fileName?: string): Reply {
  const m = store.download(server, id);
  const name = fileName !== undefined && fileName !== '' ? fileName : m.fileName;
  // Only some types may render inline (spec v1.12 guidance); everything else is an attachment.
  const inline = /^(image\/(png|jpeg|gif|webp)|text\/plain|audio\/|video\/)/.test(m.contentType);
  const disposition = `${inline ? 'inline' : 'attachment'}${name ? `; filename*=utf-8''${encodeURIComponent(name)}` : ''}`;
  return {
    status: 200,
    headers: {
      'content-type': m.contentType,
      'content-disposition': disposition,
      'content-security-policy':
        "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; style-src 'unsafe-inline'; object-src 'self';",
      'cross-origin-resource-policy': 'cross-origin',
    },
    body: m.data,
  };
}

export function buildRoutes(store: HomeserverStore, opts: RouteOptions): Route[] {
  const r: Route[] = [];
  const add = (
    method: Route['method'],
    pattern: string,
    name: EndpointName,
    handle: Route['handle'],
    extra: { auth?: boolean; limited?: boolean } = {},
  ): void => {
    r.push({
      method,
      pattern: re(pattern),
      name,
      handle,
      auth: extra.auth ?? true,
      limited: extra.limited ?? false,
    });
  };
  const p = (ctx: RouteContext, i: number): string => ctx.params[i] ?? '';
  const json = (ctx: RouteContext): Json => jsonBody(ctx.raw);
  const self = (ctx: RouteContext, target: string): void => {
    if (target !== ctx.session.userId) throw forbidden('You may only act as yourself');
  };

  add(
    'GET',
    '^/_matrix/client/versions',
    'versions',
    () =>
      ok({
        versions: [
          'r0.6.1',
          'v1.1',
          'v1.2',
          'v1.3',
          'v1.4',
          'v1.5',
          'v1.6',
          'v1.7',
          'v1.8',
          'v1.9',
          'v1.10',
          'v1.11',
        ],
        unstable_features: {},
      }),
    { auth: false },
  );

  // -- accounts
  add('GET', `${C}/login`, 'login', () => ok({ flows: [{ type: 'm.login.password' }] }), { auth: false });
  add('POST', `${C}/login`, 'login', (ctx) => ok(loginBody(store, json(ctx))), {
    auth: false,
    limited: true,
  });
  add(
    'GET',
    `${C}/register/available`,
    'register',
    (ctx) => {
      store.usernameAvailable(ctx.query.get('username') ?? '');
      return ok({ available: true });
    },
    { auth: false },
  );
  add(
    'POST',
    `${C}/register`,
    'register',
    (ctx) => {
      if (!opts.registration) throw forbidden('Registration has been disabled');
      const body = json(ctx);
      if (ctx.query.get('kind') === 'guest')
        throw new MatrixError(403, 'M_FORBIDDEN', 'Guest access is disabled');
      if (typeof body.username !== 'string' || typeof body.password !== 'string')
        throw badJson('username and password are required');
      store.usernameAvailable(body.username);
      // User-interactive auth with one dummy stage, as the spec describes for open registration.
      const auth = body.auth;
      if (!isObject(auth) || auth.type !== 'm.login.dummy') {
        return {
          status: 401,
          json: {
            flows: [{ stages: ['m.login.dummy'] }],
            params: {},
            session: typeof body.username === 'string' ? `reg-${Date.now()}` : '',
          },
        };
      }
      const userId = store.createUser(body.username, body.password);
      if (body.inhibit_login === true) return ok({ user_id: userId });
      if (body.device_id !== undefined && typeof body.device_id !== 'string')
        throw badJson('device_id must be a string');
      const dn =
        typeof body.initial_device_display_name === 'string' ? body.initial_device_display_name : undefined;
      const s = store.openSession(userId, body.device_id, dn);
      return ok({
        user_id: userId,
        access_token: s.accessToken,
        device_id: s.deviceId,
        home_server: store.serverName,
      });
    },
    { auth: false, limited: true },
  );
  add('POST', `${C}/logout`, 'logout', (ctx) => {
    store.logout(ctx.session.accessToken);
    return ok();
  });
  add('POST', `${C}/logout/all`, 'logout', (ctx) => {
    store.logoutAll(ctx.session.userId);
    return ok();
  });
  add('GET', `${C}/account/whoami`, 'whoami', (ctx) =>
    ok({ user_id: ctx.session.userId, device_id: ctx.session.deviceId, is_guest: false }),
  );
  add('GET', `${C}/capabilities`, 'capabilities', () =>
    ok({
      capabilities: {
        'm.change_password': { enabled: false },
        'm.room_versions': { default: DEFAULT_ROOM_VERSION, available: ROOM_VERSIONS },
        'm.set_displayname': { enabled: true },
        'm.set_avatar_url': { enabled: true },
        'm.3pid_changes': { enabled: false },
      },
    }),
  );
  add('GET', `${C}/devices`, 'devices', (ctx) => ok({ devices: store.devices(ctx.session.userId) }));

  // -- sync and filters
  add('POST', `${C}/user/${SEG}/filter`, 'filter', (ctx) => {
    self(ctx, p(ctx, 0));
    return ok({ filter_id: store.addFilter(ctx.session.userId, json(ctx)) });
  });
  add('GET', `${C}/user/${SEG}/filter/${SEG}`, 'filter', (ctx) => {
    self(ctx, p(ctx, 0));
    return ok(store.getFilter(ctx.session.userId, p(ctx, 1)));
  });
  add('GET', `${C}/sync`, 'sync', async (ctx) => {
    const since = streamToken(ctx.query.get('since'), 'since');
    const timeout = intParam(ctx.query, 'timeout', 0, 600000);
    const limit = timelineLimit(store, ctx.session, ctx.query.get('filter'));
    store.syncPresence(ctx.session, ctx.query.get('set_presence') ?? undefined);
    const deadline = Date.now() + timeout;
    for (;;) {
      const res = store.sync(ctx.session, { since, timelineLimit: limit });
      const left = deadline - Date.now();
      if (res.hasContent || since === undefined || left <= 0 || ctx.signal.aborted) return ok(res.body);
      await store.waitForChange(left, ctx.signal);
    }
  });

  // -- rooms
  add('POST', `${C}/createRoom`, 'createRoom', (ctx) => ok(store.createRoom(ctx.session, json(ctx))), {
    limited: true,
  });
  add('POST', `${C}/join/${SEG}`, 'join', (ctx) => ok(store.join(ctx.session, p(ctx, 0))), { limited: true });
  add('POST', `${C}/rooms/${SEG}/join`, 'join', (ctx) => ok(store.join(ctx.session, p(ctx, 0))), {
    limited: true,
  });
  add(
    'POST',
    `${C}/rooms/${SEG}/invite`,
    'invite',
    (ctx) => {
      const b = json(ctx);
      store.invite(ctx.session, p(ctx, 0), b.user_id, b.reason);
      return ok();
    },
    { limited: true },
  );
  add('POST', `${C}/rooms/${SEG}/leave`, 'leave', (ctx) => {
    store.leave(ctx.session, p(ctx, 0), jsonBody(ctx.raw, true).reason);
    return ok();
  });
  for (const action of ['kick', 'ban', 'unban'] as const) {
    add('POST', `${C}/rooms/${SEG}/${action}`, action, (ctx) => {
      const b = json(ctx);
      store.moderate(ctx.session, p(ctx, 0), action, b.user_id, b.reason);
      return ok();
    });
  }
  add(
    'PUT',
    `${C}/rooms/${SEG}/send/${SEG}/${SEG}`,
    'send',
    (ctx) => {
      const content = json(ctx);
      return ok(
        store.idempotent(ctx.session, ctx.path, () =>
          store.send(ctx.session, p(ctx, 0), p(ctx, 1), content, p(ctx, 2)),
        ),
      );
    },
    { limited: true },
  );
  add('GET', `${C}/rooms/${SEG}/state`, 'state', (ctx) => ok(store.getState(ctx.session, p(ctx, 0))));
  add('GET', `${C}/rooms/${SEG}/state/${SEG}(?:/([^/]*))?/?`, 'state', (ctx) =>
    ok(store.getState(ctx.session, p(ctx, 0), p(ctx, 1), p(ctx, 2))),
  );
  add(
    'PUT',
    `${C}/rooms/${SEG}/state/${SEG}(?:/([^/]*))?/?`,
    'state',
    (ctx) => ok(store.putState(ctx.session, p(ctx, 0), p(ctx, 1), p(ctx, 2), json(ctx))),
    { limited: true },
  );
  add('GET', `${C}/rooms/${SEG}/messages`, 'messages', (ctx) => {
    const dir = ctx.query.get('dir') ?? 'b';
    if (dir !== 'b' && dir !== 'f') throw invalidParam('dir must be b or f');
    const from = streamToken(ctx.query.get('from'), 'from');
    const to = streamToken(ctx.query.get('to'), 'to');
    return ok(
      store.messages(
        ctx.session,
        p(ctx, 0),
        from,
        to,
        dir,
        Math.max(1, intParam(ctx.query, 'limit', 10, 1000)),
      ),
    );
  });
  add('GET', `${C}/rooms/${SEG}/event/${SEG}`, 'event', (ctx) =>
    ok(store.getEvent(ctx.session, p(ctx, 0), p(ctx, 1))),
  );
  add('GET', `${C}/rooms/${SEG}/members`, 'members', (ctx) =>
    ok({ chunk: store.members(ctx.session, p(ctx, 0)) }),
  );
  add('GET', `${C}/rooms/${SEG}/joined_members`, 'members', (ctx) =>
    ok({ joined: store.joinedMembersMap(ctx.session, p(ctx, 0)) }),
  );
  add('GET', `${C}/joined_rooms`, 'joinedRooms', (ctx) =>
    ok({ joined_rooms: store.joinedRooms(ctx.session.userId) }),
  );
  add(
    'PUT',
    `${C}/rooms/${SEG}/redact/${SEG}/${SEG}`,
    'redact',
    (ctx) => {
      const b = jsonBody(ctx.raw, true);
      return ok(
        store.idempotent(ctx.session, ctx.path, () =>
          store.redact(ctx.session, p(ctx, 0), p(ctx, 1), b.reason, p(ctx, 2)),
        ),
      );
    },
    { limited: true },
  );
  add(
    'GET',
    `${C}/directory/room/${SEG}`,
    'directory',
    (ctx) => ok({ room_id: store.resolveAlias(p(ctx, 0)), servers: [store.serverName] }),
    { auth: false },
  );
  add('PUT', `${C}/directory/room/${SEG}`, 'directory', (ctx) => {
    const b = json(ctx);
    if (typeof b.room_id !== 'string') throw badJson('room_id is required');
    store.setAlias(ctx.session, p(ctx, 0), b.room_id);
    return ok();
  });

  // -- ephemeral
  add('PUT', `${C}/rooms/${SEG}/typing/${SEG}`, 'typing', (ctx) => {
    const b = json(ctx);
    store.setTyping(ctx.session, p(ctx, 0), p(ctx, 1), b.typing, b.timeout);
    return ok();
  });
  add('POST', `${C}/rooms/${SEG}/receipt/${SEG}/${SEG}`, 'receipt', (ctx) => {
    const b = jsonBody(ctx.raw, true);
    store.receipt(ctx.session, p(ctx, 0), p(ctx, 1), p(ctx, 2), b.thread_id);
    return ok();
  });
  add('POST', `${C}/rooms/${SEG}/read_markers`, 'readMarkers', (ctx) => {
    const b = json(ctx);
    for (const type of ['m.fully_read', 'm.read', 'm.read.private']) {
      const id = b[type];
      if (id === undefined) continue;
      if (typeof id !== 'string') throw badJson(`${type} must be an event id`);
      store.receipt(ctx.session, p(ctx, 0), type, id);
    }
    return ok();
  });

  // -- presence, account data, profile
  add('GET', `${C}/presence/${SEG}/status`, 'presence', (ctx) => ok(store.presence(p(ctx, 0))));
  add('PUT', `${C}/presence/${SEG}/status`, 'presence', (ctx) => {
    const b = json(ctx);
    store.setPresence(ctx.session, p(ctx, 0), b.presence, b.status_msg);
    return ok();
  });
  add('GET', `${C}/user/${SEG}/account_data/${SEG}`, 'accountData', (ctx) =>
    ok(store.getAccountData(ctx.session, p(ctx, 0), p(ctx, 1))),
  );
  add('PUT', `${C}/user/${SEG}/account_data/${SEG}`, 'accountData', (ctx) => {
    store.setAccountData(ctx.session, p(ctx, 0), p(ctx, 1), json(ctx));
    return ok();
  });
  add('GET', `${C}/user/${SEG}/rooms/${SEG}/account_data/${SEG}`, 'accountData', (ctx) =>
    ok(store.getAccountData(ctx.session, p(ctx, 0), p(ctx, 2), p(ctx, 1))),
  );
  add('PUT', `${C}/user/${SEG}/rooms/${SEG}/account_data/${SEG}`, 'accountData', (ctx) => {
    store.setAccountData(ctx.session, p(ctx, 0), p(ctx, 2), json(ctx), p(ctx, 1));
    return ok();
  });
  add('GET', `${C}/profile/${SEG}`, 'profile', (ctx) => ok(store.profile(p(ctx, 0))), { auth: false });
  for (const field of ['displayname', 'avatar_url'] as const) {
    add(
      'GET',
      `${C}/profile/${SEG}/${field}`,
      'profile',
      (ctx) => {
        const prof = store.profile(p(ctx, 0));
        if (prof[field] === undefined) throw new MatrixError(404, 'M_NOT_FOUND', `No ${field} set`);
        return ok({ [field]: prof[field] });
      },
      { auth: false },
    );
    add('PUT', `${C}/profile/${SEG}/${field}`, 'profile', (ctx) => {
      store.setProfile(ctx.session, p(ctx, 0), field, json(ctx)[field]);
      return ok();
    });
  }
  add('GET', `${C}/voip/turnServer`, 'turnServer', (ctx) => ok(store.turnServer(ctx.session)));
  // This server evaluates no push rules; an empty rule set is the truthful answer clients need at startup.
  add('GET', `${C}/pushrules/?`, 'pushrules', () =>
    ok({ global: { override: [], underride: [], sender: [], room: [], content: [] } }),
  );

  // -- media: legacy v3 paths (download unauthenticated) and v1 authenticated media (spec v1.11)
  const upload = (ctx: RouteContext): Reply => {
    if (ctx.raw.length > opts.maxUploadBytes)
      throw new MatrixError(413, 'M_TOO_LARGE', `Upload is over the ${opts.maxUploadBytes} byte limit`);
    const type = ctx.req.headers['content-type'] ?? 'application/octet-stream';
    const fileName = ctx.query.get('filename') ?? undefined;
    return ok({ content_uri: store.upload(ctx.session, ctx.raw, type, fileName) });
  };
  add('POST', '^/_matrix/media/(?:r0|v3)/upload', 'mediaUpload', upload, { limited: true });
  add(
    'GET',
    `^/_matrix/media/(?:r0|v3)/download/${SEG}/${SEG}(?:/([^/]+))?`,
    'mediaDownload',
    (ctx) => mediaReply(store, p(ctx, 0), p(ctx, 1), ctx.params[2]),
    { auth: false },
  );
  add('GET', `^/_matrix/client/v1/media/download/${SEG}/${SEG}(?:/([^/]+))?`, 'mediaDownload', (ctx) =>
    mediaReply(store, p(ctx, 0), p(ctx, 1), ctx.params[2]),
  );
  const mediaConfig = (): Reply => ok({ 'm.upload.size': opts.maxUploadBytes });
  add('GET', '^/_matrix/media/(?:r0|v3)/config', 'mediaConfig', mediaConfig);
  add('GET', '^/_matrix/client/v1/media/config', 'mediaConfig', mediaConfig);
  return r;
}

export interface MatchedRoute {
  route: Route;
  params: string[];
}

/** Finds the route; M_UNRECOGNIZED with 404 for unknown paths and 405 for a known path with another method. */
export function matchRoute(routes: Route[], method: string, path: string): MatchedRoute {
  let pathKnown = false;
  for (const route of routes) {
    const m = route.pattern.exec(path);
    if (!m) continue;
    pathKnown = true;
    if (route.method !== method) continue;
    const params = m.slice(1).map((s) => {
      if (s === undefined) return '';
      try {
        return decodeURIComponent(s);
      } catch {
        throw invalidParam('Malformed percent-encoding in path');
      }
    });
    return { route, params };
  }
  if (pathKnown) throw new MatrixError(405, 'M_UNRECOGNIZED', 'Unrecognized request');
  throw new MatrixError(404, 'M_UNRECOGNIZED', 'Unrecognized request');
}
