import { randomUUID } from 'node:crypto';
import {
  type AttachmentsCapable,
  type CallId,
  type CallOffer,
  type IceServerInfo,
  type VoiceCapable,
  type ClientContext,
  type ConnectionStatus,
  type EditCapable,
  type FormattedBody,
  type HistoryCapable,
  type NetworkClient,
  type OutboundMessage,
  type Presence,
  type PresenceCapable,
  type ReceiptsCapable,
  type RedactCapable,
  type RemoteEvent,
  RemoteMessageId,
  RemoteRoomId,
  RemoteUserId,
  type ReplyCapable,
  type RosterCapable,
  type RosterContact,
  type RoomsCapable,
  type RoomSummary,
  SendError,
  type SendResult,
  type TransactionId,
  type TypingCapable,
  type PipelinedSendCapable,
} from '@switchboard/sdk';
import xml from '@xmpp/xml';
import { createXmppConnection, type XmppConnection } from './xmpp-connection.factory';
import { failPendingRequests } from './iq-requests';
import {
  bareJid,
  mapMessage,
  type MappedMessage,
  mapRosterItem,
  mucMemberEvent,
  resourceOf,
  unwrapArchiveResult,
} from './xmpp-inbound.mapper';
import {
  buildChatState,
  buildCorrection,
  buildDisplayed,
  buildPresence,
  buildReceipt,
  buildRetraction,
  buildTextMessage,
  type ChatType,
} from './xmpp-outbound.builder';
import { aggregatePresence, parseShow, type ResourcePresence } from './xmpp-presence.aggregate';
import { StanzaLimitError } from './bounded-xml.parser';
import { callCapabilities, capsOf, capsVer, featuresOf } from './xmpp-caps.util';
import { classifyFailure } from './xmpp-errors.mapper';
import { NS } from './xmpp.namespaces';
import { resolveEndpoint, type XmppOptions } from './xmpp.options';
import { parseTrust, transportSocket } from './xmpp-tls.socket';
import { JINGLE_FEATURES, JingleCalls } from './xmpp-jingle.session';
import { iceServersFromExtdisco, NS_EXTDISCO } from './xmpp-extdisco';
import {
  CAPTION_SUFFIX,
  parseSlot,
  putFile,
  slotRequest,
  uploadServiceOf,
  type UploadService,
} from './xmpp-upload';

type Element = xml.Element;

const LOGIN_TIMEOUT_MS = 30_000;
const JOIN_TIMEOUT_MS = 20_000;
/** Room stanza-ids remembered per room, to translate group retractions/replies/markers. */
const ROOM_ID_MEMORY = 2000;
/** Message keys emitted in this session, to drop the copy offline delivery sends after the MAM catch-up. */
const SEEN_MEMORY = 5000;
const CAPS_MEMORY = 500;
const MAM_MARKER = 'mam.last';
const MAM_SKIP = 'mam.skipOnce';
/** The rooms this account is in (`room@conference/nick`), rejoined on every login like IRC channels. */
const ROOMS_KEY = 'muc.rooms';
const MAM_PAGE = 100;
const MAM_MAX_PAGES = 50;
/** Roster and presence events handed to the gateway and not yet accepted, at most (see emitInOrder). */
const EMIT_WINDOW = 2000;

/** Where the archive catch-up resumes: after an archive id, or (no id known yet) from a time. */
interface MamMarker {
  id?: string;
  at?: string;
}

interface MamFin {
  complete: boolean;
  last?: string;
  count: number;
}

interface JoinedRoom {
  nick: string;
  occupants: Set<string>;
  /** New nick → old nick, between a nick change's two presences (status 303, then the new nick's). */
  renames: Map<string, string>;
  announced: boolean;
  joined: boolean;
  waiters: { resolve(): void; reject(e: Error): void }[];
  /** stanza-id (the room's) ↔ our message id (origin-id), both ways, bounded. */
  byStanzaId: Map<string, RemoteMessageId>;
  byMessageId: Map<string, string>;
}

const now = (): string => new Date().toISOString();
const errText = (e: unknown): string => (e instanceof Error ? e.message || e.name : String(e));

export class XmppClient
  implements
    NetworkClient,
    PresenceCapable,
    RosterCapable,
    RoomsCapable,
    TypingCapable,
    ReceiptsCapable,
    EditCapable,
    RedactCapable,
    ReplyCapable,
    HistoryCapable,
    VoiceCapable,
    PipelinedSendCapable,
    AttachmentsCapable
{
  readonly nativeReplies = true as const;
  private current: ConnectionStatus = { state: 'connecting' };
  private conn?: XmppConnection;
  private online = false;
  /** The ping that will confirm the writes made in this turn of the event loop (see confirmWritten). */
  private nextConfirm: Promise<boolean> | undefined;
  /** See roomsToRejoin. */
  private rejoinList: Promise<Set<string>> | undefined;
  /** disconnect() was called or the gateway disposed of us: emit nothing more. */
  private closing = false;
  /** This connection's outcome was reported (a drop): later errors of the same connection are noise. */
  private ended = false;
  private queue: Promise<void> = Promise.resolve();
  private unaccepted = 0;
  private readonly acceptWaiters: (() => void)[] = [];
  private readonly self: string;
  private readonly resource: string;
  private readonly presences = new Map<string, Map<string, ResourcePresence>>();
  /** Bare JIDs in our roster: someone we added who asks for our presence is approved without asking the user. */
  private readonly rosterJids = new Set<string>();
  /** Calls: Jingle sessions started with Jingle Message Initiation (xmpp-jingle.session.ts). */
  private readonly jingle = new JingleCalls({
    self: () => this.conn?.entity.jid?.toString(),
    sendIq: async (to, child) => {
      const conn = this.conn;
      if (!conn) throw new Error('offline');
      await conn.iqCaller.set(child, to, 15_000);
    },
    sendMessage: (to, child) =>
      this.write(
        this.requireOnline(),
        xml(
          'message',
          { to, type: 'chat', id: `sb-jmi-${++this.seq}` },
          child,
          xml('store', { xmlns: 'urn:xmpp:hints' }),
        ),
      ),
    emit: (event) => void this.emit(event),
  });
  private seq = 0;
  private readonly rooms = new Map<string, JoinedRoom>();
  private myPresence: Presence = { state: 'available' };
  private readonly seenMessages = new Set<string>();
  private keepalive?: NodeJS.Timeout;
  /** Disco features per contact resource, the caps cache by verified `ver`, and what was last reported. */
  private readonly features = new Map<string, Map<string, ReadonlySet<string>>>();
  private readonly capsCache = new Map<string, ReadonlySet<string>>();
  private readonly publishedCaps = new Map<string, string>();
  private readonly mamQueries = new Map<string, { count: number; own: boolean }>();

  constructor(
    private readonly options: XmppOptions,
    private readonly ctx: ClientContext,
  ) {
    this.self = options.jid.toLowerCase();
    this.resource = options.resource ?? `switchboard-${randomUUID().slice(0, 8)}`;
  }

  get status(): ConnectionStatus {
    return this.current;
  }

  async connect(): Promise<void> {
    if (this.ctx.signal.aborted || this.closing) return;
    await this.report({ state: 'connecting' });
    let conn: XmppConnection;
    try {
      conn = createXmppConnection({
        endpoint: resolveEndpoint(this.options),
        username: this.options.jid.slice(0, this.options.jid.indexOf('@')),
        password: this.options.password,
        resource: this.resource,
        trust: parseTrust(this.options.trustedCertificate),
        limits: {
          maxStanzaBytes: this.options.maxStanzaBytes,
          maxDepth: this.options.maxDepth,
          onSkipped: (e) =>
            this.ctx.logger.warn('xmpp: dropped a stanza from the server', { error: e.message }),
        },
        allowPlaintext: this.options.tls === 'none' && this.options.allowPlaintext,
      });
    } catch (e) {
      return this.report({ state: 'error', code: 'bad_options', message: errText(e), retryable: false });
    }
    this.conn = conn;
    const { entity } = conn;
    // Always listened to: an EventEmitter 'error' without a listener would throw.
    entity.on('error', (e: unknown) => this.onConnectionError(e));
    entity.on('stanza', (s: Element) => this.onStanza(s));
    this.installIqHandlers(conn);
    this.ctx.signal.addEventListener('abort', () => this.abort(), { once: true });

    try {
      await this.login(conn);
    } catch (e) {
      this.hardClose();
      if (this.closing || this.ctx.signal.aborted) return;
      this.ended = true;
      return this.report(classifyFailure(e));
    }
    if (this.closing || this.ctx.signal.aborted) return;
    this.online = true;
    this.rejoinList = undefined;
    this.startKeepalive(conn);
    await this.report({ state: 'connected' });
    try {
      await this.afterLogin(conn);
    } catch (e) {
      this.ctx.logger.warn('xmpp: setting up the session failed', { error: errText(e) });
    }
  }

  private login({ entity }: XmppConnection): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const onClose = (reject: (e: Error) => void) => (): void =>
      reject(new Error('the server closed the connection during login'));
    let closeListener: (() => void) | undefined;
    return new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error('the server did not complete the login in time')),
        LOGIN_TIMEOUT_MS,
      );
      closeListener = onClose(reject);
      entity.once('disconnect', closeListener);
      entity.start().then(
        () => resolve(),
        (e: unknown) => reject(e instanceof Error ? e : new Error(String(e))),
      );
    }).finally(() => {
      clearTimeout(timer);
      if (closeListener) entity.removeListener('disconnect', closeListener);
      entity.on('disconnect', () => {
        if (this.online)
          this.drop({
            state: 'transient_disconnect',
            code: 'connection_lost',
            message: 'the server closed the connection',
          });
      });
    });
  }

  private async afterLogin(conn: XmppConnection): Promise<void> {
    // XEP-0280: copies of what our other clients send and receive.
    await conn.iqCaller.set(xml('enable', { xmlns: NS.carbons })).catch((e: unknown) => {
      this.ctx.logger.info('xmpp: carbons not enabled', { error: errText(e) });
    });
    const items = await this.fetchRoster();
    const at = now();
    this.rosterJids.clear();
    for (const item of items) this.noteRosterItem(item);
    this.enqueue(async () => {
      for (const item of items) {
        const ev = mapRosterItem(item, at);
        if (ev) await this.emitInOrder(ev);
      }
    });
    await this.mamCatchUp().catch((e: unknown) =>
      this.ctx.logger.warn('xmpp: archive catch-up failed', { error: errText(e) }),
    );
    await conn.entity.send(this.withCaps(buildPresence(this.myPresence)));
    // Once we queried the archive, prosody (and XEP-0313 servers generally) no longer flush offline
    // storage to us: what arrived between the catch-up's last page and our presence is only in the
    // archive. A second pass fetches it; anything also delivered live is recognised as seen.
    await this.mamCatchUp().catch((e: unknown) =>
      this.ctx.logger.warn('xmpp: archive catch-up failed', { error: errText(e) }),
    );
    const saved = (await this.ctx.state.get<string[]>(ROOMS_KEY).catch(() => undefined)) ?? [];
    const configured = new Set(this.options.rooms.map((r) => bareJid(r)));
    for (const room of [...this.options.rooms, ...saved.filter((r) => !configured.has(bareJid(r)))])
      await this.joinRoom(room).catch((e: unknown) =>
        this.ctx.logger.warn('xmpp: could not join a room', { room, error: errText(e) }),
      );
  }

  /** What we are (XEP-0030), also the source of the caps hash our presence carries (XEP-0115). */
  private discoInfo(): Element {
    return xml(
      'query',
      { xmlns: NS.discoInfo },
      xml('identity', { category: 'client', type: 'pc', name: 'Switchboard' }),
      ...[
        NS.discoInfo,
        NS.ping,
        NS.receipts,
        NS.chatStates,
        NS.markers,
        NS.correct,
        NS.retract1,
        NS.reply,
        NS.muc,
        ...JINGLE_FEATURES,
      ].map((v) => xml('feature', { var: v })),
    );
  }

  /** Our presence with entity capabilities, so contacts can see we take Jingle calls. */
  private withCaps(presence: Element): Element {
    const ver = capsVer(this.discoInfo());
    if (ver)
      presence.append(
        xml('c', { xmlns: NS.caps, hash: 'sha-1', node: 'https://switchboard.invalid/caps', ver }),
      );
    return presence;
  }

  private installIqHandlers({ iqCallee }: XmppConnection): void {
    // RFC 6121 roster push: only from our own account (no `from`, or our bare JID).
    iqCallee.set(NS.roster, 'query', (c) => {
      const from = c.stanza.attrs.from;
      if (from !== undefined && bareJid(from) !== this.self)
        return xml('error', { type: 'cancel' }, xml('service-unavailable', { xmlns: NS.stanzas }));
      const items = c.element?.getChildren('item') ?? [];
      const at = now();
      for (const item of items) this.noteRosterItem(item);
      this.enqueue(async () => {
        for (const item of items) {
          const ev = mapRosterItem(item, at);
          if (ev) await this.emitInOrder(ev);
        }
      });
      return true;
    });
    iqCallee.get(NS.ping, 'ping', () => true);
    iqCallee.set(JINGLE_FEATURES[0], 'jingle', (c) => {
      const r = this.jingle.handleJingle(c.stanza.attrs.from ?? '', c.element!);
      return r === true ? true : xml('error', { type: 'cancel' }, xml(r, { xmlns: NS.stanzas }));
    });
    iqCallee.get(NS.discoInfo, 'query', () => this.discoInfo());
  }

  async disconnect(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.online = false;
    const entity = this.conn?.entity;
    if (entity && entity.status === 'online') {
      try {
        await entity.send(xml('presence', { type: 'unavailable' }));
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          entity.stop(),
          new Promise((r) => {
            timer = setTimeout(r, 3000);
          }),
        ]).finally(() => clearTimeout(timer));
      } catch {
        // the connection is going away either way
      }
    }
    this.hardClose();
    this.current = { state: 'logged_out', retryable: false };
  }

  // ---- inbound ----

  private onConnectionError(e: unknown): void {
    // Errors during login reject start() and are classified there.
    if (!this.online) return;
    this.ctx.logger.warn('xmpp: connection error', { error: errText(e) });
    if (e instanceof StanzaLimitError && e.code === 'stanza_too_large')
      // If it came from the archive, the next catch-up would fetch it again and drop again, forever.
      void this.ctx.state.set(MAM_SKIP, true).catch(() => undefined);
    this.drop(classifyFailure(e));
  }

  private onStanza(stanza: Element): void {
    if (!this.online) return;
    this.enqueue(() => this.handleStanza(stanza));
  }

  /** Events are emitted in arrival order, each after the previous one was accepted. */
  private enqueue(task: () => Promise<void>): void {
    this.queue = this.queue.then(task).catch((e: unknown) => {
      this.ctx.logger.warn('xmpp: could not handle a stanza', { error: errText(e) });
    });
  }

  private async handleStanza(stanza: Element): Promise<void> {
    if (stanza.name === 'message') return this.handleMessage(stanza);
    if (stanza.name === 'presence') return this.handlePresence(stanza);
  }

  private messageContext() {
    return {
      self: this.self,
      nickIn: (room: string) => this.rooms.get(room)?.nick,
      roomMessageId: (room: string, sid: string) => this.rooms.get(room)?.byStanzaId.get(sid),
      now,
    };
  }

  private async handleMessage(stanza: Element): Promise<void> {
    if (this.jingle.handleMessage(stanza)) return;
    if (stanza.getChild('result', NS.mam)) {
      const archived = unwrapArchiveResult(stanza, this.self);
      // Only results of a query we made, from our own archive (anyone else's would be forged history).
      const query = archived && this.mamQueries.get(archived.queryId);
      if (!archived || !query) return;
      query.count += 1;
      const mapped = mapMessage(archived.message, this.messageContext(), true, archived.at);
      // A room archive's ids are the room's; only our own archive's ids advance the catch-up marker.
      await this.deliver(mapped, query.own ? archived.archiveId : undefined, false);
      return;
    }
    const mapped = mapMessage(stanza, this.messageContext());
    await this.deliver(mapped, mapped.archiveId, true);
  }

  private async deliver(mapped: MappedMessage, archiveId: string | undefined, live: boolean): Promise<void> {
    if (mapped.roomStanzaId) {
      const r = this.rooms.get(mapped.roomStanzaId.room);
      if (r) {
        r.byStanzaId.set(mapped.roomStanzaId.stanzaId, mapped.roomStanzaId.messageId);
        r.byMessageId.set(mapped.roomStanzaId.messageId, mapped.roomStanzaId.stanzaId);
        if (r.byStanzaId.size > ROOM_ID_MEMORY) {
          const [oldest] = r.byStanzaId;
          if (oldest) {
            r.byStanzaId.delete(oldest[0]);
            r.byMessageId.delete(oldest[1]);
          }
        }
      }
    }
    for (const ev of mapped.events) {
      if (ev.type === 'message') {
        // The same message can come from the archive catch-up and from offline delivery: emit it once.
        const key = `${ev.roomId}\u0000${ev.messageId}`;
        if (this.seenMessages.has(key)) continue;
        this.seenMessages.add(key);
        if (this.seenMessages.size > SEEN_MEMORY) {
          const [oldest] = this.seenMessages;
          if (oldest !== undefined) this.seenMessages.delete(oldest);
        }
      }
      await this.emit(ev);
    }
    // Acknowledge only what the gateway accepted.
    if (archiveId !== undefined && !this.closing)
      await this.ctx.state.set(MAM_MARKER, { id: archiveId } satisfies MamMarker);
    if (live && mapped.receiptRequest) await this.sendQuietly(buildReceipt(mapped.receiptRequest));
  }

  // ---- history (XEP-0313) ----

  /**
   * Fetches what our archive holds after the last message the gateway accepted (the marker), page by
   * page, before the initial presence releases offline messages (which are then recognised as seen).
   * The first connection of an account only sets the marker: history before it is not ours to replay.
   */
  private async mamCatchUp(): Promise<void> {
    const marker = await this.ctx.state.get<MamMarker>(MAM_MARKER);
    if ((await this.ctx.state.get<boolean>(MAM_SKIP)) === true) {
      this.ctx.logger.warn(
        'xmpp: skipping the archive catch-up after an oversized stanza; history may have a gap',
      );
      await this.ctx.state.delete(MAM_SKIP);
      // Archives keep whole-second times: start after the current second, or the oversized stanza
      // (archived in this second or before) would be fetched again.
      await this.ctx.state.set(MAM_MARKER, {
        at: new Date(Math.floor(Date.now() / 1000 + 1) * 1000).toISOString(),
      } satisfies MamMarker);
      return;
    }
    // By time, not by fetching the newest item: that item could be the oversized stanza itself.
    if (marker === undefined || (marker.id === undefined && marker.at === undefined)) {
      await this.ctx.state.set(MAM_MARKER, { at: now() } satisfies MamMarker);
      return;
    }
    let after = marker.id;
    for (let page = 0; page < MAM_MAX_PAGES; page++) {
      let fin: MamFin | undefined;
      try {
        fin = await this.mamQuery({
          max: MAM_PAGE,
          ...(after ? { after } : marker.at ? { start: marker.at } : {}),
        });
      } catch (e) {
        if ((e as { condition?: unknown }).condition === 'item-not-found') {
          this.ctx.logger.warn(
            'xmpp: the archive no longer holds the catch-up marker; history may have a gap',
          );
          await this.ctx.state.set(MAM_MARKER, { at: now() } satisfies MamMarker);
          return;
        }
        throw e;
      }
      if (!fin || fin.complete || !fin.last) return;
      after = fin.last;
    }
  }

  private async mamQuery(q: {
    max: number;
    after?: string;
    before?: boolean;
    with?: string;
    start?: string;
    to?: string;
  }): Promise<MamFin | undefined> {
    const conn = this.conn;
    if (!conn) return undefined;
    const queryId = randomUUID();
    const own = q.to === undefined;
    this.mamQueries.set(queryId, { count: 0, own });
    const field = (v: string, value: string) => xml('field', { var: v }, xml('value', {}, value));
    try {
      const fin = await conn.iqCaller.set(
        xml(
          'query',
          { xmlns: NS.mam, queryid: queryId },
          xml(
            'x',
            { xmlns: NS.dataForms, type: 'submit' },
            xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, NS.mam)),
            q.with ? field('with', q.with) : undefined,
            q.start ? field('start', q.start) : undefined,
          ),
          xml(
            'set',
            { xmlns: NS.rsm },
            xml('max', {}, String(q.max)),
            q.after ? xml('after', {}, q.after) : undefined,
            q.before ? xml('before') : undefined,
          ),
        ),
        q.to,
        30_000,
      );
      // Results arrive before the answer; wait until the queue has emitted them.
      await new Promise<void>((resolve) => this.enqueue(async () => resolve()));
      const f = fin?.is('fin', NS.mam) ? fin : undefined;
      return {
        complete: f?.attrs.complete === 'true',
        last: f?.getChild('set', NS.rsm)?.getChildText('last') ?? undefined,
        count: this.mamQueries.get(queryId)?.count ?? 0,
      };
    } finally {
      this.mamQueries.delete(queryId);
    }
  }

  async backfill(
    roomId: RemoteRoomId,
    after: { messageId?: RemoteMessageId; at?: string },
    limit: number,
  ): Promise<number> {
    this.requireOnline();
    const peer = bareJid(roomId);
    const room = this.rooms.get(peer);
    const max = Math.max(1, Math.min(limit, MAM_PAGE));
    try {
      // A room's history is in the room's archive; a direct chat's in ours, filtered by the peer.
      const fin = await this.mamQuery({
        max,
        ...(room ? { to: peer } : { with: peer }),
        ...(after.at ? { start: after.at } : { before: true }),
      });
      return fin?.count ?? 0;
    } catch (e) {
      const cond = (e as { condition?: unknown }).condition;
      throw typeof cond === 'string'
        ? new SendError(`the archive refused: ${cond}`, false, cond)
        : new SendError(`no answer from the archive: ${errText(e)}`, true, 'timeout');
    }
  }

  private async handlePresence(stanza: Element): Promise<void> {
    const from = stanza.attrs.from;
    if (!from) return;
    const type = stanza.attrs.type;
    const bare = bareJid(from);
    const resource = resourceOf(from);
    const mucUser = stanza.getChild('x', NS.mucUser);
    if (this.rooms.has(bare)) return this.handleRoomPresence(stanza, bare, resource, mucUser);
    if (mucUser) return;
    switch (type) {
      case 'subscribe': {
        // Someone the user added asks back: approving is what adding them meant (every IM client does it).
        if (this.rosterJids.has(bare)) {
          await this.write(this.requireOnline(), xml('presence', { to: bare, type: 'subscribed' }));
          return;
        }
        const message = stanza.getChildText('status') ?? undefined;
        await this.emit({
          type: 'contact.request',
          at: now(),
          userId: RemoteUserId(bare),
          ...(message ? { message } : {}),
        });
        return;
      }
      case 'subscribed':
      case 'unsubscribe':
      case 'unsubscribed':
      case 'probe':
      case 'error':
        return;
      default:
        break;
    }
    if (bare === this.self) return; // our own resources
    const res = resource ?? '';
    const map = this.presences.get(bare) ?? new Map<string, ResourcePresence>();
    this.presences.set(bare, map);
    if (type === 'unavailable') map.delete(res);
    else {
      const status = stanza.getChildText('status');
      const priority = Number.parseInt(stanza.getChildText('priority') ?? '0', 10);
      map.set(res, {
        show: parseShow(stanza.getChildText('show')),
        ...(status ? { status } : {}),
        priority: Number.isFinite(priority) ? priority : 0,
        seq: ++this.seq,
      });
    }
    const agg = aggregatePresence(map);
    await this.emitInOrder({
      type: 'presence',
      at: now(),
      userId: RemoteUserId(bare),
      presence: agg.presence,
      ...(agg.resource !== undefined ? { resource: agg.resource } : {}),
    });
    await this.updateCaps(bare, res, from, type === 'unavailable' ? undefined : capsOf(stanza));
  }

  /**
   * Records what a contact's resource can do (XEP-0115 caps, resolved with XEP-0030 disco#info and cached
   * by verified `ver`), and reports the contact's call capabilities when they change. The disco query runs
   * beside the stanza queue: a slow or silent contact must not hold up everyone's messages.
   */
  private async updateCaps(
    bare: string,
    resource: string,
    fullJid: string,
    caps: ReturnType<typeof capsOf>,
  ): Promise<void> {
    const perResource = this.features.get(bare) ?? new Map<string, ReadonlySet<string>>();
    this.features.set(bare, perResource);
    const cached = caps ? this.capsCache.get(caps.ver) : undefined;
    if (!caps || cached) {
      if (cached) perResource.set(resource, cached);
      else perResource.delete(resource);
      return this.publishCaps(bare);
    }
    const conn = this.conn;
    if (!conn) return;
    conn.iqCaller
      .get(xml('query', { xmlns: NS.discoInfo, node: `${caps.node}#${caps.ver}` }), fullJid, 15_000)
      .then((info) => {
        if (!info) return;
        const features = featuresOf(info);
        if (caps.hash === 'sha-1' && capsVer(info) === caps.ver) {
          this.capsCache.set(caps.ver, features);
          if (this.capsCache.size > CAPS_MEMORY) {
            const [oldest] = this.capsCache.keys();
            if (oldest !== undefined) this.capsCache.delete(oldest);
          }
        }
        // Still online with that resource? (It may have left while we asked.)
        if (!this.presences.get(bare)?.has(resource)) return;
        perResource.set(resource, features);
        this.enqueue(() => this.publishCaps(bare));
      })
      .catch((e: unknown) =>
        this.ctx.logger.debug('xmpp: disco#info failed', { jid: fullJid, error: errText(e) }),
      );
  }

  private async publishCaps(bare: string): Promise<void> {
    const caps = callCapabilities(this.features.get(bare)?.values() ?? []);
    const key = `${caps.voice}/${caps.video}`;
    if ((this.publishedCaps.get(bare) ?? 'false/false') === key) return;
    this.publishedCaps.set(bare, key);
    await this.emit({ type: 'contact.upsert', at: now(), userId: RemoteUserId(bare), capabilities: caps });
  }

  private async handleRoomPresence(
    stanza: Element,
    room: string,
    nick: string | undefined,
    x: Element | undefined,
  ): Promise<void> {
    const r = this.rooms.get(room);
    if (!r || nick === undefined) return;
    const type = stanza.attrs.type;
    const roomId = RemoteRoomId(room);
    if (type === 'error') {
      if (!r.joined) {
        const cond = stanza.getChild('error')?.getChildElements()[0]?.name ?? 'error';
        this.rooms.delete(room);
        for (const w of r.waiters.splice(0))
          w.reject(new SendError(`could not join ${room}: ${cond}`, false, `muc_${cond}`));
      }
      return;
    }
    const codes = (x?.getChildren('status') ?? []).map((s) => s.attrs.code);
    const isSelf = codes.includes('110') || (!r.joined && nick === r.nick);
    if (!r.announced) {
      r.announced = true;
      await this.emit({ type: 'room.upsert', at: now(), roomId, kind: 'group', title: room });
    }
    if (type === 'unavailable') {
      r.occupants.delete(nick);
      const member = mucMemberEvent(
        stanza,
        nick,
        { room, joined: r.joined, known: true, self: isSelf },
        now(),
      );
      if (member?.rename) r.renames.set(member.rename.to, nick);
      if (member) await this.emit(member);
      const membership = member?.membership ?? 'leave';
      if (isSelf && !codes.includes('303')) {
        this.rooms.delete(room);
        await this.saveRooms();
        await this.emit({
          type: 'room.left',
          at: now(),
          roomId,
          ...(membership !== 'leave' ? { reason: membership } : {}),
        });
      }
      return;
    }
    const member = mucMemberEvent(
      stanza,
      nick,
      {
        room,
        joined: r.joined,
        known: r.occupants.has(nick),
        self: isSelf,
        renamedFrom: r.renames.get(nick),
      },
      now(),
    );
    r.renames.delete(nick);
    if (member) {
      r.occupants.add(nick);
      await this.emit(member);
    }
    if (isSelf && !r.joined) {
      // 201: we created the room; servers keep a new room locked until its owner accepts a configuration.
      if (codes.includes('201')) await this.unlockNewRoom(room);
      r.joined = true;
      r.nick = nick; // the room may have changed it (status 210)
      for (const w of r.waiters.splice(0)) w.resolve();
    }
  }

  /** XEP-0045 §10.1.2: accept the default configuration ("instant room"). */
  private async unlockNewRoom(room: string): Promise<void> {
    const conn = this.conn;
    if (!conn) return;
    try {
      await conn.iqCaller.set(
        xml('query', { xmlns: NS.mucOwner }, xml('x', { xmlns: NS.dataForms, type: 'submit' })),
        room,
        15_000,
      );
    } catch (e) {
      this.ctx.logger.warn('xmpp: could not unlock a new room', { room, error: errText(e) });
    }
  }

  // ---- outbound ----

  async send(message: OutboundMessage): Promise<SendResult> {
    const written = await this.sendPipelined(message);
    return { messageIds: written.messageIds, confirmed: await written.confirmed };
  }

  async sendPipelined(
    message: OutboundMessage,
  ): Promise<{ messageIds: RemoteMessageId[]; confirmed: Promise<boolean> }> {
    const to = bareJid(message.roomId);
    const entity = await this.readyFor(to);
    const type = this.chatType(to);
    const id = message.transactionId as string;
    const text = message.kind === 'emote' ? `/me ${message.text}` : message.text;
    let replyTo: { id: string; to: string } | undefined;
    if (message.replyTo) {
      const r = this.rooms.get(to);
      replyTo = r
        ? { id: r.byMessageId.get(message.replyTo) ?? message.replyTo, to }
        : { id: message.replyTo, to };
    }
    const oob = message.attachments?.map((a) => a.url);
    this.coalesceWrites(entity);
    const writing = this.write(
      entity,
      buildTextMessage({
        to,
        type,
        id,
        text,
        ...(replyTo ? { replyTo } : {}),
        ...(oob?.length ? { oob } : {}),
      }),
    );
    // Not awaited: the next message of a batch is written at once (and coalesced with this one); a write that
    // fails fails the confirmation, which the outbox retries like an unconfirmed send.
    const confirmed = writing.then(() => this.confirmWritten());
    confirmed.catch(() => undefined); // the caller may stop awaiting after an earlier failure
    return { messageIds: [RemoteMessageId(id)], confirmed };
  }

  /** Messages written in this turn of the event loop so far (see coalesceWrites). */
  private turnWrites = 0;

  /**
   * A burst of messages (an outbox batch) goes to the server in one TLS record and one system call instead
   * of one each: the first write of a turn of the event loop goes out at once (a lone message waits for
   * nothing), later ones are corked and flushed together at the end of the turn. Fewer, larger writes cost
   * this process and the server less CPU per message.
   */
  private coalesceWrites(entity: XmppConnection['entity']): void {
    const raw = transportSocket(entity.socket);
    if (!raw) return;
    if (this.turnWrites++ === 0) {
      setImmediate(() => {
        const corked = this.turnWrites > 1;
        this.turnWrites = 0;
        if (corked) raw.uncork();
      });
      return;
    }
    if (this.turnWrites === 2) raw.cork();
  }

  /**
   * The connection, once `to` can take a message: a room we are in but have not rejoined yet (just after
   * login) is waited for, since a message sent now would go to the room as a private chat and be refused.
   */
  private async readyFor(to: string): Promise<XmppConnection['entity']> {
    const entity = this.requireOnline();
    if (this.rooms.get(to)?.joined || !(await this.roomsToRejoin()).has(to)) return entity;
    await this.awaitRejoin(to);
    return this.requireOnline();
  }

  async editMessage(
    roomId: RemoteRoomId,
    messageId: RemoteMessageId,
    text: string,
    _formatted: FormattedBody | undefined,
    transactionId: TransactionId,
  ): Promise<void> {
    const entity = this.requireOnline();
    const to = bareJid(roomId);
    await this.write(
      entity,
      buildCorrection({ to, type: this.chatType(to), id: transactionId, replaces: messageId, text }),
    );
  }

  async redactMessage(roomId: RemoteRoomId, messageId: RemoteMessageId, reason?: string): Promise<void> {
    const entity = this.requireOnline();
    const to = bareJid(roomId);
    const room = this.rooms.get(to);
    const ids = [messageId as string];
    // A file sent with a caption (sendAttachment) is two messages: both go.
    const caption = `${messageId}${CAPTION_SUFFIX}`;
    if (this.captioned.has(messageId) || room?.byMessageId.has(caption)) ids.push(caption);
    for (const id of ids)
      await this.write(
        entity,
        buildRetraction({
          to,
          type: this.chatType(to),
          id: randomUUID(),
          retracts: room?.byMessageId.get(id) ?? id,
          ...(reason ? { reason } : {}),
        }),
      );
  }

  async setTyping(roomId: RemoteRoomId, typing: boolean): Promise<void> {
    const entity = this.requireOnline();
    const to = bareJid(roomId);
    await this.write(entity, buildChatState({ to, type: this.chatType(to), typing }));
  }

  async markRead(roomId: RemoteRoomId, messageId: RemoteMessageId): Promise<void> {
    const entity = this.requireOnline();
    const to = bareJid(roomId);
    const id = this.rooms.get(to)?.byMessageId.get(messageId) ?? messageId;
    await this.write(entity, buildDisplayed({ to, type: this.chatType(to), id }));
  }

  async setPresence(presence: Presence): Promise<void> {
    this.myPresence = presence;
    const entity = this.requireOnline();
    await this.write(entity, this.withCaps(buildPresence(presence)));
    // MUC rooms only see directed presence.
    for (const [room, r] of this.rooms) {
      if (!r.joined || presence.state === 'offline') continue;
      const p = buildPresence(presence);
      p.attrs.to = `${room}/${r.nick}`;
      await this.write(entity, p);
    }
  }

  // ---- roster ----

  async listContacts(): Promise<RosterContact[]> {
    this.requireOnline();
    const items = await this.fetchRoster();
    return items.flatMap((i) =>
      i.attrs.jid
        ? [
            {
              userId: RemoteUserId(bareJid(i.attrs.jid)),
              ...(i.attrs.name ? { displayName: i.attrs.name } : {}),
            },
          ]
        : [],
    );
  }

  async addContact(userId: RemoteUserId, opts?: { message?: string }): Promise<void> {
    const entity = this.requireOnline();
    const jid = this.requireJid(userId);
    await this.iq(xml('query', { xmlns: NS.roster }, xml('item', { jid })));
    this.rosterJids.add(jid);
    // Pre-approve their request for our presence (RFC 6121 §3.4): adding a buddy is meant both ways.
    await this.write(entity, xml('presence', { to: jid, type: 'subscribed' }));
    await this.write(
      entity,
      xml(
        'presence',
        { to: jid, type: 'subscribe' },
        opts?.message ? xml('status', {}, opts.message) : undefined,
      ),
    );
  }

  async removeContact(userId: RemoteUserId): Promise<void> {
    this.requireOnline();
    const jid = this.requireJid(userId);
    // Removing the roster item also cancels both subscriptions (RFC 6121 §2.5).
    await this.iq(xml('query', { xmlns: NS.roster }, xml('item', { jid, subscription: 'remove' })));
  }

  async answerContactRequest(userId: RemoteUserId, accept: boolean): Promise<void> {
    const entity = this.requireOnline();
    const jid = this.requireJid(userId);
    await this.write(entity, xml('presence', { to: jid, type: accept ? 'subscribed' : 'unsubscribed' }));
    // Accepting makes the buddy mutual: ask for theirs too (a no-op when we already have it).
    if (accept) await this.write(entity, xml('presence', { to: jid, type: 'subscribe' }));
  }

  // ---- rooms ----

  async joinRoom(address: string): Promise<RoomSummary> {
    const entity = this.requireOnline();
    const slash = address.indexOf('/');
    const room = bareJid(address);
    if (!/^[^@/\s]+@[^@/\s]+$/.test(room))
      throw new SendError(
        `${address} is not a room address (room@conference.example.org)`,
        false,
        'bad_address',
      );
    const nick =
      slash !== -1
        ? address.slice(slash + 1)
        : (this.options.nick ?? this.self.slice(0, this.self.indexOf('@')));
    const existing = this.rooms.get(room);
    if (existing?.joined) return { roomId: RemoteRoomId(room), kind: 'group', title: room };
    const r: JoinedRoom = existing ?? {
      nick,
      occupants: new Set(),
      renames: new Map(),
      announced: false,
      joined: false,
      waiters: [],
      byStanzaId: new Map(),
      byMessageId: new Map(),
    };
    this.rooms.set(room, r);
    const joined = new Promise<void>((resolve, reject) => r.waiters.push({ resolve, reject }));
    // A close while the presence below is written rejects this before the race awaits it: not unhandled.
    joined.catch(() => undefined);
    if (!existing) {
      const show = buildPresence(
        this.myPresence.state === 'offline' ? { state: 'available' } : this.myPresence,
      );
      show.attrs.to = `${room}/${nick}`;
      show.append(xml('x', { xmlns: NS.muc }, xml('history', { maxstanzas: '20' })));
      await this.write(entity, show);
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        joined,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new SendError(`no answer from ${room}`, true, 'muc_timeout')),
            JOIN_TIMEOUT_MS,
          );
        }),
      ]);
    } catch (e) {
      if (!r.joined) this.rooms.delete(room);
      throw e;
    } finally {
      clearTimeout(timer);
    }
    await this.saveRooms();
    return { roomId: RemoteRoomId(room), kind: 'group', title: room };
  }

  /** The rooms this account rejoins at login (configured and saved), read once per connection. */
  private roomsToRejoin(): Promise<Set<string>> {
    this.rejoinList ??= this.ctx.state
      .get<string[]>(ROOMS_KEY)
      .catch(() => undefined)
      .then((saved) => new Set([...this.options.rooms, ...(saved ?? [])].map((r) => bareJid(r))));
    return this.rejoinList;
  }

  private async awaitRejoin(room: string): Promise<void> {
    const deadline = Date.now() + JOIN_TIMEOUT_MS;
    while (!this.rooms.get(room)?.joined) {
      if (!this.online || Date.now() > deadline)
        throw new SendError(`not back in ${room} yet`, true, 'muc_not_joined');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async saveRooms(): Promise<void> {
    this.rejoinList = undefined;
    const rooms = [...this.rooms].filter(([, r]) => r.joined).map(([room, r]) => `${room}/${r.nick}`);
    await this.ctx.state
      .set(ROOMS_KEY, rooms)
      .catch((e: unknown) =>
        this.ctx.logger.warn('xmpp: could not save the room list', { error: errText(e) }),
      );
  }

  async leaveRoom(roomId: RemoteRoomId): Promise<void> {
    const entity = this.requireOnline();
    const room = bareJid(roomId);
    const r = this.rooms.get(room);
    if (!r) return;
    await this.write(entity, xml('presence', { to: `${room}/${r.nick}`, type: 'unavailable' }));
  }

  async openDirect(userId: RemoteUserId): Promise<RoomSummary> {
    const jid = this.requireJid(userId);
    return { roomId: RemoteRoomId(jid), kind: 'direct', title: jid };
  }

  async listRooms(): Promise<RoomSummary[]> {
    return [...this.rooms]
      .filter(([, r]) => r.joined)
      .map(([room]) => ({ roomId: RemoteRoomId(room), kind: 'group' as const, title: room }));
  }

  async setTopic(roomId: RemoteRoomId, topic: string): Promise<void> {
    const entity = this.requireOnline();
    await this.write(
      entity,
      xml('message', { to: bareJid(roomId), type: 'groupchat' }, xml('subject', {}, topic)),
    );
  }

  /** Occupant nicks of a joined room (for tests and the API). */
  occupants(roomId: RemoteRoomId): string[] {
    return [...(this.rooms.get(bareJid(roomId))?.occupants ?? [])].sort();
  }

  // ---- helpers ----

  private chatType(to: string): ChatType {
    return this.rooms.get(to)?.joined ? 'groupchat' : 'chat';
  }

  // ---- files: XEP-0363 HTTP upload out; inbound files are XEP-0066 OOB links ----

  /** Files this client sent with a caption message (their ids, bounded): a retraction takes both. */
  private readonly captioned = new Set<string>();

  /** This connection's upload service, looked up once (see findUploadService). */
  private uploadService?: Promise<UploadService | undefined>;

  /**
   * The server's XEP-0363 upload service: the domain itself or one of its disco#items (prosody's
   * `upload.<domain>`), by its disco#info. Looked up at the first file, then remembered for the connection;
   * a lookup that failed outright is tried again next time.
   */
  private findUploadService(): Promise<UploadService | undefined> {
    const conn = this.conn;
    if (!conn) return Promise.resolve(undefined);
    this.uploadService ??= (async () => {
      const domain = resolveEndpoint(this.options).domain;
      const candidates = [domain];
      const items = await conn.iqCaller.get(xml('query', { xmlns: NS.discoItems }), domain, 10_000);
      for (const i of items?.getChildren('item') ?? [])
        if (typeof i.attrs.jid === 'string' && i.attrs.node === undefined) candidates.push(i.attrs.jid);
      for (const jid of candidates.slice(0, 20)) {
        const info = await conn.iqCaller
          .get(xml('query', { xmlns: NS.discoInfo }), jid, 10_000)
          .catch(() => undefined); // an item that does not answer is not the one
        const service = info ? uploadServiceOf(jid, info) : undefined;
        if (service) return service;
      }
      return undefined;
    })().catch((e: unknown) => {
      this.ctx.logger.debug('xmpp: could not look up the upload service', { error: errText(e) });
      this.uploadService = undefined;
      return undefined;
    });
    return this.uploadService;
  }

  async acceptsAttachment(file: { name: string; mimeType: string; size: number }): Promise<boolean> {
    if (!this.online) return false;
    const service = await this.findUploadService();
    return service !== undefined && (service.maxBytes === undefined || file.size <= service.maxBytes);
  }

  /**
   * A file through the server's upload service: a slot, an HTTPS PUT with the account's certificate trust,
   * then the caption (a relay's attribution) as a message of its own and the file's URL as a message whose
   * body is that URL, with XEP-0066 OOB — the form clients show as the file itself.
   */
  async sendAttachment(
    roomId: RemoteRoomId,
    file: { name: string; mimeType: string; data: Uint8Array; caption?: string },
    transactionId: TransactionId,
  ): Promise<RemoteMessageId> {
    this.requireOnline();
    const service = await this.findUploadService();
    if (!service) throw new SendError('the server offers no file upload (XEP-0363)', false, 'unsupported');
    const conn = this.conn;
    if (!conn) throw new SendError('not connected', true, 'disconnected');
    let answer: Element | undefined;
    try {
      // request(), not get(): the answer's child is a <slot/>, not the <request/> that was sent.
      answer = await conn.iqCaller.request(
        xml(
          'iq',
          { type: 'get', to: service.jid },
          slotRequest({ name: file.name, mimeType: file.mimeType, size: file.data.byteLength }),
        ),
        30_000,
      );
    } catch (e) {
      const condition = (e as { condition?: unknown }).condition;
      // An error reply (file-too-large, not-allowed, a quota) is the service's answer; silence may pass.
      if (typeof condition === 'string')
        throw new SendError(`the upload service refused the file: ${condition}`, false, 'rejected');
      throw new SendError(`the upload service did not answer: ${errText(e)}`, true, 'unreachable');
    }
    const slot = parseSlot(answer);
    await putFile(slot, file, parseTrust(this.options.trustedCertificate), this.ctx.signal);
    const to = bareJid(roomId);
    await this.readyFor(to);
    const type = this.chatType(to);
    if (file.caption) {
      await this.write(
        this.requireOnline(),
        buildTextMessage({ to, type, id: `${transactionId}${CAPTION_SUFFIX}`, text: file.caption }),
      );
      this.captioned.add(transactionId);
      if (this.captioned.size > 1000) this.captioned.delete(this.captioned.values().next().value!);
    }
    await this.write(
      this.requireOnline(),
      buildTextMessage({ to, type, id: transactionId, text: slot.get, oob: [slot.get] }),
    );
    return RemoteMessageId(transactionId);
  }

  /** Inbound XMPP files are http(s) links (OOB): the gateway passes them on and never fetches them. */
  fetchAttachment(): Promise<{ mimeType: string; data: Uint8Array }> {
    return Promise.reject(
      new SendError(
        'XMPP files are links: the gateway passes them on, never fetches them',
        false,
        'unsupported',
      ),
    );
  }

  // ---- calls (Jingle + JMI, xmpp-jingle.session.ts) ----

  placeCall(offer: CallOffer): Promise<void> {
    this.requireOnline();
    return this.jingle.placeCall(offer);
  }

  answerCall(callId: CallId, sdp: string): Promise<void> {
    return this.jingle.answerCall(callId, sdp);
  }

  sendCandidates(
    callId: CallId,
    candidates: { candidate: string; sdpMid?: string; sdpMLineIndex?: number }[],
  ): Promise<void> {
    return this.jingle.sendCandidates(callId, candidates);
  }

  hangup(callId: CallId, reason: 'hangup' | 'rejected' | 'busy' | 'no_answer' | 'failed'): Promise<void> {
    return this.jingle.hangup(callId, reason);
  }

  /** The server's STUN/TURN services (XEP-0215); none when it offers none or does not answer. */
  async iceServers(): Promise<IceServerInfo[]> {
    const conn = this.conn;
    if (!conn) return [];
    try {
      const res = await conn.iqCaller.get(
        xml('services', { xmlns: NS_EXTDISCO }),
        resolveEndpoint(this.options).domain,
        10_000,
      );
      return iceServersFromExtdisco(res);
    } catch {
      return [];
    }
  }

  private requireOnline(): XmppConnection['entity'] {
    const entity = this.conn?.entity;
    if (!this.online || this.closing || !entity || this.ctx.signal.aborted)
      throw new SendError('not connected', true, 'disconnected');
    return entity;
  }

  private requireJid(userId: string): string {
    const jid = bareJid(userId);
    if (!/^[^@/\s]+@[^@/\s]+$/.test(jid))
      throw new SendError(`${userId} is not a JID (user@example.org)`, false, 'bad_address');
    return jid;
  }

  private async write(entity: XmppConnection['entity'], stanza: Element): Promise<void> {
    try {
      await entity.send(stanza);
    } catch (e) {
      throw new SendError(`could not write to the server: ${errText(e)}`, true, 'disconnected');
    }
  }

  private async sendQuietly(stanza: Element): Promise<void> {
    const entity = this.conn?.entity;
    if (!this.online || !entity) return;
    await entity.send(stanza).catch(() => undefined);
  }

  private async iq(query: Element): Promise<Element | undefined> {
    const conn = this.conn;
    if (!conn) throw new SendError('not connected', true, 'disconnected');
    try {
      return await conn.iqCaller.set(query, undefined, 15_000);
    } catch (e) {
      const cond = (e as { condition?: unknown }).condition;
      throw typeof cond === 'string'
        ? new SendError(`the server refused: ${cond}`, false, cond)
        : new SendError(`no answer from the server: ${errText(e)}`, true, 'timeout');
    }
  }

  private noteRosterItem(item: Element): void {
    const jid = item.attrs.jid;
    if (!jid) return;
    if (item.attrs.subscription === 'remove') this.rosterJids.delete(bareJid(jid));
    else this.rosterJids.add(bareJid(jid));
  }

  private async fetchRoster(): Promise<Element[]> {
    const conn = this.conn;
    if (!conn) return [];
    const q = await conn.iqCaller.get(xml('query', { xmlns: NS.roster }), undefined, 15_000);
    return q?.getChildren('item') ?? [];
  }

  /**
   * The server handles one stream in order: its answer to a ping proves it took what we sent before.
   * Without an answer (the connection died, or the server is silent) we cannot know, so the send fails
   * as retryable: the outbox retries with the same transaction id, which is the message's stanza id and
   * origin-id, so receivers (and this gateway) recognise a copy that did get through.
   */
  /**
   * A confirmation of everything written so far: writes made before the next ping goes out (it goes out
   * once the current turn of the event loop ends) share it, so a backlog written back to back costs one
   * round trip, not one per message.
   */
  private confirmWritten(): Promise<boolean> {
    if (this.nextConfirm) return this.nextConfirm;
    const next = new Promise<boolean>((resolve, reject) =>
      setImmediate(() => {
        this.nextConfirm = undefined;
        this.confirm().then(resolve, reject);
      }),
    );
    this.nextConfirm = next;
    return next;
  }

  private async confirm(): Promise<boolean> {
    const conn = this.conn;
    if (!conn) return false;
    try {
      await conn.iqCaller.request(
        xml('iq', { type: 'get', to: resolveEndpoint(this.options).domain }, xml('ping', { xmlns: NS.ping })),
        15_000,
      );
      return true;
    } catch (e) {
      // An error reply is still an answer in order.
      if (typeof (e as { condition?: unknown }).condition === 'string') return true;
      throw new SendError(`the server did not confirm the message: ${errText(e)}`, true, 'unconfirmed');
    }
  }

  private async emit(event: RemoteEvent): Promise<void> {
    if (this.closing || this.ctx.signal.aborted) return;
    await this.ctx.emit(event);
  }

  /**
   * Hands over an event nothing is acknowledged for (roster, presence) without waiting for the gateway to
   * accept it, so that a burst — a roster of thousands and the presence answers after login — is accepted
   * in a few durable writes instead of one each. The gateway accepts events in the order they are emitted.
   * At most EMIT_WINDOW wait at once; past that the stanza queue waits too, so a slow gateway still holds
   * us back.
   */
  private async emitInOrder(event: RemoteEvent): Promise<void> {
    while (this.unaccepted >= EMIT_WINDOW) await new Promise<void>((r) => this.acceptWaiters.push(r));
    if (this.closing || this.ctx.signal.aborted) return;
    this.unaccepted++;
    this.ctx
      .emit(event)
      .catch((e: unknown) =>
        this.ctx.logger.warn('xmpp: the gateway did not accept an event', {
          type: event.type,
          error: errText(e),
        }),
      )
      .finally(() => {
        this.unaccepted--;
        this.acceptWaiters.shift()?.();
      });
  }

  private drop(status: ConnectionStatus): void {
    if (this.ended || this.closing) return;
    this.ended = true;
    this.online = false;
    this.hardClose();
    void this.report(status);
  }

  private abort(): void {
    this.closing = true;
    this.online = false;
    this.hardClose();
  }

  private startKeepalive(conn: XmppConnection): void {
    const ms = this.options.keepaliveSeconds * 1000;
    let pinging = false;
    this.keepalive = setInterval(() => {
      if (!this.online || pinging) return;
      pinging = true;
      const ping = xml(
        'iq',
        { type: 'get', to: resolveEndpoint(this.options).domain },
        xml('ping', { xmlns: NS.ping }),
      );
      conn.iqCaller
        .request(ping, ms)
        .catch((e: unknown) => {
          // An error reply is still an answer: the stream is alive.
          if (typeof (e as { condition?: unknown }).condition === 'string') return;
          this.drop({
            state: 'transient_disconnect',
            code: 'ping_timeout',
            message: `the server did not answer a ping within ${this.options.keepaliveSeconds} s`,
          });
        })
        .finally(() => {
          pinging = false;
        });
    }, ms);
  }

  /** Closes the TCP connection now, whatever the stream's state. */
  private hardClose(): void {
    clearInterval(this.keepalive);
    this.keepalive = undefined;
    // Requests that will never be answered now: fail them, which also stops their timeout timers.
    if (this.conn) failPendingRequests(this.conn.iqCaller, 'disconnected');
    transportSocket(this.conn?.entity.socket)?.destroy();
    for (const r of this.rooms.values())
      for (const w of r.waiters.splice(0)) w.reject(new SendError('disconnected', true, 'disconnected'));
  }

  private async report(status: ConnectionStatus): Promise<void> {
    this.current = status;
    if (this.ctx.signal.aborted || this.closing) return;
    try {
      await this.ctx.emit({ type: 'connection.state', at: now(), status });
    } catch (e) {
      this.ctx.logger.warn('xmpp: could not report the connection state', { error: errText(e) });
    }
  }
}
