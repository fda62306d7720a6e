import {
  CallId,
  fromHtml,
  type FormattedBody,
  type Presence,
  type RemoteAttachment,
  type RemoteEvent,
  RemoteMessageId,
  RemoteRoomId,
  RemoteUserId,
  type RoomKind,
} from '@switchboard/sdk';

/** Shown in place of an encrypted event: better than silence or ciphertext. */
export const ENCRYPTED_NOTICE = 'end-to-end encrypted room: not yet readable by the gateway';

/** Largest formatted_body we parse; longer ones are cut by the SDK's converter and marked truncated. */
const MAX_HTML_BYTES = 64 * 1024;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** What the mapper remembers between sync batches (and, for `direct`, across restarts via the client). */
export interface MatrixMapperState {
  /** roomId → the other party, from `m.direct` account data. */
  direct: Map<string, string>;
  typing: Map<string, Set<string>>;
  displayNames: Map<string, string>;
  encrypted: Set<string>;
  /** old room → the replacement its m.room.tombstone names. */
  tombstones: Map<string, string>;
  /** new room → the predecessor its m.room.create claims. */
  predecessors: Map<string, string>;
}

export function newMapperState(direct: Record<string, string> = {}): MatrixMapperState {
  return {
    direct: new Map(Object.entries(direct)),
    typing: new Map(),
    displayNames: new Map(),
    encrypted: new Set(),
    tombstones: new Map(),
    predecessors: new Map(),
  };
}

const PRESENCE: Record<string, Presence['state']> = {
  online: 'available',
  unavailable: 'away',
  offline: 'offline',
};

const CALL_SIGNALS: Record<string, Extract<RemoteEvent, { type: 'call.signal' }>['signal']> = {
  'm.call.invite': 'invite',
  'm.call.answer': 'answer',
  'm.call.candidates': 'candidates',
  'm.call.select_answer': 'select_answer',
  'm.call.hangup': 'hangup',
  'm.call.reject': 'reject',
};

const at = (ev: Json): string =>
  new Date(typeof ev.origin_server_ts === 'number' ? ev.origin_server_ts : Date.now()).toISOString();

/** Removes the reply fallback a client puts before the reply (spec: "Fallbacks for rich replies"). */
function stripReplyFallback(
  text: string,
  html: string | undefined,
): { text: string; html: string | undefined } {
  let t = text;
  if (t.startsWith('> ')) {
    const lines = t.split('\n');
    let i = 0;
    while (i < lines.length && lines[i]!.startsWith('> ')) i++;
    if (i < lines.length && lines[i] === '') t = lines.slice(i + 1).join('\n');
  }
  const h = html?.replace(/^\s*<mx-reply>[\s\S]*?<\/mx-reply>/, '');
  return { text: t, html: h };
}

/**
 * Turns one /sync response into gateway events, in the server's order. Pure apart from `state`, which
 * carries typing sets, display names and direct-room knowledge from batch to batch.
 */
export class MatrixInboundMapper {
  constructor(
    private readonly self: string,
    readonly state: MatrixMapperState,
  ) {}

  /** True when this batch changed `m.direct` (the client persists it). */
  directChanged = false;

  /**
   * `live`: this sync is part of the running sync loop (not the first sync of a connection, whose member
   * events happened while we were away or are the room's history): its member changes are `live`, except
   * in a room whose timeline is `limited` (a gap, read back from /messages).
   */
  map(sync: unknown, opts: { backfill?: boolean; live?: boolean } = {}): RemoteEvent[] {
    this.directChanged = false;
    if (!isObject(sync)) return [];
    const out: RemoteEvent[] = [];
    const accountData = isObject(sync.account_data) ? sync.account_data.events : undefined;
    if (Array.isArray(accountData)) {
      // A room can become direct after we first saw it (m.direct is written after createRoom).
      for (const ev of accountData) {
        for (const roomId of this.accountData(ev)) out.push(this.roomUpsert(RemoteRoomId(roomId), {}));
      }
    }

    const rooms = isObject(sync.rooms) ? sync.rooms : {};
    const join = isObject(rooms.join) ? rooms.join : {};
    for (const [roomId, entry] of Object.entries(join)) {
      if (isObject(entry))
        this.joinedRoom(roomId, entry, out, opts.backfill === true, opts.live === true && !opts.backfill);
    }
    const invite = isObject(rooms.invite) ? rooms.invite : {};
    for (const [roomId, entry] of Object.entries(invite)) {
      const evs = isObject(entry) && isObject(entry.invite_state) ? entry.invite_state.events : undefined;
      const mine = Array.isArray(evs)
        ? (evs as unknown[]).find(
            (e) => isObject(e) && e.type === 'm.room.member' && e.state_key === this.self,
          )
        : undefined;
      if (!isObject(mine)) continue;
      for (const e of evs as unknown[])
        if (isObject(e) && e.type === 'm.room.create') this.createEvent(roomId, e);
      // An invite flagged is_direct is a DM from its sender (spec: "Direct Messaging").
      if (isObject(mine.content) && mine.content.is_direct === true && typeof mine.sender === 'string') {
        if (this.state.direct.get(roomId) !== mine.sender) {
          this.state.direct.set(roomId, mine.sender);
          this.directChanged = true;
        }
      }
      out.push({
        type: 'room.member',
        at: at(mine),
        roomId: RemoteRoomId(roomId),
        userId: RemoteUserId(this.self),
        membership: 'invite',
        ...(typeof mine.sender === 'string' ? { reason: `invited by ${mine.sender}` } : {}),
      });
    }
    const leave = isObject(rooms.leave) ? rooms.leave : {};
    for (const roomId of Object.keys(leave)) {
      out.push({ type: 'room.left', at: new Date().toISOString(), roomId: RemoteRoomId(roomId) });
    }

    this.followUpgrades(out);

    const presence = isObject(sync.presence) ? sync.presence.events : undefined;
    if (Array.isArray(presence)) for (const ev of presence) this.presence(ev, out);
    return out;
  }

  /** Applies `m.direct`; returns the rooms whose direct/group kind or peer changed. */
  private accountData(ev: unknown): string[] {
    if (!isObject(ev) || ev.type !== 'm.direct' || !isObject(ev.content)) return [];
    const next = new Map<string, string>();
    for (const [userId, roomIds] of Object.entries(ev.content)) {
      if (!Array.isArray(roomIds)) continue;
      for (const r of roomIds) if (typeof r === 'string') next.set(r, userId);
    }
    const changed = new Set<string>();
    for (const [r, peer] of next) if (this.state.direct.get(r) !== peer) changed.add(r);
    for (const r of this.state.direct.keys()) if (!next.has(r)) changed.add(r);
    this.state.direct = next;
    this.directChanged = true;
    return [...changed];
  }

  roomKind(roomId: string): RoomKind {
    return this.state.direct.has(roomId) ? 'direct' : 'group';
  }

  private joinedRoom(
    roomId: string,
    entry: Json,
    out: RemoteEvent[],
    backfill: boolean,
    liveSync: boolean,
  ): void {
    const rid = RemoteRoomId(roomId);
    const state = isObject(entry.state) && Array.isArray(entry.state.events) ? entry.state.events : [];
    const timeline =
      isObject(entry.timeline) && Array.isArray(entry.timeline.events) ? entry.timeline.events : [];
    // A limited timeline had a gap: its member events are news from a while ago, not live changes.
    const live = liveSync && !(isObject(entry.timeline) && entry.timeline.limited === true);
    let info: { title?: string; topic?: string; changed: boolean } = { changed: false };
    for (const ev of state) info = this.stateEvent(roomId, ev, info);
    for (const ev of timeline) {
      if (!isObject(ev)) continue;
      if (typeof ev.state_key === 'string') {
        info = this.stateEvent(roomId, ev, info);
        if (ev.type === 'm.room.member') this.memberEvent(rid, ev, out, live);
        continue;
      }
      if (info.changed) {
        out.push(this.roomUpsert(rid, info));
        info = { changed: false };
      }
      this.timelineEvent(rid, ev, out, backfill);
    }
    if (info.changed) out.push(this.roomUpsert(rid, info));

    const ephemeral =
      isObject(entry.ephemeral) && Array.isArray(entry.ephemeral.events) ? entry.ephemeral.events : [];
    for (const ev of ephemeral) this.ephemeral(rid, ev, out);
  }

  roomUpsert(roomId: RemoteRoomId, info: { title?: string; topic?: string } = {}): RemoteEvent {
    const peer = this.state.direct.get(roomId);
    return {
      type: 'room.upsert',
      at: new Date().toISOString(),
      roomId,
      kind: this.roomKind(roomId),
      ...(info.title !== undefined ? { title: info.title } : {}),
      ...(info.topic !== undefined ? { topic: info.topic } : {}),
      ...(peer !== undefined ? { peer: RemoteUserId(peer) } : {}),
      encrypted: this.state.encrypted.has(roomId),
    };
  }

  private stateEvent(
    roomId: string,
    ev: unknown,
    info: { title?: string; topic?: string; changed: boolean },
  ): { title?: string; topic?: string; changed: boolean } {
    if (!isObject(ev) || !isObject(ev.content)) return info;
    const c = ev.content;
    switch (ev.type) {
      case 'm.room.name':
        return { ...info, title: str(c.name) ?? '', changed: true };
      case 'm.room.topic':
        return { ...info, topic: str(c.topic) ?? '', changed: true };
      case 'm.room.encryption':
        this.state.encrypted.add(roomId);
        return { ...info, changed: true };
      case 'm.room.create':
        this.createEvent(roomId, ev);
        return { ...info, changed: true };
      case 'm.room.tombstone': {
        const next = str(c.replacement_room);
        if (next !== undefined && ev.state_key === '') this.state.tombstones.set(roomId, next);
        return info;
      }
      case 'm.room.member': {
        const name = str(c.displayname);
        if (typeof ev.state_key === 'string' && name !== undefined)
          this.state.displayNames.set(ev.state_key, name);
        return info;
      }
      default:
        return info;
    }
  }

  private createEvent(roomId: string, ev: Json): void {
    const c = isObject(ev.content) ? ev.content : {};
    const prev = isObject(c.predecessor) ? str(c.predecessor.room_id) : undefined;
    if (prev !== undefined) this.state.predecessors.set(roomId, prev);
  }

  /**
   * A room upgrade carries the conversation (its DM peer) over to the new room only when both sides
   * agree: the old room's tombstone names the new room AND the new room's create event names the old one.
   * A room that merely claims a predecessor is not trusted (CVE-2025-59160, which matrix-js-sdk 37's own
   * predecessor helpers do not guard against; we never use them).
   */
  private followUpgrades(out: RemoteEvent[]): void {
    for (const [next, old] of this.state.predecessors) {
      if (this.state.tombstones.get(old) !== next) continue;
      const peer = this.state.direct.get(old);
      if (peer === undefined || this.state.direct.get(next) === peer) continue;
      this.state.direct.set(next, peer);
      this.directChanged = true;
      out.push(this.roomUpsert(RemoteRoomId(next)));
    }
  }

  private memberEvent(roomId: RemoteRoomId, ev: Json, out: RemoteEvent[], live: boolean): void {
    const c = ev.content as Json;
    const target = ev.state_key as string;
    const m = str(c.membership);
    const prev = isObject(ev.unsigned) && isObject(ev.unsigned.prev_content) ? ev.unsigned.prev_content : {};
    let membership: Extract<RemoteEvent, { type: 'room.member' }>['membership'] | undefined;
    if (m === 'join') membership = prev.membership === 'join' ? undefined : 'join';
    else if (m === 'invite') membership = 'invite';
    else if (m === 'ban') membership = 'ban';
    else if (m === 'leave') membership = ev.sender !== target ? 'kick' : 'leave';
    const name = str(c.displayname);
    const self = target === this.self ? { self: true } : {};
    if (membership === undefined) {
      // A display-name change is a rename in the room (the id stays): one `join` carrying `rename`.
      const before = str(prev.displayname) ?? target;
      const after = name ?? target;
      if (before !== after)
        out.push({
          type: 'room.member',
          at: at(ev),
          roomId,
          userId: RemoteUserId(target),
          displayName: after,
          membership: 'join',
          live,
          rename: { from: before, to: after },
          ...self,
        });
      // A profile change of a member: the buddy list wants the new name (our own is not a buddy).
      if (target === this.self) return;
      out.push({
        type: 'contact.upsert',
        at: at(ev),
        userId: RemoteUserId(target),
        ...(name !== undefined ? { displayName: name } : {}),
        ...(str(c.avatar_url) !== undefined ? { avatarUrl: str(c.avatar_url) } : {}),
      });
      return;
    }
    // Someone leaving has no display name in the event: the one they had.
    const shown = name ?? str(prev.displayname) ?? this.state.displayNames.get(target);
    out.push({
      type: 'room.member',
      at: at(ev),
      roomId,
      userId: RemoteUserId(target),
      membership,
      ...(shown !== undefined ? { displayName: shown } : {}),
      ...(str(c.reason) !== undefined ? { reason: str(c.reason) } : {}),
      live,
      ...self,
    });
    if (membership === 'leave' || membership === 'kick' || membership === 'ban') {
      if (target === this.self)
        out.push({
          type: 'room.left',
          at: at(ev),
          roomId,
          ...(str(c.reason) ? { reason: str(c.reason) } : {}),
        });
    }
  }

  private sender(ev: Json): { userId: RemoteUserId; displayName?: string; self?: boolean } {
    const id = str(ev.sender) ?? '';
    const name = this.state.displayNames.get(id);
    return {
      userId: RemoteUserId(id),
      ...(name !== undefined ? { displayName: name } : {}),
      ...(id === this.self ? { self: true } : {}),
    };
  }

  private formatted(content: Json): FormattedBody | undefined {
    const html = str(content.formatted_body);
    if (html === undefined || content.format !== 'org.matrix.custom.html') return undefined;
    return fromHtml(html, { maxBytes: MAX_HTML_BYTES });
  }

  private timelineEvent(roomId: RemoteRoomId, ev: Json, out: RemoteEvent[], backfill: boolean): void {
    const eventId = str(ev.event_id);
    const content = isObject(ev.content) ? ev.content : {};
    if (eventId === undefined) return;
    const unsigned = isObject(ev.unsigned) ? ev.unsigned : {};
    if (unsigned.redacted_because !== undefined) return;
    const messageId = RemoteMessageId(eventId);
    const base = { at: at(ev), roomId };
    const relates = isObject(content['m.relates_to']) ? content['m.relates_to'] : {};

    const signal = CALL_SIGNALS[str(ev.type) ?? ''];
    if (signal !== undefined) {
      const callId = str(content.call_id);
      if (callId === undefined) return;
      const offer = isObject(content.offer) ? content.offer : isObject(content.answer) ? content.answer : {};
      const candidates = Array.isArray(content.candidates)
        ? content.candidates.filter(isObject).flatMap((c) =>
            typeof c.candidate === 'string'
              ? [
                  {
                    candidate: c.candidate,
                    ...(typeof c.sdpMid === 'string' ? { sdpMid: c.sdpMid } : {}),
                    ...(typeof c.sdpMLineIndex === 'number' ? { sdpMLineIndex: c.sdpMLineIndex } : {}),
                  },
                ]
              : [],
          )
        : undefined;
      out.push({
        type: 'call.signal',
        at: base.at,
        roomId,
        callId: CallId(callId),
        from: RemoteUserId(str(ev.sender) ?? ''),
        signal,
        ...(str(offer.sdp) !== undefined ? { sdp: str(offer.sdp) } : {}),
        ...(candidates ? { candidates } : {}),
        ...(str(content.reason) !== undefined ? { reason: str(content.reason) } : {}),
      });
      return;
    }

    switch (ev.type) {
      case 'm.room.redaction': {
        const target = str(ev.redacts) ?? str(content.redacts);
        if (target === undefined) return;
        out.push({
          type: 'message.redact',
          ...base,
          messageId: RemoteMessageId(target),
          sender: this.sender(ev),
          ...(str(content.reason) !== undefined ? { reason: str(content.reason) } : {}),
        });
        return;
      }
      case 'm.reaction': {
        const target = str(relates.event_id);
        const key = str(relates.key);
        if (relates.rel_type !== 'm.annotation' || target === undefined || key === undefined) return;
        out.push({
          type: 'reaction',
          ...base,
          messageId: RemoteMessageId(target),
          reactionId: messageId,
          sender: this.sender(ev),
          key,
        });
        return;
      }
      case 'm.room.encrypted':
        out.push({
          type: 'message',
          ...base,
          messageId,
          sender: this.sender(ev),
          kind: 'notice',
          text: ENCRYPTED_NOTICE,
          roomKind: this.roomKind(roomId),
          ...(backfill ? { backfill: true } : {}),
        });
        return;
      case 'm.room.message':
        break;
      default:
        return;
    }

    if (relates.rel_type === 'm.replace' && typeof relates.event_id === 'string') {
      const nc = isObject(content['m.new_content']) ? content['m.new_content'] : content;
      const formatted = this.formatted(nc);
      out.push({
        type: 'message.edit',
        ...base,
        messageId: RemoteMessageId(relates.event_id),
        editId: messageId,
        sender: this.sender(ev),
        text: str(nc.body) ?? '',
        ...(formatted ? { formatted } : {}),
      });
      return;
    }

    const msgtype = str(content.msgtype) ?? 'm.text';
    const inReply = isObject(relates['m.in_reply_to']) ? str(relates['m.in_reply_to'].event_id) : undefined;
    let text = str(content.body) ?? '';
    let html = str(content.formatted_body);
    if (inReply !== undefined) ({ text, html } = stripReplyFallback(text, html));
    const formatted = this.formatted({ ...content, formatted_body: html });
    const kind = msgtype === 'm.notice' ? 'notice' : msgtype === 'm.emote' ? 'emote' : 'text';
    const attachments: RemoteAttachment[] = [];
    // A Matrix file is an mxc:// URI; anything else (javascript:, data:) would reach clients as a link.
    if (
      ['m.image', 'm.file', 'm.audio', 'm.video'].includes(msgtype) &&
      typeof content.url === 'string' &&
      /^mxc:\/\/[^/]+\/[^/]+$/.test(content.url)
    ) {
      const meta = isObject(content.info) ? content.info : {};
      attachments.push({
        name: str(content.filename) ?? text,
        mimeType: str(meta.mimetype) ?? 'application/octet-stream',
        ...(typeof meta.size === 'number' ? { size: meta.size } : {}),
        url: content.url,
      });
    }
    const txn = str(unsigned.transaction_id);
    out.push({
      type: 'message',
      ...base,
      messageId,
      sender: this.sender(ev),
      kind,
      text,
      ...(formatted ? { formatted } : {}),
      ...(inReply !== undefined ? { replyTo: RemoteMessageId(inReply) } : {}),
      ...(attachments.length > 0 ? { attachments } : {}),
      ...(txn !== undefined && ev.sender === this.self ? { transactionId: txn } : {}),
      ...(backfill ? { backfill: true } : {}),
      roomKind: this.roomKind(roomId),
    });
  }

  private ephemeral(roomId: RemoteRoomId, ev: unknown, out: RemoteEvent[]): void {
    if (!isObject(ev) || !isObject(ev.content)) return;
    const now = new Date().toISOString();
    if (ev.type === 'm.typing') {
      const ids = Array.isArray(ev.content.user_ids)
        ? ev.content.user_ids.filter((u) => typeof u === 'string')
        : [];
      const next = new Set(ids);
      const prev = this.state.typing.get(roomId) ?? new Set<string>();
      for (const u of next)
        if (!prev.has(u))
          out.push({ type: 'typing', at: now, roomId, userId: RemoteUserId(u), typing: true });
      for (const u of prev)
        if (!next.has(u))
          out.push({ type: 'typing', at: now, roomId, userId: RemoteUserId(u), typing: false });
      this.state.typing.set(roomId, next);
      return;
    }
    if (ev.type === 'm.receipt') {
      for (const [eventId, byType] of Object.entries(ev.content)) {
        if (!isObject(byType)) continue;
        for (const type of ['m.read', 'm.read.private']) {
          const users = byType[type];
          if (!isObject(users)) continue;
          for (const [userId, r] of Object.entries(users)) {
            const ts = isObject(r) && typeof r.ts === 'number' ? new Date(r.ts).toISOString() : now;
            out.push({
              type: 'receipt',
              at: ts,
              roomId,
              userId: RemoteUserId(userId),
              messageId: RemoteMessageId(eventId),
              kind: 'read',
            });
          }
        }
      }
    }
  }

  private presence(ev: unknown, out: RemoteEvent[]): void {
    if (!isObject(ev) || ev.type !== 'm.presence' || typeof ev.sender !== 'string' || !isObject(ev.content))
      return;
    // Our own presence comes back from the server too; the user is not their own buddy.
    if (ev.sender === this.self) return;
    const c = ev.content;
    const state = PRESENCE[str(c.presence) ?? ''] ?? 'unknown';
    const now = Date.now();
    const since =
      typeof c.last_active_ago === 'number' ? new Date(now - c.last_active_ago).toISOString() : undefined;
    const name = str(c.displayname);
    if (name !== undefined) this.state.displayNames.set(ev.sender, name);
    if (name !== undefined || str(c.avatar_url) !== undefined) {
      out.push({
        type: 'contact.upsert',
        at: new Date(now).toISOString(),
        userId: RemoteUserId(ev.sender),
        ...(name !== undefined ? { displayName: name } : {}),
        ...(str(c.avatar_url) !== undefined ? { avatarUrl: str(c.avatar_url) } : {}),
      });
    }
    out.push({
      type: 'presence',
      at: new Date(now).toISOString(),
      userId: RemoteUserId(ev.sender),
      presence: {
        state,
        ...(str(c.status_msg) !== undefined ? { status: str(c.status_msg) } : {}),
        ...(since !== undefined ? { since } : {}),
      },
    });
  }
}
