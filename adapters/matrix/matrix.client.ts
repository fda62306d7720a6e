import {
  type AttachmentsCapable,
  type RosterCapable,
  type RosterContact,
  type ClientContext,
  type RemoteAttachment,
  type RemoteEvent,
  type ConnectionStatus,
  type FormattedBody,
  type NetworkClient,
  type OutboundMessage,
  type Presence,
  type PresenceCapable,
  type ReceiptsCapable,
  type RedactCapable,
  type RemoteMessageId,
  RemoteMessageId as toMessageId,
  type RemoteRoomId,
  RemoteRoomId as toRoomId,
  type ReplyCapable,
  type RoomsCapable,
  type RoomSummary,
  RemoteUserId,
  type SendResult,
  SendError,
  toHtml,
  toPlainText,
  type TransactionId,
  type TypingCapable,
  type EditCapable,
  type ReactionsCapable,
  type CallId,
  type CallOffer,
  type IceServerInfo,
  type VoiceCapable,
} from '@switchboard/sdk';
import { createClient, type IRequestOpts, MatrixError, Method, type MatrixClient } from 'matrix-js-sdk';
import type { Logger } from 'matrix-js-sdk/lib/logger';
import { MatrixInboundMapper, newMapperState } from './matrix-inbound.mapper';
import { MatrixVoip } from './matrix-voip';
import type { MatrixOptions } from './matrix.options';

type Json = Record<string, unknown>;

interface StoredSession {
  homeserverUrl: string;
  userId: string;
  accessToken: string;
  deviceId: string;
}

const KEY_SESSION = 'session';
const KEY_SYNC = 'syncToken';
const KEY_DIRECT = 'direct';
const enc = encodeURIComponent;
// The SDK types IRequestOpts with DOM's RequestInit; under Node's types `priority` looks required.
const requestOpts = (abortSignal: AbortSignal): IRequestOpts => ({ abortSignal }) as IRequestOpts;

const PRESENCE_OUT: Record<Presence['state'], 'online' | 'unavailable' | 'offline'> = {
  available: 'online',
  away: 'unavailable',
  busy: 'unavailable',
  offline: 'offline',
  unknown: 'online',
};

/**
 * One Matrix account. matrix-js-sdk supplies the HTTP layer (auth, error types, rate-limit parsing) and
 * the request shapes; the /sync loop is ours, because the gateway's durability rule — advance the sync
 * token only after every event of the batch was accepted by `ctx.emit` — needs control over when the
 * token is stored, which the SDK's own SyncApi does not give.
 */
/** Events read back to fill one room's sync gap at most (a gateway down for days stops there). */
const MAX_GAP_EVENTS = 10_000;

const isJson = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

type Block = FormattedBody['blocks'][number];
type Inline = Extract<Block, { type: 'paragraph' }>['children'][number];

/** The users a body's pills (mention nodes) name, in order, each once; not inside links or quotes. */
function mentionedUsers(body: FormattedBody): string[] {
  const out = new Set<string>();
  const inline = (nodes: readonly Inline[]): void => {
    for (const n of nodes) {
      if (n.type === 'mention') out.add(n.userId);
      else if (n.type === 'bold' || n.type === 'italic' || n.type === 'underline' || n.type === 'strike')
        inline(n.children);
    }
  };
  // A quoted pill is someone else's words: quoting it notifies nobody.
  for (const b of body.blocks) if (b.type === 'paragraph') inline(b.children);
  return [...out];
}

export class MatrixNetworkClient
  implements
    NetworkClient,
    PresenceCapable,
    RoomsCapable,
    TypingCapable,
    ReceiptsCapable,
    EditCapable,
    RedactCapable,
    ReactionsCapable,
    ReplyCapable,
    AttachmentsCapable,
    RosterCapable,
    VoiceCapable
{
  status: ConnectionStatus = { state: 'connecting' };
  readonly nativeReplies = true as const;
  private api: MatrixClient | undefined;
  private session: StoredSession | undefined;
  private mapper: MatrixInboundMapper | undefined;
  private readonly stop = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly voip = new MatrixVoip({
    sendEvent: (roomId, type, content, txnId) => this.sendEvent(roomId, type, content, txnId),
    openDirect: (userId) => this.openDirect(userId),
    self: () => this.session?.userId,
    partyId: () => this.session?.deviceId ?? 'switchboard',
    turnServer: () => this.request<Record<string, unknown>>(Method.Get, '/voip/turnServer'),
  });

  constructor(
    private readonly options: MatrixOptions,
    private readonly ctx: ClientContext,
  ) {
    ctx.signal.addEventListener('abort', () => this.stop.abort(), { once: true });
  }

  // ---- lifecycle ----------------------------------------------------------------------------------------

  async connect(): Promise<void> {
    await this.report({ state: 'connecting' });
    try {
      this.session = await this.openSession();
      const direct = (await this.ctx.state.get<Record<string, string>>(KEY_DIRECT)) ?? {};
      this.mapper = new MatrixInboundMapper(this.session.userId, newMapperState(direct));
      // One sync before `connected`: rooms are known and the outbox may start sending.
      let since = await this.ctx.state.get<string>(KEY_SYNC);
      // An incremental sync carries no member state for rooms that did not change it: without this, every
      // sender after a restart would be named by their user id.
      if (since) await this.seedDisplayNames();
      since = await this.syncOnce(since, 0);
      await this.report({ state: 'connected' });
      this.loop = this.syncLoop(since);
    } catch (err) {
      if (this.stop.signal.aborted) return;
      await this.report(this.statusFor(err, 'connect_failed'));
    }
  }

  /**
   * Stops syncing and releases the HTTP client. It does not call /logout: that would destroy the device
   * (and an operator-supplied access token), and the device must survive restarts.
   */
  async disconnect(): Promise<void> {
    this.stop.abort();
    await this.loop?.catch(() => undefined);
    this.api?.stopClient();
  }

  private async report(status: ConnectionStatus): Promise<void> {
    if (this.stop.signal.aborted && status.state !== 'connecting') return;
    this.status = status;
    await this.ctx.emit({ type: 'connection.state', at: new Date().toISOString(), status });
  }

  private statusFor(err: unknown, code: string): ConnectionStatus {
    if (err instanceof MatrixError) {
      if (err.errcode === 'M_FORBIDDEN' && err.httpStatus === 403 && this.session === undefined)
        return {
          state: 'bad_credentials',
          code: 'login_refused',
          message: `the homeserver refused the login: ${err.message}`,
        };
      if (err.errcode === 'M_UNKNOWN_TOKEN' || err.errcode === 'M_MISSING_TOKEN') {
        return this.options.password === undefined
          ? {
              state: 'bad_credentials',
              code: 'token_rejected',
              message: 'the homeserver no longer accepts the access token',
            }
          : {
              state: 'transient_disconnect',
              code: 'token_rejected',
              message: 'access token expired; logging in again',
            };
      }
      return {
        state: 'transient_disconnect',
        code,
        message: `homeserver error: ${err.errcode ?? err.httpStatus}: ${err.message}`,
      };
    }
    const msg = err instanceof Error ? err.message : String(err);
    return { state: 'transient_disconnect', code, message: `cannot reach the homeserver: ${msg}` };
  }

  private makeApi(s?: { userId: string; accessToken: string; deviceId?: string }): MatrixClient {
    const log = this.ctx.logger;
    const logger: Logger = {
      trace: () => undefined,
      debug: () => undefined,
      info: (...m: unknown[]) => log.debug(m.map(String).join(' ')),
      warn: (...m: unknown[]) => log.warn(m.map(String).join(' ')),
      error: (...m: unknown[]) => log.error(m.map(String).join(' ')),
      getChild: () => logger,
    };
    return createClient({
      baseUrl: this.options.homeserverUrl,
      logger,
      ...(s
        ? { userId: s.userId, accessToken: s.accessToken, ...(s.deviceId ? { deviceId: s.deviceId } : {}) }
        : {}),
    });
  }

  /** Restores the stored session (device kept), or uses the given token, or logs in with the password. */
  private async openSession(): Promise<StoredSession> {
    const o = this.options;
    const stored = await this.ctx.state.get<StoredSession>(KEY_SESSION);
    const candidates: { accessToken: string; deviceId?: string }[] = [];
    if (stored && stored.homeserverUrl === o.homeserverUrl) candidates.push(stored);
    if (o.accessToken !== undefined) candidates.push({ accessToken: o.accessToken });
    for (const c of candidates) {
      const api = this.makeApi({ userId: '', accessToken: c.accessToken });
      try {
        const who = await api.whoami();
        this.api = this.makeApi({
          userId: who.user_id,
          accessToken: c.accessToken,
          deviceId: who.device_id ?? c.deviceId,
        });
        const s: StoredSession = {
          homeserverUrl: o.homeserverUrl,
          userId: who.user_id,
          accessToken: c.accessToken,
          deviceId: who.device_id ?? c.deviceId ?? '',
        };
        await this.ctx.state.set(KEY_SESSION, s);
        return s;
      } catch (err) {
        if (!(
          err instanceof MatrixError &&
          (err.errcode === 'M_UNKNOWN_TOKEN' || err.errcode === 'M_MISSING_TOKEN')
        ))
          throw err;
      }
    }
    if (o.password === undefined)
      throw new MatrixError({ errcode: 'M_UNKNOWN_TOKEN', error: 'access token rejected' }, 401);
    const anon = this.makeApi();
    const deviceId = stored?.deviceId || o.deviceId;
    const res = await anon.loginRequest({
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: o.userId },
      password: o.password,
      initial_device_display_name: o.deviceName,
      ...(deviceId ? { device_id: deviceId } : {}),
    });
    const s: StoredSession = {
      homeserverUrl: o.homeserverUrl,
      userId: res.user_id,
      accessToken: res.access_token,
      deviceId: res.device_id,
    };
    await this.ctx.state.set(KEY_SESSION, s);
    // A new login starts a new history position only if we never synced: the stored token stays valid.
    this.api = this.makeApi(s);
    return s;
  }

  // ---- sync ---------------------------------------------------------------------------------------------

  private requireApi(): MatrixClient {
    if (!this.api || !this.session) throw new SendError('not connected', true, 'disconnected');
    return this.api;
  }

  /** One /sync; every event is emitted (and accepted) before the new token is stored. */
  private async syncOnce(since: string | undefined, timeoutMs: number, live = false): Promise<string> {
    const api = this.requireApi();
    const mapper = this.mapper!;
    const filter = JSON.stringify({
      room: { timeline: { limit: since ? 100 : this.options.initialSyncLimit } },
    });
    const query: Record<string, string> = { filter, timeout: String(timeoutMs) };
    if (since) query.since = since;
    // A native timeout signal: it does not keep the process alive, unlike a localTimeoutMs timer.
    const signal = AbortSignal.any([this.stop.signal, AbortSignal.timeout(timeoutMs + 30_000)]);
    const res = await api.http.authedRequest<Json>(
      Method.Get,
      '/sync',
      query,
      undefined,
      requestOpts(signal),
    );
    if (since) await this.fillGaps(res, since);
    const events = mapper.map(res, { backfill: since === undefined, live });
    for (const ev of events) {
      if (this.stop.signal.aborted) throw new Error('stopped');
      for (const e of this.voip.observe(ev)) await this.ctx.emit(e);
    }
    if (mapper.directChanged) await this.ctx.state.set(KEY_DIRECT, Object.fromEntries(mapper.state.direct));
    if (this.options.acceptDirectInvites) await this.acceptDirectInvites(events);
    const next = typeof res.next_batch === 'string' ? res.next_batch : since;
    if (next === undefined) throw new Error('sync response without next_batch');
    await this.ctx.state.set(KEY_SYNC, next);
    return next;
  }

  /**
   * A room whose timeline in this sync is `limited` had more events since our token than the sync carries:
   * the gap is read back with /messages (from the batch's prev_batch back to our since token) and put in
   * front of the timeline, so a burst is never silently skipped.
   */
  private async fillGaps(res: Json, since: string): Promise<void> {
    const rooms = res.rooms;
    const join = isJson(rooms) && isJson(rooms.join) ? rooms.join : undefined;
    if (!join) return;
    const api = this.requireApi();
    for (const [roomId, entry] of Object.entries(join)) {
      const timeline = isJson(entry) && isJson(entry.timeline) ? entry.timeline : undefined;
      if (!timeline || timeline.limited !== true || typeof timeline.prev_batch !== 'string') continue;
      const missed: unknown[] = [];
      let from: string | undefined = timeline.prev_batch;
      while (from !== undefined && missed.length < MAX_GAP_EVENTS) {
        if (this.stop.signal.aborted) throw new Error('stopped');
        const page: Json = await api.http.authedRequest<Json>(
          Method.Get,
          `/rooms/${enc(roomId)}/messages`,
          { dir: 'b', from, to: since, limit: '100' },
          undefined,
          requestOpts(AbortSignal.any([this.stop.signal, AbortSignal.timeout(60_000)])),
        );
        const chunk: unknown[] = Array.isArray(page.chunk) ? (page.chunk as unknown[]) : [];
        missed.push(...chunk);
        from = chunk.length > 0 && typeof page.end === 'string' && page.end !== from ? page.end : undefined;
      }
      if (missed.length >= MAX_GAP_EVENTS)
        this.ctx.logger.warn('a sync gap was longer than we read back', { roomId, read: missed.length });
      const known: unknown[] = Array.isArray(timeline.events) ? (timeline.events as unknown[]) : [];
      timeline.events = [...missed.reverse(), ...known];
    }
  }

  /** Joins the DM invites of this sync batch; a failure is logged and the invite stays reported. */
  private async acceptDirectInvites(events: readonly RemoteEvent[]): Promise<void> {
    for (const ev of events) {
      if (ev.type !== 'room.member' || ev.membership !== 'invite' || ev.userId !== this.session?.userId)
        continue;
      if (!this.mapper?.state.direct.has(ev.roomId)) continue;
      try {
        await this.joinRoom(ev.roomId);
      } catch (err) {
        this.ctx.logger.warn('could not accept a direct-chat invite', {
          roomId: ev.roomId,
          error: String(err),
        });
      }
    }
  }

  private async syncLoop(since: string): Promise<void> {
    let token = since;
    while (!this.stop.signal.aborted) {
      try {
        // Syncs of the running loop carry live member changes (the connect-time one: what we missed).
        token = await this.syncOnce(token, this.options.syncTimeoutMs, true);
      } catch (err) {
        if (this.stop.signal.aborted) return;
        // The gateway reconnects with backoff; this client stops here.
        await this.report(this.statusFor(err, 'sync_failed'));
        this.stop.abort();
        return;
      }
    }
  }

  // ---- sending ------------------------------------------------------------------------------------------

  /** Display names of the members of every joined room (a restart's memory of who is who). */
  private async seedDisplayNames(): Promise<void> {
    const names = this.mapper?.state.displayNames;
    if (!names) return;
    try {
      const { joined_rooms: rooms } = await this.request<{ joined_rooms: string[] }>(
        Method.Get,
        '/joined_rooms',
      );
      for (const room of rooms) {
        const res = await this.request<{ joined?: Record<string, { display_name?: unknown }> }>(
          Method.Get,
          `/rooms/${enc(room)}/joined_members`,
        );
        for (const [user, m] of Object.entries(res.joined ?? {}))
          if (typeof m.display_name === 'string' && m.display_name !== '') names.set(user, m.display_name);
      }
    } catch (err) {
      // Names are a nicety; the sync must go on without them.
      this.ctx.logger.warn('could not read room members', { error: String(err) });
    }
  }

  private async request<T>(method: Method, path: string, body?: Json): Promise<T> {
    const api = this.requireApi();
    try {
      return await api.http.authedRequest<T>(
        method,
        path,
        undefined,
        body,
        requestOpts(AbortSignal.any([this.stop.signal, AbortSignal.timeout(60_000)])),
      );
    } catch (err) {
      throw toSendError(err);
    }
  }

  private content(kind: OutboundMessage['kind'], text: string, formatted: FormattedBody | undefined): Json {
    const msgtype = kind === 'notice' ? 'm.notice' : kind === 'emote' ? 'm.emote' : 'm.text';
    const c: Json = { msgtype, body: formatted ? toPlainText(formatted) || text : text };
    if (formatted) {
      c.format = 'org.matrix.custom.html';
      c.formatted_body = toHtml(formatted);
      // Matrix v1.7 intentional mentions: the pills' users are notified (never our own id, per the spec).
      // Only when there are pills: an empty m.mentions would turn off the display-name rules that notify
      // people named in plain text.
      const userIds = mentionedUsers(formatted).filter((u) => u !== this.session?.userId);
      if (userIds.length) c['m.mentions'] = { user_ids: userIds };
    }
    return c;
  }

  private async sendEvent(roomId: string, type: string, content: Json, txnId: string): Promise<string> {
    // The gateway's transaction id is the Matrix txnId: a retry is idempotent while the server remembers it.
    const path = `/rooms/${enc(roomId)}/send/${enc(type)}/${enc(txnId)}`;
    const res = await this.request<{ event_id: string }>(Method.Put, path, content);
    return res.event_id;
  }

  async send(message: OutboundMessage): Promise<SendResult> {
    const content = this.content(message.kind, message.text, message.formatted);
    if (message.replyTo !== undefined)
      content['m.relates_to'] = { 'm.in_reply_to': { event_id: message.replyTo } };
    const id = await this.sendEvent(message.roomId, 'm.room.message', content, message.transactionId);
    return { messageIds: [toMessageId(id)], confirmed: true };
  }

  async editMessage(
    roomId: RemoteRoomId,
    messageId: RemoteMessageId,
    text: string,
    formatted: FormattedBody | undefined,
    transactionId: TransactionId,
  ): Promise<void> {
    const inner = this.content('text', text, formatted);
    const content: Json = {
      ...inner,
      body: `* ${String(inner.body)}`,
      'm.new_content': inner,
      'm.relates_to': { rel_type: 'm.replace', event_id: messageId },
    };
    if (typeof inner.formatted_body === 'string') content.formatted_body = `* ${inner.formatted_body}`;
    // An edit lists its mentions in m.new_content; the top level names only new ones, and we do not know
    // the old ones: nobody is notified twice (v1.7).
    if (inner['m.mentions'] !== undefined) content['m.mentions'] = {};
    await this.sendEvent(roomId, 'm.room.message', content, transactionId);
  }

  async redactMessage(roomId: RemoteRoomId, messageId: RemoteMessageId, reason?: string): Promise<void> {
    // Derived from the target, so a retried redaction of one message is one transaction.
    const txn = `redact-${messageId}`;
    await this.request(
      Method.Put,
      `/rooms/${enc(roomId)}/redact/${enc(messageId)}/${enc(txn)}`,
      reason ? { reason } : {},
    );
  }

  async react(
    roomId: RemoteRoomId,
    messageId: RemoteMessageId,
    key: string,
    transactionId: TransactionId,
  ): Promise<void> {
    await this.sendEvent(
      roomId,
      'm.reaction',
      { 'm.relates_to': { rel_type: 'm.annotation', event_id: messageId, key } },
      transactionId,
    );
  }

  async setPresence(presence: Presence): Promise<void> {
    const s = this.requireSession();
    await this.request(Method.Put, `/presence/${enc(s.userId)}/status`, {
      presence: PRESENCE_OUT[presence.state],
      ...(presence.status !== undefined ? { status_msg: presence.status } : {}),
    });
  }

  async setTyping(roomId: RemoteRoomId, typing: boolean): Promise<void> {
    const s = this.requireSession();
    await this.request(
      Method.Put,
      `/rooms/${enc(roomId)}/typing/${enc(s.userId)}`,
      typing ? { typing, timeout: 30000 } : { typing },
    );
  }

  async markRead(roomId: RemoteRoomId, messageId: RemoteMessageId): Promise<void> {
    await this.request(Method.Post, `/rooms/${enc(roomId)}/receipt/m.read/${enc(messageId)}`, {});
  }

  // ---- media --------------------------------------------------------------------------------------------

  /**
   * Uploads, then sends m.image / m.audio / m.video / m.file. A retry uploads again (the media repository
   * has no idempotency) but the event itself is deduplicated by the transaction id.
   */
  async sendAttachment(
    roomId: RemoteRoomId,
    file: { name: string; mimeType: string; data: Uint8Array; caption?: string },
    transactionId: TransactionId,
  ): Promise<RemoteMessageId> {
    const api = this.requireApi();
    let uri: string;
    try {
      const up = await api.uploadContent(Buffer.from(file.data), {
        name: file.name,
        type: file.mimeType,
        includeFilename: true,
      });
      uri = up.content_uri;
    } catch (err) {
      throw toSendError(err);
    }
    const top = file.mimeType.split('/')[0];
    const msgtype =
      top === 'image' ? 'm.image' : top === 'audio' ? 'm.audio' : top === 'video' ? 'm.video' : 'm.file';
    const content: Json = {
      msgtype,
      // Matrix v1.10: a body other than the file name is the file's caption.
      body: file.caption ?? file.name,
      filename: file.name,
      url: uri,
      info: { mimetype: file.mimeType, size: file.data.byteLength },
    };
    return toMessageId(await this.sendEvent(roomId, 'm.room.message', content, transactionId));
  }

  /** Downloads an mxc:// attachment through authenticated media (v1.11), falling back to the legacy path. */
  async fetchAttachment(
    attachment: RemoteAttachment,
    maxBytes: number,
  ): Promise<{ mimeType: string; data: Uint8Array }> {
    const s = this.requireSession();
    const m = /^mxc:\/\/([^/]+)\/([A-Za-z0-9_-]+)$/.exec(attachment.url);
    if (!m) throw new SendError(`not a Matrix media URI: ${attachment.url}`, false, 'bad_url');
    const base = this.options.homeserverUrl.replace(/\/+$/, '');
    const tail = `${enc(m[1]!)}/${enc(m[2]!)}`;
    // A failed connection or a server error may pass: retryable. A missing file or a refusal will not.
    const get = (path: string) =>
      fetch(`${base}${path}/${tail}`, {
        headers: { authorization: `Bearer ${s.accessToken}` },
        signal: AbortSignal.any([this.stop.signal, AbortSignal.timeout(120_000)]),
      }).catch((err: unknown) => {
        throw new SendError(`media download failed: ${String(err)}`, true, 'unreachable');
      });
    let res = await get('/_matrix/client/v1/media/download');
    if (res.status === 404 || res.status === 405) {
      const body = (await res.json().catch(() => ({}))) as { errcode?: unknown };
      if (body.errcode === 'M_UNRECOGNIZED') res = await get('/_matrix/media/v3/download');
      else throw new SendError(`media not found: ${attachment.url}`, false, 'not_found');
    }
    if (!res.ok || !res.body) {
      const passing = res.status >= 500 || res.status === 429;
      throw new SendError(
        `media download failed with HTTP ${res.status}`,
        passing,
        passing ? 'temporary' : 'rejected',
      );
    }
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (declared > maxBytes) {
      await res.body.cancel();
      throw new SendError(
        `attachment is ${declared} bytes, over the ${maxBytes} byte limit`,
        false,
        'too_large',
      );
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    const reader = res.body.getReader();
    for (;;) {
      const chunk = (await reader.read()) as { done: boolean; value?: Uint8Array };
      if (chunk.done || !chunk.value) break;
      const value = chunk.value;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel();
        throw new SendError(`attachment is over the ${maxBytes} byte limit`, false, 'too_large');
      }
      chunks.push(value);
    }
    const data = new Uint8Array(total);
    let off = 0;
    for (const c of chunks) {
      data.set(c, off);
      off += c.byteLength;
    }
    return { mimeType: res.headers.get('content-type') ?? attachment.mimeType, data };
  }

  // ---- rooms --------------------------------------------------------------------------------------------

  private requireSession(): StoredSession {
    if (!this.session) throw new SendError('not connected', true, 'disconnected');
    return this.session;
  }

  async joinRoom(address: string): Promise<RoomSummary> {
    const res = await this.request<{ room_id: string }>(Method.Post, `/join/${enc(address)}`, {});
    // Accepting a DM invite: record it in m.direct, as the spec asks of the invitee's client.
    const peer = this.mapper?.state.direct.get(res.room_id);
    if (peer !== undefined) await this.addDirect(RemoteUserId(peer), res.room_id);
    return { roomId: toRoomId(res.room_id), kind: this.mapper?.roomKind(res.room_id) ?? 'group' };
  }

  /** Read-modify-write of m.direct on the server, so entries other clients added are kept. */
  private async addDirect(userId: RemoteUserId, roomId: string): Promise<void> {
    const s = this.requireSession();
    let current: Json = {};
    try {
      current = await this.request<Json>(Method.Get, `/user/${enc(s.userId)}/account_data/m.direct`);
    } catch (err) {
      if (!(err instanceof SendError && err.code === 'M_NOT_FOUND')) throw err;
    }
    const prev = current[userId];
    const list = Array.isArray(prev) ? prev.filter((x): x is string => typeof x === 'string') : [];
    if (list.includes(roomId)) return;
    await this.request(Method.Put, `/user/${enc(s.userId)}/account_data/m.direct`, {
      ...current,
      [userId]: [...list, roomId],
    });
    const mapper = this.mapper!;
    const was = mapper.state.direct.get(roomId);
    mapper.state.direct.set(roomId, userId);
    await this.ctx.state.set(KEY_DIRECT, Object.fromEntries(mapper.state.direct));
    // The sync that carries m.direct back will see no change, so say it here.
    if (was !== userId)
      for (const e of this.voip.observe(mapper.roomUpsert(toRoomId(roomId)))) await this.ctx.emit(e);
  }

  async leaveRoom(roomId: RemoteRoomId): Promise<void> {
    await this.request(Method.Post, `/rooms/${enc(roomId)}/leave`, {});
  }

  /** Finds the DM with a user in `m.direct`, or creates one (trusted_private_chat, is_direct) and records it. */
  async openDirect(userId: RemoteUserId): Promise<RoomSummary> {
    const mapper = this.mapper!;
    for (const [roomId, peer] of mapper.state.direct)
      if (peer === userId) return { roomId: toRoomId(roomId), kind: 'direct' };
    const res = await this.request<{ room_id: string }>(Method.Post, '/createRoom', {
      preset: 'trusted_private_chat',
      is_direct: true,
      invite: [userId],
    });
    await this.addDirect(userId, res.room_id);
    return { roomId: toRoomId(res.room_id), kind: 'direct' };
  }

  // ---- calls (Matrix VoIP v1, matrix-voip.ts) ------------------------------------------------------------

  placeCall(offer: CallOffer): Promise<void> {
    return this.voip.placeCall(offer);
  }

  answerCall(callId: CallId, sdp: string): Promise<void> {
    return this.voip.answerCall(callId, sdp);
  }

  sendCandidates(
    callId: CallId,
    candidates: { candidate: string; sdpMid?: string; sdpMLineIndex?: number }[],
  ): Promise<void> {
    return this.voip.sendCandidates(callId, candidates);
  }

  hangup(callId: CallId, reason: 'hangup' | 'rejected' | 'busy' | 'no_answer' | 'failed'): Promise<void> {
    return this.voip.hangup(callId, reason);
  }

  iceServers(): Promise<IceServerInfo[]> {
    return this.voip.iceServers();
  }

  // ---- buddy list ---------------------------------------------------------------------------------------

  /** The people we share a direct room with (m.direct), with the display names sync has shown us. */
  async listContacts(): Promise<RosterContact[]> {
    const mapper = this.mapper;
    if (!mapper) throw new SendError('not connected', true, 'disconnected');
    const peers = new Set(mapper.state.direct.values());
    return [...peers].sort().map((id) => {
      const name = mapper.state.displayNames.get(id);
      return { userId: RemoteUserId(id), ...(name !== undefined ? { displayName: name } : {}) };
    });
  }

  /** Matrix has no contact list of its own: a contact is a DM, so adding one opens (or finds) it. */
  async addContact(userId: RemoteUserId): Promise<void> {
    await this.openDirect(userId);
  }

  /** Drops the user's rooms from m.direct (the rooms themselves stay joined). */
  async removeContact(userId: RemoteUserId): Promise<void> {
    const s = this.requireSession();
    let current: Json = {};
    try {
      current = await this.request<Json>(Method.Get, `/user/${enc(s.userId)}/account_data/m.direct`);
    } catch (err) {
      if (!(err instanceof SendError && err.code === 'M_NOT_FOUND')) throw err;
    }
    const rest = Object.fromEntries(Object.entries(current).filter(([k]) => k !== userId));
    await this.request(Method.Put, `/user/${enc(s.userId)}/account_data/m.direct`, rest);
    const mapper = this.mapper!;
    for (const [roomId, peer] of [...mapper.state.direct])
      if (peer === userId) mapper.state.direct.delete(roomId);
    await this.ctx.state.set(KEY_DIRECT, Object.fromEntries(mapper.state.direct));
    await this.ctx.emit({ type: 'contact.remove', at: new Date().toISOString(), userId });
  }

  async listRooms(): Promise<RoomSummary[]> {
    const res = await this.request<{ joined_rooms: string[] }>(Method.Get, '/joined_rooms');
    return res.joined_rooms.map((id) => ({
      roomId: toRoomId(id),
      kind: this.mapper?.roomKind(id) ?? 'group',
    }));
  }

  async setTopic(roomId: RemoteRoomId, topic: string): Promise<void> {
    await this.request(Method.Put, `/rooms/${enc(roomId)}/state/m.room.topic/`, { topic });
  }

  async invite(roomId: RemoteRoomId, userId: RemoteUserId): Promise<void> {
    await this.request(Method.Post, `/rooms/${enc(roomId)}/invite`, { user_id: userId });
  }
}

/** Maps a homeserver or network failure to the outbox's retry decision. */
export function toSendError(err: unknown): SendError {
  if (err instanceof SendError) return err;
  if (err instanceof MatrixError) {
    const code = err.errcode ?? `http_${err.httpStatus ?? 0}`;
    if (err.httpStatus === 429 || err.errcode === 'M_LIMIT_EXCEEDED') {
      const after = err.getRetryAfterMs();
      return new SendError(`rate limited by the homeserver`, true, 'rate_limited', after ?? undefined);
    }
    const status = err.httpStatus ?? 0;
    const retryable = status >= 500 || status === 0 || err.errcode === 'M_UNKNOWN_TOKEN';
    return new SendError(`${code}: ${err.message}`, retryable, code);
  }
  const msg = err instanceof Error ? err.message : String(err);
  return new SendError(`cannot reach the homeserver: ${msg}`, true, 'disconnected');
}
