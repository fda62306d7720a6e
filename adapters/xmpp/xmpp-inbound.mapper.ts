import { createHash } from 'node:crypto';
import {
  type RemoteAttachment,
  type RemoteEvent,
  RemoteMessageId,
  RemoteRoomId,
  type RemoteSender,
  RemoteUserId,
} from '@switchboard/sdk';
import type xml from '@xmpp/xml';
import { NS } from './xmpp.namespaces';
import { CAPTION_SUFFIX } from './xmpp-upload';

type Element = xml.Element;

/** `Local@Domain/Resource` → `local@domain` (local part and domain compared case-insensitively). */
export function bareJid(jid: string): string {
  const slash = jid.indexOf('/');
  return (slash === -1 ? jid : jid.slice(0, slash)).toLowerCase();
}

export function resourceOf(jid: string): string | undefined {
  const slash = jid.indexOf('/');
  return slash === -1 ? undefined : jid.slice(slash + 1);
}

/**
 * A stable id for a message: its XEP-0359 origin-id (the same on every copy, sender's or recipient's, live
 * or archived), else the stanza's `id`, else a hash of sender, time and body so that a replay derives it again.
 */
export function messageIdOf(stanza: Element, fallbackAt: string): RemoteMessageId {
  const origin = stanza.getChild('origin-id', NS.sid)?.attrs.id;
  if (origin) return RemoteMessageId(origin);
  const id = stanza.attrs.id;
  if (id) return RemoteMessageId(id);
  const h = createHash('sha256')
    .update(`${stanza.attrs.from ?? ''}\u0000${fallbackAt}\u0000${stanza.getChildText('body') ?? ''}`)
    .digest('hex')
    .slice(0, 32);
  return RemoteMessageId(`h:${h}`);
}

/** The server-assigned XEP-0359 stanza-id of `by` (a room, or our own archive), if any. */
export function stanzaIdBy(stanza: Element, by: string): string | undefined {
  for (const s of stanza.getChildren('stanza-id', NS.sid))
    if (s.attrs.by !== undefined && bareJid(s.attrs.by) === by && s.attrs.id) return s.attrs.id;
  return undefined;
}

/** The XEP-0203 delay stamp, if the message was delayed (offline storage, MUC history, MAM). */
export function delayStamp(stanza: Element): string | undefined {
  const stamp = stanza.getChild('delay', NS.delay)?.attrs.stamp;
  if (!stamp) return undefined;
  const t = Date.parse(stamp);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

/**
 * XEP-0066 out-of-band files (the XEP-0363 upload links clients send): an http(s) URL on the sender's
 * upload server, never fetched by the gateway, only passed on as a link. Clients also put the URL in the
 * body (for clients without OOB); the text is kept as it came.
 */
export function oobAttachments(stanza: Element): RemoteAttachment[] {
  const out: RemoteAttachment[] = [];
  for (const x of stanza.getChildren('x', NS.oob)) {
    const url = x.getChildText('url')?.trim();
    if (!url || !/^https?:\/\/\S+$/i.test(url) || out.some((a) => a.url === url)) continue;
    let name = 'file';
    try {
      name = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '') || 'file';
    } catch {
      continue; // not a URL after all
    }
    out.push({ name, mimeType: 'application/octet-stream', url });
  }
  return out;
}

/**
 * The body without the XEP-0461 fallback (the quoted text a client without reply support would show):
 * the `<fallback for='urn:xmpp:reply:0'><body start end/></fallback>` range, in code points.
 */
export function stripReplyFallback(stanza: Element, body: string): string {
  for (const f of stanza.getChildren('fallback', NS.fallback)) {
    if (f.attrs.for !== NS.reply) continue;
    const range = f.getChild('body');
    const start = Number(range?.attrs.start);
    const end = Number(range?.attrs.end);
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end <= start) continue;
    const cps = [...body];
    if (end > cps.length) continue;
    return (cps.slice(0, start).join('') + cps.slice(end).join('')).trim();
  }
  return body;
}

/** What the mapper needs to know about the account. */
export interface MessageContext {
  /** Our own bare JID. */
  self: string;
  /** Our nick in a joined MUC room (bare room JID), or undefined when the room is not joined. */
  nickIn(room: string): string | undefined;
  /** Translates a MUC stanza-id (what group retractions and replies reference) to our message id. */
  roomMessageId(room: string, stanzaId: string): RemoteMessageId | undefined;
  now(): string;
}

export interface MappedMessage {
  events: RemoteEvent[];
  /** Set when the sender asked for a XEP-0184 receipt: the id to acknowledge, and to whom. */
  receiptRequest?: { to: string; id: string };
  /** For group messages: the room's stanza-id, so that later references to it can be translated. */
  roomStanzaId?: { room: string; stanzaId: string; messageId: RemoteMessageId };
  /** Our own archive's (XEP-0313) id of a direct message: the MAM catch-up resumes after it. */
  archiveId?: string;
}

/**
 * A XEP-0313 result from our own archive (`<result queryid id><forwarded><delay/><message/></forwarded>`),
 * or undefined when the message is not one or comes from anyone but our own account.
 */
export function unwrapArchiveResult(
  outer: Element,
  self: string,
): { queryId: string; archiveId: string; message: Element; at?: string } | undefined {
  const result = outer.getChild('result', NS.mam);
  if (!result) return undefined;
  if (outer.attrs.from !== undefined && bareJid(outer.attrs.from) !== self) return undefined;
  const forwarded = result.getChild('forwarded', NS.forward);
  const message = forwarded?.getChild('message');
  const { queryid, id } = result.attrs;
  if (!forwarded || !message || !queryid || !id) return undefined;
  const at = delayStamp(forwarded);
  return { queryId: queryid, archiveId: id, message, ...(at ? { at } : {}) };
}

const CHAT_STATE_TYPING: Record<string, boolean> = {
  composing: true,
  paused: false,
  active: false,
  inactive: false,
  gone: false,
};

/**
 * Maps one `<message/>` into RemoteEvents. Carbons are unwrapped only when they come from our own bare JID
 * (anyone else sending a "carbon" is forging). Unknown payloads are ignored, never an error.
 */
export function mapMessage(
  outer: Element,
  ctx: MessageContext,
  backfill = false,
  /** The archive's timestamp, for a message unwrapped from a MAM result. */
  archivedAt?: string,
): MappedMessage {
  const outerFrom = outer.attrs.from ? bareJid(outer.attrs.from) : ctx.self;
  let stanza = outer;
  let carbon: 'sent' | 'received' | undefined;
  for (const kind of ['sent', 'received'] as const) {
    const wrapper = outer.getChild(kind, NS.carbons);
    if (!wrapper) continue;
    if (outerFrom !== ctx.self) return { events: [] };
    const inner = wrapper.getChild('forwarded', NS.forward)?.getChild('message');
    if (!inner) return { events: [] };
    stanza = inner;
    carbon = kind;
  }
  const type = stanza.attrs.type ?? 'normal';
  if (type === 'error') return { events: [] };
  const from = stanza.attrs.from ?? ctx.self;
  const to = stanza.attrs.to ?? ctx.self;
  const at = archivedAt ?? delayStamp(stanza) ?? delayStamp(outer) ?? ctx.now();

  if (type === 'groupchat') return mapGroupMessage(stanza, from, at, ctx, backfill);
  const archiveId = stanzaIdBy(outer, ctx.self) ?? stanzaIdBy(stanza, ctx.self);

  // A direct conversation is named by the other party's bare JID.
  const sentByUs = carbon === 'sent' || bareJid(from) === ctx.self;
  const peer = bareJid(sentByUs ? to : from);
  const roomId = RemoteRoomId(peer);
  const sender: RemoteSender = sentByUs
    ? { userId: RemoteUserId(ctx.self), self: true }
    : { userId: RemoteUserId(peer) };
  const mapped = mapCommon(
    stanza,
    { roomId, sender, at, roomKind: 'direct', backfill, replyToPeer: peer },
    ctx,
  );
  if (archiveId) mapped.archiveId = archiveId;
  return mapped;
}

function mapGroupMessage(
  stanza: Element,
  from: string,
  at: string,
  ctx: MessageContext,
  backfill: boolean,
): MappedMessage {
  const room = bareJid(from);
  const nick = resourceOf(from);
  const roomId = RemoteRoomId(room);
  const subject = stanza.getChild('subject');
  if (subject && !stanza.getChild('body'))
    return { events: [{ type: 'room.upsert', at, roomId, kind: 'group', topic: subject.text() }] };
  if (nick === undefined) return { events: [] }; // a message from the room itself (status notices)
  const ours = ctx.nickIn(room);
  const sender: RemoteSender = {
    userId: RemoteUserId(`${room}/${nick}`),
    displayName: nick,
    ...(ours !== undefined && ours === nick ? { self: true } : {}),
  };
  const history = backfill || stanza.getChild('delay', NS.delay) !== undefined;
  const mapped = mapCommon(
    stanza,
    { roomId, sender, at, roomKind: 'group', backfill: history, replyToPeer: room },
    ctx,
  );
  const sid = stanzaIdBy(stanza, room);
  const msg = mapped.events.find((e) => e.type === 'message');
  if (sid && msg?.type === 'message') mapped.roomStanzaId = { room, stanzaId: sid, messageId: msg.messageId };
  return mapped;
}

interface Where {
  roomId: RemoteRoomId;
  sender: RemoteSender;
  at: string;
  roomKind: 'direct' | 'group';
  backfill: boolean;
  replyToPeer: string;
}

function mapCommon(stanza: Element, w: Where, ctx: MessageContext): MappedMessage {
  const { roomId, sender, at } = w;
  const room = roomId as string;
  const events: RemoteEvent[] = [];
  // In a room, retractions and replies reference the room's stanza-id; translate when we know it.
  const ref = (id: string): RemoteMessageId =>
    w.roomKind === 'group' ? (ctx.roomMessageId(room, id) ?? RemoteMessageId(id)) : RemoteMessageId(id);

  const receipt = stanza.getChild('received', NS.receipts)?.attrs.id;
  if (receipt && !sender.self)
    events.push({
      type: 'receipt',
      at,
      roomId,
      userId: sender.userId,
      messageId: RemoteMessageId(receipt),
      kind: 'delivered',
    });
  const displayed = stanza.getChild('displayed', NS.markers)?.attrs.id;
  if (displayed && !sender.self)
    events.push({
      type: 'receipt',
      at,
      roomId,
      userId: sender.userId,
      messageId: ref(displayed),
      kind: 'read',
    });

  const retract =
    stanza.getChild('retract', NS.retract1)?.attrs.id ??
    (stanza.getChild('apply-to', NS.fasten)?.getChild('retract', NS.retract0)
      ? stanza.getChild('apply-to', NS.fasten)?.attrs.id
      : undefined);
  if (retract) {
    events.push({ type: 'message.redact', at, roomId, messageId: ref(retract), sender });
    return { events };
  }

  const body = stanza.getChildText('body');
  if (body === null) {
    const state = stanza.getChildElements().find((c) => c.attrs.xmlns === NS.chatStates);
    const typing = state ? CHAT_STATE_TYPING[state.name] : undefined;
    if (typing !== undefined && !sender.self && !w.backfill)
      events.push({ type: 'typing', at, roomId, userId: sender.userId, typing });
    return { events };
  }

  const messageId = messageIdOf(stanza, at);
  const replace = stanza.getChild('replace', NS.correct)?.attrs.id;
  if (replace) {
    events.push({
      type: 'message.edit',
      at,
      roomId,
      messageId: RemoteMessageId(replace),
      editId: messageId,
      sender,
      text: body,
    });
    return { events };
  }

  const reply = stanza.getChild('reply', NS.reply);
  const text = reply ? stripReplyFallback(stanza, body) : body;
  const origin = stanza.getChild('origin-id', NS.sid)?.attrs.id;
  const attachments = oobAttachments(stanza);
  events.push({
    type: 'message',
    at,
    roomId,
    messageId,
    sender,
    kind: text.startsWith('/me ') ? 'emote' : 'text',
    text: text.startsWith('/me ') ? text.slice(4) : text,
    ...(reply?.attrs.id ? { replyTo: ref(reply.attrs.id) } : {}),
    ...(attachments.length ? { attachments } : {}),
    // A file's caption (sent with the file's id and a suffix) belongs to the same send as the file.
    ...(sender.self && origin
      ? { transactionId: origin.endsWith(CAPTION_SUFFIX) ? origin.slice(0, -CAPTION_SUFFIX.length) : origin }
      : {}),
    ...(w.backfill ? { backfill: true } : {}),
    roomKind: w.roomKind,
  });
  const result: MappedMessage = { events };
  if (
    stanza.getChild('request', NS.receipts) &&
    !sender.self &&
    w.roomKind === 'direct' &&
    stanza.attrs.id &&
    stanza.attrs.from
  )
    result.receiptRequest = { to: stanza.attrs.from, id: stanza.attrs.id };
  return result;
}

/** A roster `<item/>` as a contact event (`subscription='remove'` removes it). */
export function mapRosterItem(item: Element, at: string): RemoteEvent | undefined {
  const jid = item.attrs.jid;
  if (!jid) return undefined;
  const userId = RemoteUserId(bareJid(jid));
  if (item.attrs.subscription === 'remove') return { type: 'contact.remove', at, userId };
  const name = item.attrs.name?.trim();
  return {
    type: 'contact.upsert',
    at,
    userId,
    ...(name ? { displayName: name } : {}),
    hints: { handles: [bareJid(jid)] },
  };
}

/** What the client knows of a MUC when an occupant's presence arrives. */
export interface MucPresenceContext {
  room: string;
  /** Our own self-presence (status 110) has arrived: what comes after is live, not the join's listing. */
  joined: boolean;
  /** The occupant is already listed (an available presence is then a status change, not a join). */
  known: boolean;
  /** The occupant's old nick when this nick is the end of a nick change (status 303 seen for it). */
  renamedFrom?: string;
  /** Known to be our own occupant by other means (the nick we asked for, before the room confirmed). */
  self?: boolean;
}

/**
 * An occupant's presence as a `room.member` event (or none, for a mere status change of a listed
 * occupant). The presences a room sends before our own (status 110) list who is already there, on every
 * (re)join: they are `live: false`. A nick change (XEP-0045 §7.6) is the unavailable presence of the old
 * nick with status 303 and `<item nick>`, then the new nick's presence: both halves carry `rename`.
 */
export function mucMemberEvent(
  stanza: Element,
  nick: string,
  ctx: MucPresenceContext,
  at: string,
): Extract<RemoteEvent, { type: 'room.member' }> | undefined {
  const x = stanza.getChild('x', NS.mucUser);
  const codes = (x?.getChildren('status') ?? []).map((s) => s.attrs.code);
  const self = ctx.self === true || codes.includes('110');
  const item = x?.getChild('item');
  const base = {
    type: 'room.member' as const,
    at,
    roomId: RemoteRoomId(ctx.room),
    userId: RemoteUserId(`${ctx.room}/${nick}`),
    displayName: nick,
    live: ctx.joined && !self,
    ...(self ? { self: true } : {}),
  };
  if (stanza.attrs.type === 'unavailable') {
    const membership = codes.includes('301') ? 'ban' : codes.includes('307') ? 'kick' : 'leave';
    const newNick = item?.attrs.nick;
    if (codes.includes('303') && newNick)
      return { ...base, membership: 'leave', rename: { from: nick, to: newNick } };
    // A kick's or ban's reason is the moderator's (<item><reason>); a leave's is the occupant's <status>.
    const reason = (
      membership === 'leave' ? stanza.getChildText('status') : item?.getChildText('reason')
    )?.trim();
    return { ...base, membership, ...(reason ? { reason } : {}) };
  }
  if (ctx.known) return undefined;
  return {
    ...base,
    membership: 'join',
    ...(ctx.renamedFrom !== undefined ? { rename: { from: ctx.renamedFrom, to: nick } } : {}),
  };
}
