import { createHmac, randomBytes } from 'node:crypto';
import { badJson, forbidden, invalidParam, MatrixError, notFound } from './matrix-error';

/**
 * The state of the test homeserver: users, devices, rooms and one global, totally ordered stream.
 *
 * Every change a client can observe through /sync (a room event, typing, a receipt, account data, presence)
 * takes the next stream position, and a sync token is just "everything up to position N". Handlers run
 * synchronously between reading the request body and writing the reply, so each change is atomic with
 * respect to every other request; long-polls are woken after the change is complete (see `bump`).
 */

export type Json = Record<string, unknown>;

export interface ClientEvent {
  event_id: string;
  type: string;
  sender: string;
  origin_server_ts: number;
  room_id: string;
  content: Json;
  state_key?: string;
  redacts?: string;
  unsigned?: Json;
}

interface StoredEvent {
  ev: ClientEvent;
  pos: number;
  /** Who sent it through which transaction, for `unsigned.transaction_id`. */
  txn?: { userId: string; deviceId: string; txnId: string };
  prevContent?: Json;
  replacesState?: string;
  redactedBecause?: ClientEvent;
}

interface Receipt {
  pos: number;
  eventId: string;
  type: string;
  userId: string;
  ts: number;
  threadId?: string;
}

interface Room {
  id: string;
  version: string;
  events: StoredEvent[];
  byId: Map<string, StoredEvent>;
  state: Map<string, StoredEvent>;
  /** userId → when their typing notice lapses (ms since epoch). */
  typing: Map<string, number>;
  typingPos: number;
  receipts: Receipt[];
  accountData: Map<string, Map<string, { content: Json; pos: number }>>;
}

interface User {
  userId: string;
  password: string;
  displayname?: string;
  avatarUrl?: string;
  devices: Map<string, { displayName?: string; lastSeen: number }>;
  accountData: Map<string, { content: Json; pos: number }>;
  presence: { presence: Presence; statusMsg?: string; lastActive: number; pos: number };
  filters: Json[];
  rooms: Set<string>;
}

export type Presence = 'online' | 'offline' | 'unavailable';
const PRESENCES: readonly string[] = ['online', 'offline', 'unavailable'];

export interface Session {
  userId: string;
  deviceId: string;
  accessToken: string;
}

export interface Media {
  contentType: string;
  fileName?: string;
  data: Buffer;
  uploader: string;
}

export interface TurnConfig {
  uris: string[];
  /** coturn `use-auth-secret`: credentials are derived per user (TURN REST API). */
  sharedSecret?: string;
  username?: string;
  password?: string;
  ttlSeconds?: number;
}

export interface StoreOptions {
  serverName: string;
  maxEventSize: number;
  turn?: TurnConfig;
  /** How long a transaction id is remembered (ms); real servers forget them too. */
  transactionTtlMs: number;
}

const SUPPORTED_ROOM_VERSIONS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11'];
export const DEFAULT_ROOM_VERSION = '10';
export const ROOM_VERSIONS: Json = Object.fromEntries(SUPPORTED_ROOM_VERSIONS.map((v) => [v, 'stable']));

const LOCALPART = /^[a-z0-9._=\-/+]+$/;
const RECEIPT_TYPES = ['m.read', 'm.read.private', 'm.fully_read'];

export interface SyncParams {
  since?: number;
  timelineLimit: number;
}

export interface SyncResult {
  body: Json;
  hasContent: boolean;
}

const sk = (type: string, stateKey: string): string => `${type}\u0000${stateKey}`;
const randomId = (bytes = 18): string => randomBytes(bytes).toString('base64url');
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export class HomeserverStore {
  readonly serverName: string;
  private pos = 0;
  private readonly users = new Map<string, User>();
  private readonly sessions = new Map<string, Session>();
  private readonly rooms = new Map<string, Room>();
  private readonly aliases = new Map<string, string>();
  private readonly media = new Map<string, Media>();
  /** (user, device, request path) → the response body, for idempotent retries. */
  private readonly txns = new Map<string, { at: number; result: Json }>();
  private readonly waiters = new Set<() => void>();
  private notifyScheduled = false;
  private typingTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: StoreOptions) {
    this.serverName = opts.serverName;
  }

  // ---- stream and wake-ups -------------------------------------------------------------------------------

  get position(): number {
    return this.pos;
  }

  /**
   * Takes the next stream position. Waiters are woken once the current synchronous handler has finished, so
   * a long-poll never observes half of a multi-event change (createRoom) and never misses one: a waiter is
   * registered in the same tick as the sync computation it follows.
   */
  private bump(): number {
    this.pos += 1;
    if (!this.notifyScheduled) {
      this.notifyScheduled = true;
      queueMicrotask(() => {
        this.notifyScheduled = false;
        const ws = [...this.waiters];
        this.waiters.clear();
        for (const w of ws) w();
      });
    }
    return this.pos;
  }

  /** Resolves on the next change (or after `ms`, or when `signal` aborts). */
  waitForChange(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Wakes every waiter now (server stop). */
  wakeAll(): void {
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
  }

  dispose(): void {
    if (this.typingTimer) clearTimeout(this.typingTimer);
    this.typingTimer = undefined;
    this.wakeAll();
  }

  forgetTransactions(): void {
    this.txns.clear();
  }

  // ---- transactions -------------------------------------------------------------------------------------

  /** Runs `fn` once per (device, path); a retry gets the first result back without a second effect. */
  idempotent(session: Session, path: string, fn: () => Json): Json {
    const key = `${session.userId}\u0000${session.deviceId}\u0000${path}`;
    const now = Date.now();
    const seen = this.txns.get(key);
    if (seen && now - seen.at < this.opts.transactionTtlMs) return seen.result;
    const result = fn();
    this.txns.set(key, { at: now, result });
    if (this.txns.size > 10000) {
      for (const [k, v] of this.txns) if (now - v.at >= this.opts.transactionTtlMs) this.txns.delete(k);
    }
    return result;
  }

  // ---- accounts -----------------------------------------------------------------------------------------

  userIdFor(userOrLocalpart: string): string {
    return userOrLocalpart.startsWith('@') ? userOrLocalpart : `@${userOrLocalpart}:${this.serverName}`;
  }

  usernameAvailable(localpart: string): void {
    if (!LOCALPART.test(localpart) || localpart.length > 200) {
      throw new MatrixError(400, 'M_INVALID_USERNAME', 'user ID may contain only a-z, 0-9, ._=-/+');
    }
    if (this.users.has(this.userIdFor(localpart)))
      throw new MatrixError(400, 'M_USER_IN_USE', 'User ID already taken.');
  }

  createUser(localpart: string, password: string, displayname?: string): string {
    this.usernameAvailable(localpart);
    const userId = this.userIdFor(localpart);
    this.users.set(userId, {
      userId,
      password,
      displayname: displayname ?? localpart,
      devices: new Map(),
      accountData: new Map(),
      presence: { presence: 'offline', lastActive: Date.now(), pos: 0 },
      filters: [],
      rooms: new Set(),
    });
    return userId;
  }

  hasUser(userId: string): boolean {
    return this.users.has(userId);
  }

  private user(userId: string): User {
    const u = this.users.get(userId);
    if (!u) throw notFound(`unknown user ${userId}`);
    return u;
  }

  checkPassword(userIdOrLocalpart: string, password: string): string {
    const userId = this.userIdFor(userIdOrLocalpart);
    const u = this.users.get(userId);
    if (!u || u.password !== password) throw forbidden('Invalid username or password');
    return userId;
  }

  /** A new access token, on the given device (kept if it exists) or a fresh one. */
  openSession(userId: string, deviceId?: string, displayName?: string): Session {
    const u = this.user(userId);
    const id = deviceId ?? randomBytes(5).toString('hex').toUpperCase();
    const dev = u.devices.get(id);
    if (dev) {
      dev.lastSeen = Date.now();
      if (displayName !== undefined) dev.displayName = displayName;
    } else u.devices.set(id, { displayName, lastSeen: Date.now() });
    const session: Session = { userId, deviceId: id, accessToken: `syt_${randomId(24)}` };
    this.sessions.set(session.accessToken, session);
    return session;
  }

  session(token: string): Session | undefined {
    return this.sessions.get(token);
  }

  logout(token: string): void {
    this.sessions.delete(token);
  }

  logoutAll(userId: string): void {
    for (const [t, s] of this.sessions) if (s.userId === userId) this.sessions.delete(t);
  }

  devices(userId: string): Json[] {
    return [...this.user(userId).devices].map(([device_id, d]) => ({
      device_id,
      display_name: d.displayName,
      last_seen_ts: d.lastSeen,
    }));
  }

  addFilter(userId: string, filter: Json): string {
    const u = this.user(userId);
    u.filters.push(filter);
    return String(u.filters.length - 1);
  }

  getFilter(userId: string, filterId: string): Json {
    const f = /^\d+$/.test(filterId) ? this.user(userId).filters[Number(filterId)] : undefined;
    if (!f) throw notFound('No such filter');
    return f;
  }

  // ---- profile and presence -----------------------------------------------------------------------------

  profile(userId: string): Json {
    const u = this.users.get(userId);
    if (!u) throw notFound('Profile was not found');
    const out: Json = {};
    if (u.displayname !== undefined) out.displayname = u.displayname;
    if (u.avatarUrl !== undefined) out.avatar_url = u.avatarUrl;
    return out;
  }

  /** Sets a profile field and, like Synapse, updates the member event in every joined room. */
  setProfile(session: Session, target: string, field: 'displayname' | 'avatar_url', value: unknown): void {
    if (target !== session.userId) throw forbidden("Cannot set another user's profile");
    if (value !== undefined && value !== null && typeof value !== 'string')
      throw badJson(`${field} must be a string`);
    const u = this.user(target);
    const v = typeof value === 'string' && value !== '' ? value : undefined;
    if (field === 'displayname') u.displayname = v;
    else u.avatarUrl = v;
    for (const roomId of u.rooms) {
      const room = this.rooms.get(roomId);
      if (!room || this.membership(room, target) !== 'join') continue;
      this.appendEvent(room, target, 'm.room.member', this.memberContent(target, 'join'), target);
    }
    this.touchPresence(u);
  }

  presence(userId: string): Json {
    const p = this.user(userId).presence;
    const out: Json = {
      presence: p.presence,
      last_active_ago: Date.now() - p.lastActive,
      currently_active: p.presence === 'online',
    };
    if (p.statusMsg !== undefined) out.status_msg = p.statusMsg;
    return out;
  }

  setPresence(
    session: Session,
    target: string,
    presence: unknown,
    statusMsg: unknown,
    keepMsg = false,
  ): void {
    if (target !== session.userId) throw forbidden("Cannot set another user's presence");
    if (typeof presence !== 'string' || !PRESENCES.includes(presence))
      throw invalidParam('presence must be one of online, offline, unavailable');
    if (statusMsg !== undefined && statusMsg !== null && typeof statusMsg !== 'string')
      throw badJson('status_msg must be a string');
    const p = this.user(target).presence;
    const msg = keepMsg ? p.statusMsg : typeof statusMsg === 'string' ? statusMsg : undefined;
    if (keepMsg && p.presence === presence) return;
    p.presence = presence as Presence;
    p.statusMsg = msg;
    p.lastActive = Date.now();
    p.pos = this.bump();
  }

  private touchPresence(u: User): void {
    u.presence.pos = this.bump();
  }

  // ---- account data -------------------------------------------------------------------------------------

  setAccountData(session: Session, target: string, type: string, content: Json, roomId?: string): void {
    if (target !== session.userId) throw forbidden('Cannot add account data for other users.');
    if (type === 'm.fully_read' && roomId !== undefined)
      throw badJson('Use the read_markers endpoint to set m.fully_read');
    const u = this.user(target);
    if (roomId === undefined) {
      u.accountData.set(type, { content, pos: this.bump() });
      return;
    }
    const room = this.rooms.get(roomId);
    if (!room || this.membership(room, target) === undefined) throw forbidden('Not in room');
    this.putRoomAccountData(room, target, type, content);
  }

  private putRoomAccountData(room: Room, userId: string, type: string, content: Json): void {
    let m = room.accountData.get(userId);
    if (!m) room.accountData.set(userId, (m = new Map()));
    m.set(type, { content, pos: this.bump() });
  }

  getAccountData(session: Session, target: string, type: string, roomId?: string): Json {
    if (target !== session.userId) throw forbidden('Cannot get account data for other users.');
    const entry =
      roomId === undefined
        ? this.user(target).accountData.get(type)
        : this.rooms.get(roomId)?.accountData.get(target)?.get(type);
    if (!entry) throw notFound('Account data not found');
    return entry.content;
  }

  // ---- rooms: lookups -----------------------------------------------------------------------------------

  private room(roomId: string): Room {
    const r = this.rooms.get(roomId);
    if (!r) throw forbidden(`You are not in room ${roomId}`);
    return r;
  }

  private stateContent(room: Room, type: string, stateKey = ''): Json | undefined {
    return room.state.get(sk(type, stateKey))?.ev.content;
  }

  membership(room: Room, userId: string): string | undefined {
    const m = this.stateContent(room, 'm.room.member', userId)?.membership;
    return typeof m === 'string' ? m : undefined;
  }

  private joinedMembers(room: Room): string[] {
    const out: string[] = [];
    for (const e of room.state.values()) {
      if (e.ev.type === 'm.room.member' && e.ev.content.membership === 'join' && e.ev.state_key)
        out.push(e.ev.state_key);
    }
    return out;
  }

  private requireJoined(room: Room, userId: string): void {
    if (this.membership(room, userId) !== 'join') throw forbidden(`User ${userId} not in room ${room.id}`);
  }

  private powerLevel(room: Room, userId: string): number {
    const pl = this.stateContent(room, 'm.room.power_levels');
    if (!pl) return this.stateContent(room, 'm.room.create')?.creator === userId ? 100 : 0;
    const users = isObject(pl.users) ? pl.users : {};
    const v = users[userId] ?? pl.users_default ?? 0;
    return typeof v === 'number' ? v : 0;
  }

  private requiredLevel(room: Room, key: 'invite' | 'kick' | 'ban' | 'redact', fallback: number): number {
    const pl = this.stateContent(room, 'm.room.power_levels');
    const v = pl?.[key];
    return typeof v === 'number' ? v : fallback;
  }

  private eventLevel(room: Room, type: string, isState: boolean): number {
    const pl = this.stateContent(room, 'm.room.power_levels');
    if (!pl) return 0;
    const events = isObject(pl.events) ? pl.events : {};
    const v = events[type] ?? (isState ? (pl.state_default ?? 50) : (pl.events_default ?? 0));
    return typeof v === 'number' ? v : 0;
  }

  resolveAlias(alias: string): string {
    const id = this.aliases.get(alias);
    if (!id) throw notFound(`Room alias ${alias} not found`);
    return id;
  }

  setAlias(session: Session, alias: string, roomId: string): void {
    if (!/^#[^:]+:.+$/.test(alias)) throw invalidParam('Invalid room alias');
    if (!alias.endsWith(`:${this.serverName}`)) throw invalidParam('Room alias must be on this server');
    const room = this.room(roomId);
    this.requireJoined(room, session.userId);
    if (this.aliases.has(alias)) throw new MatrixError(409, 'M_UNKNOWN', 'Room alias already exists');
    this.aliases.set(alias, roomId);
  }

  joinedRooms(userId: string): string[] {
    return [...this.user(userId).rooms].filter((id) => {
      const r = this.rooms.get(id);
      return r !== undefined && this.membership(r, userId) === 'join';
    });
  }

  // ---- events -------------------------------------------------------------------------------------------

  private appendEvent(
    room: Room,
    sender: string,
    type: string,
    content: Json,
    stateKey?: string,
    extra: { txn?: StoredEvent['txn']; redacts?: string } = {},
  ): StoredEvent {
    const ev: ClientEvent = {
      event_id: `$${randomId(32)}`,
      type,
      sender,
      origin_server_ts: Date.now(),
      room_id: room.id,
      content,
    };
    if (stateKey !== undefined) ev.state_key = stateKey;
    if (extra.redacts !== undefined) {
      ev.redacts = extra.redacts;
      // Room version 11 moved `redacts` into content; older clients read the top-level key. Send both.
      if (Number(room.version) >= 11) ev.content = { ...content, redacts: extra.redacts };
    }
    const size = Buffer.byteLength(JSON.stringify(ev));
    if (size > this.opts.maxEventSize)
      throw new MatrixError(
        413,
        'M_TOO_LARGE',
        `event is ${size} bytes, over the ${this.opts.maxEventSize} limit`,
      );
    const stored: StoredEvent = { ev, pos: this.bump() };
    if (extra.txn) stored.txn = extra.txn;
    if (stateKey !== undefined) {
      const prev = room.state.get(sk(type, stateKey));
      if (prev) {
        stored.prevContent = prev.ev.content;
        stored.replacesState = prev.ev.event_id;
      }
      room.state.set(sk(type, stateKey), stored);
      if (type === 'm.room.member') this.user(stateKey).rooms.add(room.id);
    }
    room.events.push(stored);
    room.byId.set(ev.event_id, stored);
    return stored;
  }

  private memberContent(userId: string, membership: string, extra: Json = {}): Json {
    const u = this.users.get(userId);
    const c: Json = { membership, ...extra };
    if (u?.displayname !== undefined) c.displayname = u.displayname;
    if (u?.avatarUrl !== undefined) c.avatar_url = u.avatarUrl;
    return c;
  }

  /** The event as `forUser`'s device sees it: age, and the transaction id only for the sending device. */
  private serialize(e: StoredEvent, viewer: Session | undefined, withRoomId: boolean): Json {
    const out: Json = { ...e.ev };
    if (!withRoomId) delete out.room_id;
    const unsigned: Json = { age: Date.now() - e.ev.origin_server_ts };
    if (e.txn && viewer && e.txn.userId === viewer.userId && e.txn.deviceId === viewer.deviceId)
      unsigned.transaction_id = e.txn.txnId;
    if (e.prevContent) {
      unsigned.prev_content = e.prevContent;
      if (e.replacesState) unsigned.replaces_state = e.replacesState;
    }
    if (e.redactedBecause) unsigned.redacted_because = e.redactedBecause;
    out.unsigned = unsigned;
    return out;
  }

  // ---- rooms: operations --------------------------------------------------------------------------------

  createRoom(session: Session, body: Json): { room_id: string } {
    const creator = session.userId;
    const version = body.room_version === undefined ? DEFAULT_ROOM_VERSION : body.room_version;
    if (typeof version !== 'string' || !SUPPORTED_ROOM_VERSIONS.includes(version))
      throw new MatrixError(
        400,
        'M_UNSUPPORTED_ROOM_VERSION',
        `Room version ${String(version)} is not supported`,
      );
    const visibility = body.visibility ?? 'private';
    if (visibility !== 'public' && visibility !== 'private')
      throw badJson('visibility must be public or private');
    const preset = body.preset ?? (visibility === 'public' ? 'public_chat' : 'private_chat');
    if (preset !== 'private_chat' && preset !== 'public_chat' && preset !== 'trusted_private_chat')
      throw badJson('unknown preset');
    const invite = body.invite ?? [];
    if (!Array.isArray(invite) || !invite.every((i): i is string => typeof i === 'string'))
      throw badJson('invite must be a list of user ids');
    for (const i of invite) {
      if (!this.users.has(i)) throw notFound(`Unknown user ${i}`);
    }
    const initialState = body.initial_state ?? [];
    if (!Array.isArray(initialState)) throw badJson('initial_state must be a list');
    for (const s of initialState) {
      if (!isObject(s) || typeof s.type !== 'string' || !isObject(s.content))
        throw badJson('initial_state entries need type and content');
      if (s.state_key !== undefined && typeof s.state_key !== 'string')
        throw badJson('state_key must be a string');
    }
    for (const k of ['name', 'topic', 'room_alias_name'] as const) {
      if (body[k] !== undefined && typeof body[k] !== 'string') throw badJson(`${k} must be a string`);
    }
    if (body.creation_content !== undefined && !isObject(body.creation_content))
      throw badJson('creation_content must be an object');
    if (body.power_level_content_override !== undefined && !isObject(body.power_level_content_override))
      throw badJson('power_level_content_override must be an object');
    let alias: string | undefined;
    if (typeof body.room_alias_name === 'string') {
      alias = `#${body.room_alias_name}:${this.serverName}`;
      if (this.aliases.has(alias)) throw new MatrixError(400, 'M_ROOM_IN_USE', 'Room alias already taken');
    }

    const room: Room = {
      id: `!${randomId(12)}:${this.serverName}`,
      version,
      events: [],
      byId: new Map(),
      state: new Map(),
      typing: new Map(),
      typingPos: 0,
      receipts: [],
      accountData: new Map(),
    };
    this.rooms.set(room.id, room);
    const createContent: Json = { ...body.creation_content, room_version: version };
    if (Number(version) < 11) createContent.creator = creator;
    this.appendEvent(room, creator, 'm.room.create', createContent, '');
    this.appendEvent(room, creator, 'm.room.member', this.memberContent(creator, 'join'), creator);
    const users: Json = { [creator]: 100 };
    if (preset === 'trusted_private_chat') for (const i of invite) users[i] = 100;
    const pl: Json = {
      users,
      users_default: 0,
      events: {
        'm.room.name': 50,
        'm.room.power_levels': 100,
        'm.room.history_visibility': 100,
        'm.room.canonical_alias': 50,
        'm.room.avatar': 50,
        'm.room.tombstone': 100,
        'm.room.server_acl': 100,
        'm.room.encryption': 100,
      },
      events_default: 0,
      state_default: 50,
      ban: 50,
      kick: 50,
      redact: 50,
      invite: 0,
      notifications: { room: 50 },
      ...body.power_level_content_override,
    };
    this.appendEvent(room, creator, 'm.room.power_levels', pl, '');
    if (alias) {
      this.aliases.set(alias, room.id);
      this.appendEvent(room, creator, 'm.room.canonical_alias', { alias }, '');
    }
    this.appendEvent(
      room,
      creator,
      'm.room.join_rules',
      { join_rule: preset === 'public_chat' ? 'public' : 'invite' },
      '',
    );
    this.appendEvent(room, creator, 'm.room.history_visibility', { history_visibility: 'shared' }, '');
    if (preset !== 'public_chat')
      this.appendEvent(room, creator, 'm.room.guest_access', { guest_access: 'can_join' }, '');
    for (const s of initialState as Json[]) {
      this.appendEvent(
        room,
        creator,
        s.type as string,
        s.content as Json,
        (s.state_key as string | undefined) ?? '',
      );
    }
    if (typeof body.name === 'string')
      this.appendEvent(room, creator, 'm.room.name', { name: body.name }, '');
    if (typeof body.topic === 'string')
      this.appendEvent(room, creator, 'm.room.topic', { topic: body.topic }, '');
    for (const i of invite) {
      const extra: Json = body.is_direct === true ? { is_direct: true } : {};
      this.appendEvent(room, creator, 'm.room.member', this.memberContent(i, 'invite', extra), i);
    }
    return { room_id: room.id };
  }

  join(session: Session, roomIdOrAlias: string): { room_id: string } {
    const roomId = roomIdOrAlias.startsWith('#') ? this.resolveAlias(roomIdOrAlias) : roomIdOrAlias;
    const room = this.rooms.get(roomId);
    if (!room) throw notFound(`No known servers for room ${roomId}`);
    const me = session.userId;
    const current = this.membership(room, me);
    if (current === 'join') return { room_id: room.id };
    if (current === 'ban') throw forbidden('You are banned from this room');
    const rule = this.stateContent(room, 'm.room.join_rules')?.join_rule;
    if (current !== 'invite' && rule !== 'public') throw forbidden('You are not invited to this room.');
    this.appendEvent(room, me, 'm.room.member', this.memberContent(me, 'join'), me);
    return { room_id: room.id };
  }

  invite(session: Session, roomId: string, target: unknown, reason?: unknown): void {
    if (typeof target !== 'string' || !target.startsWith('@')) throw badJson('user_id must be a user id');
    const room = this.room(roomId);
    this.requireJoined(room, session.userId);
    if (this.powerLevel(room, session.userId) < this.requiredLevel(room, 'invite', 0))
      throw forbidden('You do not have permission to invite');
    if (!this.users.has(target)) throw notFound(`Unknown user ${target} (this server does not federate)`);
    const current = this.membership(room, target);
    if (current === 'join') throw forbidden(`${target} is already in the room.`);
    if (current === 'ban') throw forbidden(`${target} is banned from the room`);
    if (current === 'invite') return;
    const extra: Json = typeof reason === 'string' ? { reason } : {};
    this.appendEvent(
      room,
      session.userId,
      'm.room.member',
      this.memberContent(target, 'invite', extra),
      target,
    );
  }

  leave(session: Session, roomId: string, reason?: unknown): void {
    const room = this.room(roomId);
    const current = this.membership(room, session.userId);
    if (current === undefined) throw forbidden(`User ${session.userId} not in room ${roomId}`);
    if (current === 'leave' || current === 'ban') return;
    const extra: Json = typeof reason === 'string' ? { reason } : {};
    this.appendEvent(
      room,
      session.userId,
      'm.room.member',
      { membership: 'leave', ...extra },
      session.userId,
    );
  }

  /** kick (→ leave), ban, unban (→ leave) by a member with enough power over the target. */
  moderate(
    session: Session,
    roomId: string,
    action: 'kick' | 'ban' | 'unban',
    target: unknown,
    reason?: unknown,
  ): void {
    if (typeof target !== 'string' || !target.startsWith('@')) throw badJson('user_id must be a user id');
    const room = this.room(roomId);
    const me = session.userId;
    this.requireJoined(room, me);
    const need = this.requiredLevel(room, action === 'unban' ? 'ban' : action, 50);
    const mine = this.powerLevel(room, me);
    if (mine < need || (target !== me && mine <= this.powerLevel(room, target)))
      throw forbidden(`You do not have permission to ${action} ${target}`);
    const current = this.membership(room, target);
    if (action === 'kick' && current !== 'join' && current !== 'invite')
      throw forbidden(`${target} is not in the room`);
    if (action === 'unban' && current !== 'ban') throw forbidden(`${target} is not banned`);
    const extra: Json = typeof reason === 'string' ? { reason } : {};
    const membership = action === 'ban' ? 'ban' : 'leave';
    this.appendEvent(room, me, 'm.room.member', { membership, ...extra }, target);
  }

  send(session: Session, roomId: string, type: string, content: Json, txnId: string): { event_id: string } {
    const room = this.room(roomId);
    this.requireJoined(room, session.userId);
    if (this.powerLevel(room, session.userId) < this.eventLevel(room, type, false))
      throw forbidden(`You do not have permission to send ${type}`);
    const e = this.appendEvent(room, session.userId, type, content, undefined, {
      txn: { userId: session.userId, deviceId: session.deviceId, txnId },
    });
    return { event_id: e.ev.event_id };
  }

  putState(
    session: Session,
    roomId: string,
    type: string,
    stateKey: string,
    content: Json,
  ): { event_id: string } {
    const room = this.room(roomId);
    const me = session.userId;
    this.requireJoined(room, me);
    if (type === 'm.room.create') throw forbidden('m.room.create cannot be changed');
    if (type === 'm.room.member') {
      // Only a profile change of one's own, current membership; other changes go through the membership API.
      if (stateKey !== me || content.membership !== 'join')
        throw forbidden('Use the membership endpoints to change membership');
    } else if (this.powerLevel(room, me) < this.eventLevel(room, type, true)) {
      throw forbidden(`You do not have permission to send ${type}`);
    }
    if (stateKey.startsWith('@') && stateKey !== me && this.powerLevel(room, me) < 100)
      throw forbidden('State keys starting with @ are reserved for that user');
    if (
      type === 'm.room.canonical_alias' &&
      typeof content.alias === 'string' &&
      this.aliases.get(content.alias) !== room.id
    )
      throw new MatrixError(400, 'M_BAD_ALIAS', 'The alias does not point to this room');
    return { event_id: this.appendEvent(room, me, type, content, stateKey).ev.event_id };
  }

  getState(session: Session, roomId: string, type?: string, stateKey = ''): Json | Json[] {
    const room = this.room(roomId);
    this.requireJoined(room, session.userId);
    if (type === undefined) return [...room.state.values()].map((e) => this.serialize(e, session, true));
    const e = room.state.get(sk(type, stateKey));
    if (!e) throw notFound('Event not found.');
    return e.ev.content;
  }

  members(session: Session, roomId: string): Json[] {
    const room = this.room(roomId);
    if (this.membership(room, session.userId) !== 'join') throw forbidden('not in room');
    return [...room.state.values()]
      .filter((e) => e.ev.type === 'm.room.member')
      .map((e) => this.serialize(e, session, true));
  }

  joinedMembersMap(session: Session, roomId: string): Json {
    const room = this.room(roomId);
    this.requireJoined(room, session.userId);
    const joined: Json = {};
    for (const id of this.joinedMembers(room)) {
      const c = this.stateContent(room, 'm.room.member', id) ?? {};
      joined[id] = { display_name: c.displayname ?? null, avatar_url: c.avatar_url ?? null };
    }
    return joined;
  }

  redact(
    session: Session,
    roomId: string,
    eventId: string,
    reason: unknown,
    txnId: string,
  ): { event_id: string } {
    const room = this.room(roomId);
    const me = session.userId;
    this.requireJoined(room, me);
    const target = room.byId.get(eventId);
    if (!target) throw notFound(`Event ${eventId} not found in ${roomId}`);
    if (target.ev.sender !== me && this.powerLevel(room, me) < this.requiredLevel(room, 'redact', 50))
      throw forbidden('You do not have permission to redact this event');
    const content: Json = typeof reason === 'string' ? { reason } : {};
    const r = this.appendEvent(room, me, 'm.room.redaction', content, undefined, {
      txn: { userId: me, deviceId: session.deviceId, txnId },
      redacts: eventId,
    });
    if (!target.redactedBecause) {
      target.ev.content = redactContent(target.ev.type, target.ev.content, room.version);
      target.redactedBecause = r.ev;
    }
    return { event_id: r.ev.event_id };
  }

  /** The highest position the user may read in this room, or an M_FORBIDDEN. History visibility: shared. */
  private readableUpTo(room: Room, userId: string): number {
    const m = room.state.get(sk('m.room.member', userId));
    const membership = m?.ev.content.membership;
    if (membership === 'join') return Infinity;
    if ((membership === 'leave' || membership === 'ban') && m && m.prevContent?.membership === 'join')
      return m.pos;
    throw forbidden(`User ${userId} not in room ${room.id}`);
  }

  getEvent(session: Session, roomId: string, eventId: string): Json {
    const room = this.room(roomId);
    const upTo = this.readableUpTo(room, session.userId);
    const e = room.byId.get(eventId);
    if (!e || e.pos > upTo) throw notFound('Event not found.');
    return this.serialize(e, session, true);
  }

  /** GET /messages: `from`/`to` are stream positions; events in (.., from] backwards or (from, ..] forwards. */
  messages(
    session: Session,
    roomId: string,
    from: number | undefined,
    to: number | undefined,
    dir: 'b' | 'f',
    limit: number,
  ): Json {
    const room = this.room(roomId);
    const upTo = Math.min(this.readableUpTo(room, session.userId), this.pos);
    const chunk: StoredEvent[] = [];
    if (dir === 'b') {
      const start = Math.min(from ?? this.pos, upTo);
      for (let i = room.events.length - 1; i >= 0 && chunk.length < limit; i--) {
        const e = room.events[i]!;
        if (e.pos > start) continue;
        if (to !== undefined && e.pos <= to) break;
        chunk.push(e);
      }
      const out: Json = { start: `s${start}`, chunk: chunk.map((e) => this.serialize(e, session, true)) };
      const last = chunk[chunk.length - 1];
      const first = room.events[0];
      if (last && chunk.length === limit && first && last.pos > first.pos) out.end = `s${last.pos - 1}`;
      return out;
    }
    const start = from ?? 0;
    for (const e of room.events) {
      if (chunk.length >= limit) break;
      if (e.pos <= start) continue;
      if (e.pos > upTo || (to !== undefined && e.pos > to)) break;
      chunk.push(e);
    }
    const out: Json = { start: `s${start}`, chunk: chunk.map((e) => this.serialize(e, session, true)) };
    const last = chunk[chunk.length - 1];
    if (last && chunk.length === limit) out.end = `s${last.pos}`;
    return out;
  }

  // ---- ephemeral ----------------------------------------------------------------------------------------

  setTyping(session: Session, roomId: string, target: string, typing: unknown, timeout: unknown): void {
    if (target !== session.userId) throw forbidden('Cannot set typing for other users');
    if (typeof typing !== 'boolean') throw badJson('typing must be a boolean');
    const room = this.room(roomId);
    this.requireJoined(room, target);
    if (typing) {
      const ms = typeof timeout === 'number' && timeout > 0 ? Math.min(timeout, 120000) : 30000;
      room.typing.set(target, Date.now() + ms);
    } else if (!room.typing.delete(target)) return;
    room.typingPos = this.bump();
    this.scheduleTypingExpiry();
  }

  private scheduleTypingExpiry(): void {
    if (this.typingTimer) clearTimeout(this.typingTimer);
    this.typingTimer = undefined;
    let next = Infinity;
    for (const r of this.rooms.values()) for (const until of r.typing.values()) next = Math.min(next, until);
    if (next === Infinity) return;
    this.typingTimer = setTimeout(
      () => {
        this.typingTimer = undefined;
        const now = Date.now();
        for (const r of this.rooms.values()) {
          let changed = false;
          for (const [u, until] of r.typing) {
            if (until <= now) {
              r.typing.delete(u);
              changed = true;
            }
          }
          if (changed) r.typingPos = this.bump();
        }
        this.scheduleTypingExpiry();
      },
      Math.max(0, next - Date.now()) + 5,
    );
  }

  receipt(session: Session, roomId: string, type: string, eventId: string, threadId?: unknown): void {
    if (!RECEIPT_TYPES.includes(type)) throw invalidParam(`Receipt type ${type} is not supported`);
    if (threadId !== undefined && typeof threadId !== 'string') throw badJson('thread_id must be a string');
    const room = this.room(roomId);
    this.requireJoined(room, session.userId);
    if (!room.byId.has(eventId)) throw notFound(`Event ${eventId} not found`);
    if (type === 'm.fully_read') {
      this.putRoomAccountData(room, session.userId, 'm.fully_read', { event_id: eventId });
      return;
    }
    const r: Receipt = { pos: this.bump(), eventId, type, userId: session.userId, ts: Date.now() };
    if (typeof threadId === 'string') r.threadId = threadId;
    // Keep only the latest receipt per (user, type, thread), as servers do.
    room.receipts = room.receipts.filter(
      (x) => !(x.userId === r.userId && x.type === r.type && x.threadId === r.threadId),
    );
    room.receipts.push(r);
  }

  // ---- media --------------------------------------------------------------------------------------------

  upload(session: Session, data: Buffer, contentType: string, fileName?: string): string {
    const id = randomId(18);
    const m: Media = { contentType, data, uploader: session.userId };
    if (fileName !== undefined) m.fileName = fileName;
    this.media.set(id, m);
    return `mxc://${this.serverName}/${id}`;
  }

  download(serverName: string, mediaId: string): Media {
    const m = serverName === this.serverName ? this.media.get(mediaId) : undefined;
    if (!m) throw notFound('Not found');
    return m;
  }

  turnServer(session: Session): Json {
    const t = this.opts.turn;
    if (!t) return {};
    const ttl = t.ttlSeconds ?? 86400;
    if (t.sharedSecret !== undefined) {
      const username = `${Math.floor(Date.now() / 1000) + ttl}:${session.userId}`;
      const password = createHmac('sha1', t.sharedSecret).update(username).digest('base64');
      return { username, password, uris: t.uris, ttl };
    }
    return { username: t.username ?? '', password: t.password ?? '', uris: t.uris, ttl };
  }

  // ---- sync ---------------------------------------------------------------------------------------------

  /** Marks the user online on sync unless told otherwise (spec: `set_presence`). */
  syncPresence(session: Session, setPresence: string | undefined): void {
    const p = setPresence ?? 'online';
    if (!PRESENCES.includes(p)) throw invalidParam('set_presence must be online, offline or unavailable');
    this.setPresence(session, session.userId, p, undefined, true);
  }

  sync(session: Session, params: SyncParams): SyncResult {
    const me = session.userId;
    const u = this.user(me);
    const since = params.since ?? 0;
    const initial = params.since === undefined;
    const limit = params.timelineLimit;
    const join: Json = {};
    const invite: Json = {};
    const leave: Json = {};
    let hasContent = false;
    const sharing = new Set<string>([me]);

    for (const roomId of u.rooms) {
      const room = this.rooms.get(roomId);
      if (!room) continue;
      const m = room.state.get(sk('m.room.member', me));
      if (!m) continue;
      const membership = m.ev.content.membership;
      if (membership === 'join') {
        for (const id of this.joinedMembers(room)) sharing.add(id);
        // A join after `since` (not a profile change of an earlier join) gets the room from scratch.
        const fresh = initial || (m.pos > since && m.prevContent?.membership !== 'join');
        const entry = this.joinedRoomSync(room, session, fresh ? undefined : since, limit, fresh);
        if (entry) {
          join[roomId] = entry;
          hasContent = true;
        }
      } else if (membership === 'invite' && m.pos > since) {
        invite[roomId] = { invite_state: { events: this.strippedState(room, me) } };
        hasContent = true;
      } else if ((membership === 'leave' || membership === 'ban') && !initial && m.pos > since) {
        const prev = m.prevContent?.membership;
        if (prev === 'join' || prev === 'invite') {
          leave[roomId] = this.leftRoomSync(room, session, since, limit, m.pos);
          hasContent = true;
        }
      }
    }

    const presence: Json[] = [];
    for (const id of sharing) {
      const other = this.users.get(id);
      if (!other || other.presence.pos <= since) continue;
      const content = this.presence(id);
      if (other.displayname !== undefined) content.displayname = other.displayname;
      if (other.avatarUrl !== undefined) content.avatar_url = other.avatarUrl;
      presence.push({ type: 'm.presence', sender: id, content });
    }
    const accountData = [...u.accountData]
      .filter(([, v]) => v.pos > since)
      .map(([type, v]) => ({ type, content: v.content }));
    if (presence.length > 0 || accountData.length > 0) hasContent = true;

    return {
      hasContent,
      body: {
        next_batch: `s${this.pos}`,
        rooms: { join, invite, leave, knock: {} },
        presence: { events: presence },
        account_data: { events: accountData },
        to_device: { events: [] },
        device_lists: { changed: [], left: [] },
        device_one_time_keys_count: {},
      },
    };
  }

  private timelineWindow(
    room: Room,
    after: number | undefined,
    upTo: number,
    limit: number,
  ): { events: StoredEvent[]; limited: boolean } {
    const all: StoredEvent[] = [];
    for (let i = room.events.length - 1; i >= 0; i--) {
      const e = room.events[i]!;
      if (e.pos > upTo) continue;
      if (after !== undefined && e.pos <= after) break;
      all.push(e);
      if (all.length > limit) break;
    }
    const limited = all.length > limit;
    const events = all.slice(0, limit).reverse();
    return { events, limited };
  }

  /** State events between `after` (exclusive; undefined = from the start) and the timeline's first event. */
  private stateBefore(room: Room, after: number | undefined, beforePos: number): StoredEvent[] {
    const m = new Map<string, StoredEvent>();
    for (const e of room.events) {
      if (e.pos >= beforePos) break;
      if (after !== undefined && e.pos <= after) continue;
      if (e.ev.state_key !== undefined) m.set(sk(e.ev.type, e.ev.state_key), e);
    }
    return [...m.values()];
  }

  private joinedRoomSync(
    room: Room,
    session: Session,
    since: number | undefined,
    limit: number,
    fresh: boolean,
  ): Json | undefined {
    const me = session.userId;
    const { events, limited } = this.timelineWindow(room, since, Infinity, limit);
    const firstPos = events[0]?.pos ?? this.pos + 1;
    const state = fresh || limited ? this.stateBefore(room, since, firstPos) : [];

    const ephemeral: Json[] = [];
    const now = Date.now();
    if (fresh || room.typingPos > (since ?? 0)) {
      const userIds = [...room.typing].filter(([, until]) => until > now).map(([id]) => id);
      if (fresh ? userIds.length > 0 : true)
        ephemeral.push({ type: 'm.typing', content: { user_ids: userIds } });
    }
    const receipts = room.receipts.filter(
      (r) => (fresh || r.pos > (since ?? 0)) && (r.type !== 'm.read.private' || r.userId === me),
    );
    if (receipts.length > 0) {
      const content: Record<string, Record<string, Record<string, Json>>> = {};
      for (const r of receipts) {
        const byType = (content[r.eventId] ??= {});
        const byUser = (byType[r.type] ??= {});
        byUser[r.userId] = r.threadId === undefined ? { ts: r.ts } : { ts: r.ts, thread_id: r.threadId };
      }
      ephemeral.push({ type: 'm.receipt', content });
    }
    const accountData = [...(room.accountData.get(me) ?? [])]
      .filter(([, v]) => fresh || v.pos > (since ?? 0))
      .map(([type, v]) => ({ type, content: v.content }));

    if (
      !fresh &&
      events.length === 0 &&
      state.length === 0 &&
      ephemeral.length === 0 &&
      accountData.length === 0
    )
      return undefined;
    const joined = this.joinedMembers(room);
    const invited = [...room.state.values()].filter(
      (e) => e.ev.type === 'm.room.member' && e.ev.content.membership === 'invite',
    ).length;
    const heroes = [...room.state.values()]
      .filter(
        (e) =>
          e.ev.type === 'm.room.member' &&
          e.ev.state_key !== me &&
          (e.ev.content.membership === 'join' || e.ev.content.membership === 'invite'),
      )
      .map((e) => e.ev.state_key as string)
      .sort()
      .slice(0, 5);
    return {
      timeline: {
        events: events.map((e) => this.serialize(e, session, false)),
        limited,
        prev_batch: `s${firstPos - 1}`,
      },
      state: { events: state.map((e) => this.serialize(e, session, false)) },
      ephemeral: { events: ephemeral },
      account_data: { events: accountData },
      summary: {
        'm.heroes': heroes,
        'm.joined_member_count': joined.length,
        'm.invited_member_count': invited,
      },
      unread_notifications: {},
    };
  }

  private leftRoomSync(room: Room, session: Session, since: number, limit: number, leftAt: number): Json {
    const { events, limited } = this.timelineWindow(room, since, leftAt, limit);
    const firstPos = events[0]?.pos ?? leftAt;
    const state = limited ? this.stateBefore(room, since, firstPos) : [];
    return {
      timeline: {
        events: events.map((e) => this.serialize(e, session, false)),
        limited,
        prev_batch: `s${firstPos - 1}`,
      },
      state: { events: state.map((e) => this.serialize(e, session, false)) },
      account_data: { events: [] },
    };
  }

  /** Stripped state an invitee sees (spec: "stripped state"), plus their own invite event. */
  private strippedState(room: Room, me: string): Json[] {
    const types = [
      'm.room.create',
      'm.room.name',
      'm.room.avatar',
      'm.room.topic',
      'm.room.join_rules',
      'm.room.canonical_alias',
      'm.room.encryption',
    ];
    const out: Json[] = [];
    for (const t of types) {
      const e = room.state.get(sk(t, ''));
      if (e) out.push({ type: t, state_key: '', content: e.ev.content, sender: e.ev.sender });
    }
    const inv = room.state.get(sk('m.room.member', me));
    if (inv) out.push({ ...inv.ev, unsigned: {} });
    const inviter = inv ? room.state.get(sk('m.room.member', inv.ev.sender)) : undefined;
    if (inviter && inviter !== inv)
      out.push({
        type: 'm.room.member',
        state_key: inviter.ev.state_key,
        content: inviter.ev.content,
        sender: inviter.ev.sender,
      });
    return out;
  }
}

/** The spec's redaction algorithm: keep only the content keys that authorisation needs. */
export function redactContent(type: string, content: Json, roomVersion: string): Json {
  const v11 = Number(roomVersion) >= 11;
  const keep: Record<string, string[]> = {
    'm.room.member': ['membership', 'join_authorised_via_users_server'],
    'm.room.join_rules': ['join_rule', 'allow'],
    'm.room.power_levels': [
      'ban',
      'events',
      'events_default',
      'kick',
      'redact',
      'state_default',
      'users',
      'users_default',
      ...(v11 ? ['invite'] : []),
    ],
    'm.room.history_visibility': ['history_visibility'],
    'm.room.create': v11 ? Object.keys(content) : ['creator'],
    'm.room.redaction': v11 ? ['redacts'] : [],
  };
  const out: Json = {};
  for (const k of keep[type] ?? []) if (k in content) out[k] = content[k];
  return out;
}
