import {
  type ClientContext,
  type ConnectionStatus,
  type NetworkClient,
  type OutboundMessage,
  type Presence,
  type PresenceCapable,
  type RemoteEvent,
  RemoteMessageId,
  type RemoteRoomId,
  RemoteRoomId as toRoomId,
  type RemoteUserId,
  type RoomsCapable,
  type RosterCapable,
  type RosterContact,
  type RoomSummary,
  SendError,
  type SendResult,
  type SentCheckCapable,
} from '@switchboard/sdk';
import { Client, type IrcClientOptions, type IrcEventBase, type IrcMessageEvent } from 'irc-framework';
import { fromMirc, hasMircCodes, stripMirc } from './irc-formatting';
import {
  type CaseMapping,
  casefold,
  derivedMessageId,
  isChannelName,
  nickOfUserId,
  roomIdOf,
  userIdOf,
} from './irc-ids';
import { checkMiddle, flattenText, IrcLineError, serializeLine, splitText } from './irc-line.serializer';
import type { IrcOptions } from './irc-options';
import { lineBody, type RenderedMessage, renderOutbound, type SelfPrefix, targetOf } from './irc-render';
import { parseServerLine, ReplayTracker } from './irc-sent-check';
import { SendQueue } from './irc-send.queue';

const now = (): string => new Date().toISOString();
const isoOf = (ms: number | undefined): string => new Date(ms ?? Date.now()).toISOString();
const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** How long registration may take before the attempt counts as failed. */
const REGISTRATION_TIMEOUT_MS = 45_000;
/** How long a send waits for the server's echo before it reports an unconfirmed send. */
const ECHO_TIMEOUT_MS = 10_000;
const JOIN_TIMEOUT_MS = 10_000;
/** How long findOwnSend waits for the channel's replay when the join is not through yet. */
const SENT_CHECK_WAIT_MS = 5_000;
/** Message ids remembered to drop a repeat (a replay, a backfill overlapping live traffic). */
const SEEN_IDS = 5_000;

const STATE_CHANNELS = 'irc.channels';
const STATE_PEERS = 'irc.peers';
const STATE_UNWATCHED = 'irc.unwatched';

interface EchoWaiter {
  target: string;
  text: string;
  transactionId: string;
  /** The echo's id; undefined when none came; a SendError when the server refused the line. */
  resolve: (outcome: RemoteMessageId | SendError | undefined) => void;
  /** Settles when the send() this line belongs to returned: its echo is emitted only then. */
  settled: Promise<void>;
}

/** Numerics that refuse a PRIVMSG/NOTICE to a target: the send fails instead of waiting for an echo. */
/** `@tags :server BATCH +id labeled-response`: group 1 the tags, group 2 the batch id. */
const LABELED_BATCH = /^@(\S+) (?::\S+ )?BATCH \+(\S+) :?labeled-response(?:\s|$)/;

const REFUSED_TARGET = new Set([
  'no_such_nick',
  'cannot_send_to_channel',
  'cannot_send_to_user',
  'no_such_channel',
]);

interface JoinWaiter {
  resolve: () => void;
  reject: (e: Error) => void;
}

interface ChannelState {
  name: string;
  topic?: string;
  members: Set<string>;
}

/** The irc-framework 'whois' event fields this adapter reads. */
interface WhoisEvent {
  nick?: string;
  away?: string;
  error?: string;
}

/**
 * One IRC account on irc-framework. The library does the socket, CAP negotiation, SASL and parsing;
 * every line this client sends is built by `serializeLine`. Reconnecting is the supervisor's job, so the
 * library's auto-reconnect is off: a drop is reported as `transient_disconnect` and this client is done.
 */
export class IrcClient
  implements NetworkClient, PresenceCapable, RoomsCapable, RosterCapable, SentCheckCapable
{
  private current: ConnectionStatus = { state: 'connecting' };
  private irc?: Client;
  private disposed = false;
  private registered = false;
  /** 001 arrived; `registered` is set once ISUPPORT and the MOTD are through. */
  private welcomed = false;
  private readyTimer?: NodeJS.Timeout;
  private finished = false;
  private nickAttempt = 0;
  private failure?: ConnectionStatus;
  private connectDone?: () => void;
  private registrationTimer?: NodeJS.Timeout;
  private isonTimer?: NodeJS.Timeout;
  private isonPending = false;
  private emitChain: Promise<void> = Promise.resolve();
  private readonly queue: SendQueue;
  private readonly server: string;
  private readonly channels = new Map<string, ChannelState>();
  private readonly joinWaiters = new Map<string, JoinWaiter>();
  private readonly rejoins = new Map<string, Promise<void>>();
  private readonly buddies = new Map<string, string>();
  /** Casefolded nicks the user removed although the `watch` option names them. */
  private readonly unwatched = new Set<string>();
  private readonly presence = new Map<string, string>();
  /** Casefolded nick → services account, from extended-join and account-notify. */
  private readonly accounts = new Map<string, string>();
  private readonly seen = new Set<string>();
  private readonly labelWaiters = new Map<string, EchoWaiter>();
  /**
   * A labeled reply of several lines comes as a BATCH whose start line carries the label (an echo after
   * RPL_AWAY, for one); irc-framework drops the start line's tags, so the raw line is read for them.
   */
  private readonly labelOfBatch = new Map<string, string>();
  private readonly echoFifo: EchoWaiter[] = [];
  private readonly sentByTransaction = new Map<string, SendResult>();
  /** Our own lines in each channel's history replay since our latest JOIN (findOwnSend). */
  private readonly replays = new ReplayTracker();
  private labelSeq = 0;

  constructor(
    private readonly options: IrcOptions,
    private readonly ctx: ClientContext,
  ) {
    this.queue = new SendQueue(options.floodBurst, options.floodIntervalMs);
    this.server = options.host.toLowerCase();
    for (const n of options.watch) this.buddies.set(this.fold(n), n);
  }

  get status(): ConnectionStatus {
    return this.current;
  }

  /** Our current nick (after any collision fallback). */
  get nick(): string {
    return this.irc?.user.nick ?? this.options.nick;
  }

  // ------------------------------------------------------------------------------------------------
  // Connection

  async connect(): Promise<void> {
    if (this.disposed || this.ctx.signal.aborted) return;
    await this.report({ state: 'connecting' });
    try {
      for (const c of (await this.ctx.state.get<string[]>(STATE_CHANNELS)) ?? []) this.ensureChannel(c);
      for (const p of (await this.ctx.state.get<string[]>(STATE_PEERS)) ?? [])
        this.buddies.set(this.fold(p), p);
      for (const u of (await this.ctx.state.get<string[]>(STATE_UNWATCHED)) ?? []) {
        this.unwatched.add(u);
        this.buddies.delete(u);
      }
    } catch (e) {
      this.ctx.logger.warn('could not read the saved channels and peers', { error: errorText(e) });
    }
    for (const c of this.options.channels) this.ensureChannel(c);

    const done = new Promise<void>((resolve) => (this.connectDone = resolve));
    try {
      this.start();
    } catch (e) {
      this.finish({
        state: 'error',
        code: 'client_failed',
        message: `could not start: ${errorText(e)}`,
        retryable: true,
      });
    }
    this.registrationTimer = setTimeout(() => {
      this.failure = {
        state: 'transient_disconnect',
        code: 'registration_timeout',
        message: `the server did not complete registration within ${REGISTRATION_TIMEOUT_MS / 1000} s`,
      };
      this.irc?.connection.end(undefined, true);
      this.finish(this.failure);
    }, REGISTRATION_TIMEOUT_MS);
    await done;
  }

  async disconnect(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.clearTimers();
    this.queue.close();
    this.releaseWaiters();
    const irc = this.irc;
    this.current = { state: 'logged_out', retryable: false };
    this.connectDone?.();
    if (!irc) return;
    if (irc.connected) {
      const closed = new Promise<void>((resolve) => {
        irc.on('close', () => resolve());
        setTimeout(resolve, 2000).unref();
      });
      try {
        irc.connection.end(serializeLine('QUIT', [], 'Leaving'));
      } catch {
        // already closing
      }
      await closed;
    }
    irc.connection.end(undefined, true);
    irc.removeAllListeners();
  }

  private start(): void {
    const o = this.options;
    const opts: IrcClientOptions = {
      host: o.host,
      port: o.port,
      tls: o.tls,
      rejectUnauthorized: !o.tlsInsecure,
      nick: o.nick,
      username: o.username ?? o.nick,
      gecos: o.realname ?? o.nick,
      // Without an account object irc-framework would send the server password as SASL too.
      account: o.sasl?.mechanism === 'PLAIN' ? { account: o.sasl.user, password: o.sasl.password } : {},
      auto_reconnect: false,
      ping_interval: Math.max(5, Math.floor(o.pingTimeoutSeconds / 4)),
      ping_timeout: o.pingTimeoutSeconds,
      enable_echomessage: true,
      enable_chghost: true,
      sasl_disconnect_on_fail: false,
      version: null,
    };
    if (o.password !== undefined) opts.password = o.password;
    if (o.sasl?.mechanism === 'EXTERNAL') {
      opts.sasl_mechanism = 'EXTERNAL';
      if (o.sasl.cert && o.sasl.key)
        opts.client_certificate = { certificate: o.sasl.cert, private_key: o.sasl.key };
    }
    const irc = new Client();
    this.irc = irc;
    // extended-monitor: away-notify also for MONITORed nicks that share no channel with us.
    irc.requestCap(['labeled-response', 'echo-message', 'extended-monitor']);
    this.bind(irc);
    irc.connect(opts);
  }

  private bind(irc: Client): void {
    const on = <E>(event: string, fn: (e: E) => void): void => {
      irc.on(event, (e: never) => {
        if (this.disposed || this.irc !== irc) return;
        try {
          fn(e);
        } catch (err) {
          this.ctx.logger.error(`failed handling IRC event ${event}`, { error: errorText(err) });
        }
      });
    };
    // Lines go out as they are written: Nagle's algorithm would hold the second of two back-to-back lines
    // until the server acknowledges the first (up to a delayed-ACK timeout when the server says nothing).
    on<undefined>('raw socket connected', () => irc.connection.transport?.socket?.setNoDelay?.(true));
    on<{ nick: string }>('registered', (e) => this.onRegistered(e.nick));
    on<unknown>('motd', () => this.onReady());
    on<{ nick: string }>('nick in use', () => this.onNickInUse());
    on<{ nick: string }>('nick invalid', () => this.onNickInUse());
    on<{ reason: string; message?: string }>('sasl failed', (e) => this.onSaslFailed(e.reason, e.message));
    on<{ error: string; reason?: string; channel?: string; nick?: string }>('irc error', (e) =>
      this.onIrcError(e),
    );
    on<undefined>('ping timeout', () => {
      this.failure = {
        state: 'transient_disconnect',
        code: 'ping_timeout',
        message: `no answer from the server for ${this.options.pingTimeoutSeconds} s`,
      };
    });
    on<Error | false | undefined>('socket close', (e) => {
      if (e)
        this.failure ??= {
          state: 'transient_disconnect',
          code: 'socket_error',
          message: `connection failed: ${errorText(e)}`,
        };
    });
    on<boolean>('close', () => this.onClose());
    on<IrcMessageEvent>('privmsg', (e) => this.onMessage('text', e));
    on<IrcMessageEvent>('notice', (e) => this.onMessage('notice', e));
    on<IrcMessageEvent>('action', (e) => this.onMessage('emote', e));
    on<IrcEventBase & { channel: string; account?: string | false }>('join', (e) => this.onJoin(e));
    // account-notify (and RPL_LOGGEDIN for ourselves): who is logged in to which services account.
    on<IrcEventBase & { account: string | false }>('account', (e) => {
      if (e.nick && !this.isSelf(e.nick)) this.onAccount(e.nick, e.account, e.time);
    });
    on<IrcEventBase & { channel: string; message: string }>('part', (e) => this.onPart(e));
    on<IrcEventBase & { channel: string; kicked: string; message: string }>('kick', (e) => this.onKick(e));
    on<IrcEventBase & { message: string }>('quit', (e) => this.onQuit(e));
    on<IrcEventBase & { new_nick: string }>('nick', (e) => this.onNick(e));
    on<IrcEventBase & { channel: string; topic: string }>('topic', (e) => this.onTopic(e));
    on<{ channel: string; users: { nick: string }[] }>('userlist', (e) => this.onUserlist(e));
    on<IrcEventBase & { self: boolean; message: string }>('away', (e) => {
      if (!e.self && e.nick) this.setPeerPresence(e.nick, { state: 'away', status: e.message }, e.time);
    });
    on<IrcEventBase & { self: boolean }>('back', (e) => {
      if (!e.self && e.nick) this.setPeerPresence(e.nick, { state: 'available' }, e.time);
    });
    on<{ line: string; from_server: boolean }>('raw', (e) => {
      if (!e.from_server) return;
      this.trackReplay(e.line);
      if (!e.line.startsWith('@')) return;
      const m = LABELED_BATCH.exec(e.line);
      const label = m ? /(?:^|;)label=([^;]+)/.exec(m[1]!)?.[1] : undefined;
      if (m && label !== undefined) this.labelOfBatch.set(m[2]!, label);
    });
    on<{ id: string }>('batch end', (e) => {
      this.labelOfBatch.delete(e.id);
      // irc-framework hands a batch's lines over at its end, before this event: the replay is all read.
      this.replays.batchEnded(e.id);
    });
    on<{ nicks: string[] }>('users online', (e) => this.onUsersOnline(e.nicks));
    on<{ nicks: string[] }>('users offline', (e) => {
      for (const n of e.nicks) if (n) this.setPeerPresence(n, { state: 'offline' });
    });
    on<WhoisEvent>('whois', (e) => {
      if (!e.nick || e.error) return;
      this.setPeerPresence(e.nick, e.away ? { state: 'away', status: e.away } : { state: 'available' });
    });
  }

  private onRegistered(nick: string): void {
    this.welcomed = true;
    if (nick !== this.options.nick)
      this.ctx.logger.info(`the nick ${this.options.nick} was taken; connected as ${nick}`);
    // ISUPPORT (MONITOR, CASEMAPPING, CHANTYPES) arrives after 001: set up once the MOTD is over,
    // or shortly after 001 on a server that sends neither MOTD nor ERR_NOMOTD.
    this.readyTimer = setTimeout(() => this.onReady(), 3000);
  }

  private onReady(): void {
    if (this.registered || !this.welcomed) return;
    this.registered = true;
    if (this.registrationTimer) clearTimeout(this.registrationTimer);
    if (this.readyTimer) clearTimeout(this.readyTimer);
    this.registrationTimer = undefined;
    this.readyTimer = undefined;
    void this.report({ state: 'connected' });
    this.connectDone?.();
    // Rejoin what this account was in (its config channels and what it joined since), then watch buddies.
    for (const ch of this.channels.values()) this.rejoin(ch.name);
    // The buddy list with its nicks as names, before any presence names them only by their address.
    for (const nick of this.buddies.values()) this.announceBuddy(nick);
    this.watch([...this.buddies.values()]);
    if (!this.irc?.network.supports('MONITOR')) {
      this.isonTimer = setInterval(() => this.pollIson(), this.options.isonIntervalSeconds * 1000);
      this.pollIson();
    }
  }

  /** JOIN again after a reconnect; sends to the channel wait for it (bounded) so none goes out too early. */
  private rejoin(name: string): void {
    const key = this.fold(name);
    let timer: NodeJS.Timeout | undefined;
    const done = new Promise<void>((resolve) => {
      this.joinWaiters.set(key, { resolve, reject: () => resolve() });
      timer = setTimeout(resolve, JOIN_TIMEOUT_MS);
    }).finally(() => {
      clearTimeout(timer);
      this.rejoins.delete(key);
      this.joinWaiters.delete(key);
    });
    this.rejoins.set(key, done);
    this.writeSafe('JOIN', [name]);
  }

  private onNickInUse(): void {
    if (this.welcomed) return; // a NICK change we asked for: the old nick stays
    const alts = this.options.altNicks;
    const n = this.nickAttempt++;
    const base = this.options.nick;
    const next =
      n < alts.length
        ? alts[n]!
        : n < alts.length + 2
          ? `${base}${'_'.repeat(n - alts.length + 1)}`
          : `${base.slice(0, 12)}${Math.floor(Math.random() * 10_000)}`;
    if (this.irc) this.irc.user.nick = next;
    this.writeSafe('NICK', [next], undefined, true);
  }

  private onSaslFailed(reason: string, message?: string): void {
    const unavailable = reason === 'capability_missing' || reason === 'unsupported_mechanism';
    this.failure = unavailable
      ? {
          state: 'error',
          code: 'sasl_unavailable',
          message: `the server does not offer SASL ${this.options.sasl?.mechanism ?? ''}`.trim(),
          retryable: false,
        }
      : {
          state: 'bad_credentials',
          code: 'sasl_failed',
          message: `SASL authentication failed${message ? `: ${message}` : ''}`,
        };
    this.irc?.connection.end(serializeLine('QUIT', [], 'SASL failed'));
  }

  private onIrcError(e: { error: string; reason?: string; channel?: string; nick?: string }): void {
    const refused = e.channel ?? e.nick;
    if (REFUSED_TARGET.has(e.error) && refused !== undefined) this.refuseEchoes(refused, e.error, e.reason);
    if (e.channel) {
      const w = this.joinWaiters.get(this.fold(e.channel));
      if (w) {
        this.joinWaiters.delete(this.fold(e.channel));
        this.replays.joinRefused(this.fold(e.channel));
        w.reject(new SendError(`cannot join ${e.channel}: ${e.reason ?? e.error}`, false, e.error));
      }
    }
    if (e.error === 'password_mismatch')
      this.failure = {
        state: 'bad_credentials',
        code: 'bad_password',
        message: 'the server refused the password',
      };
    else if (e.error === 'banned_from_network')
      this.failure = {
        state: 'error',
        code: 'banned',
        message: e.reason ?? 'banned from the server',
        retryable: false,
      };
    else if (e.error === 'irc') {
      const reason = e.reason ?? 'the server closed the link';
      // Before registration, InspIRCd and others close a wrong server password with an ERROR.
      if (!this.registered && this.options.password !== undefined && /password|access denied/i.test(reason))
        this.failure ??= { state: 'bad_credentials', code: 'bad_password', message: reason };
      else this.failure ??= { state: 'transient_disconnect', code: 'server_error', message: reason };
    }
  }

  private onClose(): void {
    this.finish(
      this.failure ?? {
        state: 'transient_disconnect',
        code: this.registered ? 'connection_closed' : 'connect_failed',
        message: this.registered ? 'the server closed the connection' : 'could not connect to the server',
      },
    );
  }

  /** The connection is over: report once why, and let go (the supervisor creates a new client). */
  private finish(status: ConnectionStatus): void {
    if (this.finished || this.disposed) return;
    this.finished = true;
    this.clearTimers();
    this.queue.close();
    this.releaseWaiters();
    void this.report(status).finally(() => this.connectDone?.());
  }

  private clearTimers(): void {
    if (this.registrationTimer) clearTimeout(this.registrationTimer);
    if (this.isonTimer) clearInterval(this.isonTimer);
    if (this.readyTimer) clearTimeout(this.readyTimer);
    this.readyTimer = undefined;
    this.registrationTimer = undefined;
    this.isonTimer = undefined;
  }

  private releaseWaiters(): void {
    for (const w of this.labelWaiters.values()) w.resolve(undefined);
    this.labelWaiters.clear();
    for (const w of this.echoFifo.splice(0)) w.resolve(undefined);
    for (const w of this.joinWaiters.values()) w.reject(new SendError('disconnected', true, 'disconnected'));
    this.joinWaiters.clear();
    this.replays.close();
  }

  // ------------------------------------------------------------------------------------------------
  // Inbound

  private fold(s: string): string {
    return casefold(s, this.caseMapping());
  }

  private caseMapping(): CaseMapping {
    const m = this.irc?.network.supports('CASEMAPPING');
    return m === 'ascii' || m === 'strict-rfc1459' ? m : 'rfc1459';
  }

  private chanTypes(): string {
    const t = this.irc?.network.supports('CHANTYPES');
    return typeof t === 'string' && t !== '' ? t : '#&';
  }

  private isSelf(nick: string | undefined): boolean {
    return nick !== undefined && this.fold(nick) === this.fold(this.nick);
  }

  private userId(nick: string): RemoteUserId {
    return userIdOf(nick, this.server, this.caseMapping());
  }

  /** Resolves once the gateway accepted the event. */
  private emit(event: RemoteEvent, after?: Promise<void>): Promise<void> {
    // In network order: each handed to the gateway after the previous one was (the gateway accepts events
    // in the order they are emitted), but without waiting for the previous one to be durable, so a burst
    // such as hundreds of MONITOR replies is accepted in one write rather than one write each.
    const handed = this.emitChain.then(async () => {
      if (after) await after;
      if (this.disposed || this.ctx.signal.aborted) return undefined;
      // Wrapped: a bare promise returned here would make the chain wait for the acceptance again.
      return {
        accepted: this.ctx.emit(event).catch((e: unknown) => {
          this.ctx.logger.warn('the gateway did not accept an event', {
            type: event.type,
            error: errorText(e),
          });
        }),
      };
    });
    this.emitChain = handed.then(() => undefined);
    return handed.then((h) => h?.accepted);
  }

  private report(status: ConnectionStatus): Promise<void> {
    this.current = status;
    return this.emit({ type: 'connection.state', at: now(), status });
  }

  private onMessage(kind: 'text' | 'notice' | 'emote', e: IrcMessageEvent): void {
    if (!e.nick || e.from_server) return; // server notices during registration are not conversation
    const self = this.isSelf(e.nick);
    const channel = isChannelName(e.target, this.chanTypes());
    const peer = channel ? e.target : self ? e.target : e.nick;
    if (!channel && !self && !this.buddies.has(this.fold(peer))) this.addBuddy(peer);
    const raw = e.message;
    const at = isoOf(e.time);
    const msgid = e.tags?.msgid;
    let messageId = msgid
      ? RemoteMessageId(msgid)
      : derivedMessageId({
          sender: this.fold(e.nick),
          target: this.fold(e.target),
          at: e.time ? at : at.slice(0, 19),
          text: raw,
        });
    let transactionId: string | undefined;
    let after: Promise<void> | undefined;
    // History a server replays (chathistory batches, InspIRCd's +H replay on join) is backfill.
    const replayed = e.batch !== undefined && /(^|\/)chathistory$/.test(e.batch.type);
    // A replayed line of ours is an earlier post, never the echo of a send now in flight.
    if (self && !replayed) {
      const label =
        e.tags?.label ??
        (e.batch?.type === 'labeled-response' ? this.labelOfBatch.get(e.batch.id) : undefined);
      const waiter = label !== undefined ? this.labelWaiters.get(label) : this.takeFifoEcho(e.target, raw);
      if (label !== undefined) this.labelWaiters.delete(label);
      if (waiter) {
        transactionId = waiter.transactionId;
        if (!msgid)
          messageId = derivedMessageId({
            sender: this.fold(e.nick),
            target: this.fold(e.target),
            at,
            text: raw,
          });
        waiter.resolve(messageId);
        // The echo of our own send reaches the gateway after send() returned its ids, so the gateway
        // records the send before it sees the echo (both name the same message).
        after = waiter.settled;
      }
    }
    // Kept before the repeat check: a rejoin replays lines this client has seen already.
    if (self && channel && replayed && e.batch)
      this.replays.ownLine(this.fold(e.target), e.batch.id, {
        id: messageId,
        at: e.time ?? NaN,
        kind,
        text: raw,
      });
    if (this.seen.has(messageId)) return;
    this.remember(messageId);
    const text = stripMirc(raw);
    void this.emit(
      {
        type: 'message',
        at,
        roomId: roomIdOf(peer, this.caseMapping()),
        roomKind: channel ? 'group' : 'direct',
        messageId,
        sender: { userId: this.userId(e.nick), displayName: e.nick, ...(self ? { self: true } : {}) },
        kind,
        text,
        ...(hasMircCodes(raw) ? { formatted: fromMirc(raw) } : {}),
        ...(transactionId !== undefined ? { transactionId } : {}),
        ...(replayed ? { backfill: true } : {}),
      },
      after,
    );
  }

  /**
   * Follows the wire for the replay tracker: InspIRCd writes `BATCH +id chathistory #chan` as the line right
   * after our RPL_ENDOFNAMES, or nothing when the channel has no +H.
   */
  private trackReplay(line: string): void {
    const p = parseServerLine(line);
    if (!p) return;
    const [a, b, c] = p.params;
    if (p.command === 'BATCH' && a?.startsWith('+') && b !== undefined)
      this.replays.serverLine({
        id: a.slice(1),
        type: b,
        ...(c !== undefined ? { room: this.fold(c) } : {}),
      });
    else this.replays.serverLine();
    if (p.command === '366' && b !== undefined && this.isSelf(a)) this.replays.namesEnded(this.fold(b));
  }

  /** The server refused lines to `target`: every send waiting on an echo from it fails. */
  private refuseEchoes(target: string, code: string, reason?: string): void {
    const key = this.fold(target);
    const err = new SendError(`${target}: ${reason ?? code}`, false, code);
    for (const [label, w] of this.labelWaiters)
      if (this.fold(w.target) === key) {
        this.labelWaiters.delete(label);
        w.resolve(err);
      }
    for (let i = this.echoFifo.length - 1; i >= 0; i--)
      if (this.fold(this.echoFifo[i]!.target) === key) this.echoFifo.splice(i, 1)[0]!.resolve(err);
  }

  private takeFifoEcho(target: string, raw: string): EchoWaiter | undefined {
    const i = this.echoFifo.findIndex((w) => this.fold(w.target) === this.fold(target) && w.text === raw);
    return i < 0 ? undefined : this.echoFifo.splice(i, 1)[0];
  }

  private remember(id: string): void {
    this.seen.add(id);
    if (this.seen.size > SEEN_IDS) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }

  private ensureChannel(name: string): ChannelState {
    const key = this.fold(name);
    let ch = this.channels.get(key);
    if (!ch) {
      ch = { name, members: new Set() };
      this.channels.set(key, ch);
    }
    return ch;
  }

  private async saveChannels(): Promise<void> {
    try {
      await this.ctx.state.set(
        STATE_CHANNELS,
        [...this.channels.values()].map((c) => c.name),
      );
    } catch (e) {
      this.ctx.logger.warn('could not save the channel list', { error: errorText(e) });
    }
  }

  /** A services account is a stable handle for a person behind changing nicks: a merge hint. */
  private onAccount(nick: string, account: string | false | undefined, time?: number): void {
    if (typeof account !== 'string' || account === '') return;
    const key = this.fold(nick);
    if (this.accounts.get(key) === account) return;
    this.accounts.set(key, account);
    void this.emit({
      type: 'contact.upsert',
      at: isoOf(time),
      userId: this.userId(nick),
      displayName: nick,
      hints: { handles: [`${account}@${this.server}`] },
    });
  }

  private onJoin(e: IrcEventBase & { channel: string; account?: string | false }): void {
    if (!e.nick) return;
    if (!this.isSelf(e.nick)) this.onAccount(e.nick, e.account, e.time);
    const roomId = roomIdOf(e.channel, this.caseMapping());
    const at = isoOf(e.time);
    if (this.isSelf(e.nick)) {
      const ch = this.ensureChannel(e.channel);
      ch.name = e.channel;
      this.replays.joined(this.fold(e.channel));
      this.joinWaiters.get(this.fold(e.channel))?.resolve();
      this.joinWaiters.delete(this.fold(e.channel));
      void this.emit({ type: 'room.upsert', at, roomId, kind: 'group', title: e.channel });
    }
    this.channels.get(this.fold(e.channel))?.members.add(this.fold(e.nick));
    void this.emit({
      type: 'room.member',
      at,
      roomId,
      userId: this.userId(e.nick),
      displayName: e.nick,
      membership: 'join',
      // A JOIN line is always news (who was already there comes as NAMES, which is not live).
      live: true,
      ...(this.isSelf(e.nick) ? { self: true } : {}),
    });
  }

  private onPart(e: IrcEventBase & { channel: string; message: string }): void {
    if (!e.nick) return;
    const roomId = roomIdOf(e.channel, this.caseMapping());
    const at = isoOf(e.time);
    if (this.isSelf(e.nick)) {
      this.channels.delete(this.fold(e.channel));
      this.replays.left(this.fold(e.channel));
      void this.saveChannels();
      void this.emit({ type: 'room.left', at, roomId, ...(e.message ? { reason: e.message } : {}) });
      return;
    }
    this.channels.get(this.fold(e.channel))?.members.delete(this.fold(e.nick));
    void this.emit({
      type: 'room.member',
      at,
      roomId,
      userId: this.userId(e.nick),
      displayName: e.nick,
      membership: 'leave',
      live: true,
      ...(e.message ? { reason: e.message } : {}),
    });
  }

  private onKick(e: IrcEventBase & { channel: string; kicked: string; message: string }): void {
    const roomId = roomIdOf(e.channel, this.caseMapping());
    const at = isoOf(e.time);
    const reason = e.message ? { reason: e.message } : {};
    if (this.isSelf(e.kicked)) {
      this.channels.delete(this.fold(e.channel));
      this.replays.left(this.fold(e.channel));
      void this.saveChannels();
      void this.emit({ type: 'room.left', at, roomId, ...reason });
      return;
    }
    this.channels.get(this.fold(e.channel))?.members.delete(this.fold(e.kicked));
    void this.emit({
      type: 'room.member',
      at,
      roomId,
      userId: this.userId(e.kicked),
      displayName: e.kicked,
      membership: 'kick',
      live: true,
      ...reason,
    });
  }

  private onQuit(e: IrcEventBase & { message: string }): void {
    if (!e.nick) return;
    const key = this.fold(e.nick);
    const at = isoOf(e.time);
    for (const ch of this.channels.values()) {
      if (!ch.members.delete(key)) continue;
      void this.emit({
        type: 'room.member',
        at,
        roomId: roomIdOf(ch.name, this.caseMapping()),
        userId: this.userId(e.nick),
        displayName: e.nick,
        membership: 'leave',
        live: true,
        // QUIT is network-wide: it is reported in each channel we share with the nick.
        quit: true,
        ...(e.message ? { reason: e.message } : {}),
      });
    }
    if (!this.buddies.has(key)) this.setPeerPresence(e.nick, { state: 'offline' }, e.time);
  }

  private onNick(e: IrcEventBase & { new_nick: string }): void {
    if (!e.nick) return;
    const from = this.fold(e.nick);
    const to = this.fold(e.new_nick);
    const at = isoOf(e.time);
    const rename = { from: e.nick, to: e.new_nick };
    const self = this.isSelf(e.nick) || this.isSelf(e.new_nick) ? { self: true } : {};
    // A nick is the user's id on IRC: the old one leaves each shared channel and the new one joins.
    for (const ch of this.channels.values()) {
      if (!ch.members.delete(from)) continue;
      ch.members.add(to);
      const roomId = roomIdOf(ch.name, this.caseMapping());
      void this.emit({
        type: 'room.member',
        at,
        roomId,
        userId: this.userId(e.nick),
        displayName: e.nick,
        membership: 'leave',
        reason: `now known as ${e.new_nick}`,
        live: true,
        rename,
        ...self,
      });
      void this.emit({
        type: 'room.member',
        at,
        roomId,
        userId: this.userId(e.new_nick),
        displayName: e.new_nick,
        membership: 'join',
        live: true,
        rename,
        ...self,
      });
    }
  }

  private onTopic(e: IrcEventBase & { channel: string; topic: string }): void {
    const ch = this.channels.get(this.fold(e.channel));
    if (ch) ch.topic = e.topic;
    void this.emit({
      type: 'room.upsert',
      at: isoOf(e.time),
      roomId: roomIdOf(e.channel, this.caseMapping()),
      kind: 'group',
      title: e.channel,
      topic: stripMirc(e.topic),
    });
  }

  private onUserlist(e: { channel: string; users: { nick: string }[] }): void {
    const ch = this.channels.get(this.fold(e.channel));
    if (!ch) return;
    // NAMES: everyone already in the channel when we joined becomes a member event once.
    const roomId = roomIdOf(ch.name, this.caseMapping());
    const at = now();
    const members = new Set<string>();
    for (const u of e.users) {
      const key = this.fold(u.nick);
      members.add(key);
      if (ch.members.has(key)) continue;
      void this.emit({
        type: 'room.member',
        at,
        roomId,
        userId: this.userId(u.nick),
        displayName: u.nick,
        membership: 'join',
        // A listing of who is there, sent on every (re)join: never announced as someone joining.
        live: false,
        ...(this.isSelf(u.nick) ? { self: true } : {}),
      });
    }
    ch.members = members;
  }

  private onUsersOnline(nicks: string[]): void {
    const online = nicks.filter((n) => n !== '');
    if (this.isonPending) {
      // ISON answers with the full list of the asked nicks that are online; the others are offline.
      this.isonPending = false;
      const on = new Set(online.map((n) => this.fold(n)));
      for (const [key, nick] of this.buddies)
        if (!on.has(key)) this.setPeerPresence(nick, { state: 'offline' });
    }
    for (const n of online) {
      const known = this.presence.get(this.fold(n));
      if (known !== undefined && !known.startsWith('offline')) continue;
      this.setPeerPresence(n, { state: 'available' });
      // MONITOR says nothing of away; WHOIS does (RPL_AWAY).
      this.writeSafe('WHOIS', [n]);
    }
  }

  private setPeerPresence(nick: string, presence: Presence, time?: number): void {
    const key = this.fold(nick);
    const sig = `${presence.state}\0${presence.status ?? ''}`;
    if (this.presence.get(key) === sig) return;
    this.presence.set(key, sig);
    void this.emit({
      type: 'presence',
      at: isoOf(time),
      userId: this.userId(nick),
      presence: { ...presence, since: isoOf(time) },
    });
  }

  private watch(nicks: string[]): void {
    if (nicks.length === 0 || !this.irc?.network.supports('MONITOR')) return;
    // Chunks that keep each MONITOR line well under the line limit.
    let chunk: string[] = [];
    const flush = (): void => {
      if (chunk.length > 0) this.writeSafe('MONITOR', ['+', chunk.join(',')]);
      chunk = [];
    };
    for (const n of nicks) {
      chunk.push(n);
      if (chunk.join(',').length > 300) flush();
    }
    flush();
  }

  private pollIson(): void {
    if (this.buddies.size === 0 || !this.registered) return;
    this.isonPending = true;
    this.writeSafe('ISON', [], [...this.buddies.values()].join(' '));
  }

  private addBuddy(nick: string): void {
    const key = this.fold(nick);
    if (this.buddies.has(key)) return;
    this.buddies.set(key, nick);
    this.unwatched.delete(key);
    void this.saveBuddies();
    if (this.registered) this.announceBuddy(nick);
    if (this.registered) {
      if (this.irc?.network.supports('MONITOR')) this.watch([nick]);
      else this.pollIson();
    }
  }

  private announceBuddy(nick: string): void {
    void this.emit({
      type: 'contact.upsert',
      at: isoOf(undefined),
      userId: this.userId(nick),
      displayName: nick,
    });
  }

  private async saveBuddies(): Promise<void> {
    try {
      await this.ctx.state.set(STATE_PEERS, [...this.buddies.values()]);
      await this.ctx.state.set(STATE_UNWATCHED, [...this.unwatched]);
    } catch (e) {
      this.ctx.logger.warn('could not save the buddy list', { error: errorText(e) });
    }
  }

  // ------------------------------------------------------------------------------------------------
  // Roster: the watched nicks and the people met in DMs

  async listContacts(): Promise<RosterContact[]> {
    return [...this.buddies.values()].map((nick) => ({ userId: this.userId(nick), displayName: nick }));
  }

  async addContact(userId: RemoteUserId): Promise<void> {
    const nick = this.checkTarget(nickOfUserId(userId), 'nick');
    if (isChannelName(nick, this.chanTypes()))
      throw new SendError(`${nick} is a channel, not a user`, false, 'not_a_user');
    this.addBuddy(nick);
  }

  async removeContact(userId: RemoteUserId): Promise<void> {
    const nick = this.checkTarget(nickOfUserId(userId), 'nick');
    const key = this.fold(nick);
    if (!this.buddies.delete(key)) return;
    // A nick from the account's `watch` option stays removed across reconnects.
    this.unwatched.add(key);
    this.presence.delete(key);
    await this.saveBuddies();
    if (this.registered && this.irc?.network.supports('MONITOR'))
      await this.writeLine('MONITOR', ['-', nick]);
  }

  // ------------------------------------------------------------------------------------------------
  // Outbound

  private requireConnected(): Client {
    const irc = this.irc;
    if (this.disposed || this.finished || !this.registered || !irc?.connected || this.ctx.signal.aborted)
      throw new SendError('not connected to the IRC server', true, 'disconnected');
    return irc;
  }

  /** Writes one line built by the serializer, through the flood-control queue. */
  private async writeLine(
    command: string,
    middle: readonly string[],
    trailing?: string,
    tags?: Record<string, string>,
    early = false,
  ): Promise<void> {
    let line: string;
    try {
      line = serializeLine(command, middle, trailing, tags);
    } catch (e) {
      if (e instanceof IrcLineError) throw new SendError(e.message, false, 'invalid_line');
      throw e;
    }
    await this.queue.push(() => {
      // requireConnected checked the socket; irc-framework's write returns nothing useful.
      const irc = early ? this.irc : this.requireConnected();
      if (!irc?.connected || this.disposed)
        throw new SendError('not connected to the IRC server', true, 'disconnected');
      irc.connection.write(line);
    });
  }

  /** For lines the adapter sends by itself: a failure is logged, never thrown into an event handler. */
  private writeSafe(command: string, middle: readonly string[], trailing?: string, early = false): void {
    this.writeLine(command, middle, trailing, undefined, early).catch((e: unknown) =>
      this.ctx.logger.debug(`could not send ${command}`, { error: errorText(e) }),
    );
  }

  private checkTarget(target: string, what: string): string {
    try {
      return checkMiddle(target, what);
    } catch (e) {
      throw new SendError(errorText(e), false, 'invalid_target');
    }
  }

  /** Our prefix as the server shows it, which counts against each line's length. */
  private selfPrefix(irc: Client): SelfPrefix {
    return {
      nick: irc.user.nick,
      ...(irc.user.username ? { user: irc.user.username } : {}),
      ...(irc.user.host ? { host: irc.user.host } : {}),
    };
  }

  async send(message: OutboundMessage): Promise<SendResult> {
    const earlier = this.sentByTransaction.get(message.transactionId);
    if (earlier) return earlier;
    let settle!: () => void;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    try {
      return await this.sendLines(message, settled);
    } finally {
      settle();
    }
  }

  private async sendLines(message: OutboundMessage, settled: Promise<void>): Promise<SendResult> {
    const irc = this.requireConnected();
    await this.rejoins.get(this.fold(targetOf(message)));
    const { target, command, kind, pieces } = renderOutbound(message, this.selfPrefix(irc));

    const caps = irc.network.cap;
    const echo = caps.isEnabled('echo-message');
    const labeled = echo && caps.isEnabled('labeled-response');
    const echoes: Promise<RemoteMessageId | SendError | undefined>[] = [];
    for (const piece of pieces) {
      const body = lineBody(kind, piece);
      const tags: Record<string, string> = {};
      if (echo) {
        let waiter!: EchoWaiter;
        const p = new Promise<RemoteMessageId | SendError | undefined>((resolve) => {
          waiter = {
            target,
            text: piece,
            transactionId: message.transactionId,
            resolve,
            settled,
          };
        });
        if (labeled) {
          const label = `sb${++this.labelSeq}`;
          tags.label = label;
          this.labelWaiters.set(label, waiter);
        } else this.echoFifo.push(waiter);
        echoes.push(p);
      }
      await this.writeLine(command, [target], body, tags);
    }
    const outcomes = echo ? await this.awaitEchoes(echoes) : [];
    const refused = outcomes.find((o): o is SendError => o instanceof SendError);
    if (refused) throw refused;
    // Someone we wrote to is on the buddy list (only once the server took the message).
    if (!isChannelName(target, this.chanTypes())) this.addBuddy(target);
    const ids = outcomes as (RemoteMessageId | undefined)[];
    const confirmed = echo && ids.every((id) => id !== undefined);
    const at = now();
    const result: SendResult = {
      messageIds: pieces.map(
        (p, i) =>
          ids[i] ??
          derivedMessageId({
            sender: this.fold(irc.user.nick),
            target: this.fold(target),
            at: `${at}#${i}`,
            text: p,
          }),
      ),
      confirmed,
    };
    this.sentByTransaction.set(message.transactionId, result);
    return result;
  }

  async findOwnSend(message: OutboundMessage, notBefore: string): Promise<RemoteMessageId[] | undefined> {
    const since = Date.parse(notBefore);
    if (Number.isNaN(since))
      throw new SendError(`notBefore ${JSON.stringify(notBefore)} is not an ISO 8601 time`, false, 'invalid');
    let target: string;
    try {
      target = targetOf(message);
    } catch {
      return undefined; // a target send() refuses was never sent
    }
    // Only channels have a replay (InspIRCd's +H); a DM has none.
    if (!isChannelName(target, this.chanTypes())) return undefined;
    const room = this.fold(target);
    if (!this.replays.isSettled(room)) {
      if (this.disposed || this.finished) return undefined;
      // Connected, all rejoins through, and not one of our channels: no replay will come.
      if (this.registered && !this.channels.has(room) && !this.rejoins.has(room)) return undefined;
      await this.replays.whenSettled(room, SENT_CHECK_WAIT_MS);
      // One wait per join: a backlog of probes after a restart must not wait 5 s each.
      if (!this.replays.isSettled(room)) this.replays.giveUp(room);
    }
    const irc = this.irc;
    if (!irc) return undefined;
    let wanted: RenderedMessage;
    try {
      wanted = renderOutbound(message, this.selfPrefix(irc));
    } catch {
      return undefined; // empty: send() refuses it too
    }
    return this.replays.claim(room, wanted, since);
  }

  private async awaitEchoes(
    echoes: Promise<RemoteMessageId | SendError | undefined>[],
  ): Promise<(RemoteMessageId | SendError | undefined)[]> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), ECHO_TIMEOUT_MS);
    });
    const out: (RemoteMessageId | SendError | undefined)[] = [];
    try {
      for (const e of echoes) {
        const r = await Promise.race([e, timeout]);
        out.push(r === 'timeout' ? undefined : r);
      }
    } finally {
      clearTimeout(timer);
    }
    return out;
  }

  async setPresence(presence: Presence): Promise<void> {
    this.requireConnected();
    if (presence.state === 'unknown') return;
    if (presence.state === 'available') return this.writeLine('AWAY', []);
    const fallback = presence.state === 'busy' ? 'busy' : presence.state === 'offline' ? 'offline' : 'away';
    const status = flattenText(presence.status ?? '').trim() || fallback;
    const awayLen = Number(this.irc?.network.supports('AWAYLEN')) || 200;
    await this.writeLine('AWAY', [], splitText(status, Math.min(awayLen, 400))[0] ?? fallback);
  }

  /** Changes the nick. A nick that holds a space, CR, LF or NUL is refused before anything is sent. */
  async setNick(nick: string): Promise<void> {
    this.requireConnected();
    await this.writeLine('NICK', [this.checkTarget(nick, 'nick')]);
  }

  async joinRoom(address: string): Promise<RoomSummary> {
    this.requireConnected();
    const name = this.checkTarget(
      isChannelName(address, this.chanTypes()) ? address : `#${address}`,
      'channel',
    );
    const key = this.fold(name);
    if (this.channels.get(key)?.members.has(this.fold(this.nick)))
      return {
        roomId: roomIdOf(name, this.caseMapping()),
        kind: 'group',
        title: this.channels.get(key)!.name,
      };
    const joined = new Promise<void>((resolve, reject) => this.joinWaiters.set(key, { resolve, reject }));
    await this.writeLine('JOIN', [name]);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        joined,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new SendError(`no answer to JOIN ${name}`, true, 'timeout')),
            JOIN_TIMEOUT_MS,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
      this.joinWaiters.delete(key);
    }
    this.ensureChannel(name);
    await this.saveChannels();
    return { roomId: roomIdOf(name, this.caseMapping()), kind: 'group', title: name };
  }

  async leaveRoom(roomId: RemoteRoomId): Promise<void> {
    this.requireConnected();
    const name = this.checkTarget(roomId, 'channel');
    if (!isChannelName(name, this.chanTypes())) {
      // A DM has nothing to leave on IRC; forget the peer.
      return;
    }
    await this.writeLine('PART', [this.channels.get(this.fold(name))?.name ?? name]);
    this.channels.delete(this.fold(name));
    await this.saveChannels();
  }

  async openDirect(userId: RemoteUserId): Promise<RoomSummary> {
    this.requireConnected();
    const nick = this.checkTarget(nickOfUserId(userId), 'nick');
    if (isChannelName(nick, this.chanTypes()))
      throw new SendError(`${nick} is a channel, not a user`, false, 'not_a_user');
    this.addBuddy(nick);
    return { roomId: roomIdOf(nick, this.caseMapping()), kind: 'direct', title: nick };
  }

  async listRooms(): Promise<RoomSummary[]> {
    return [...this.channels.values()].map((c) => ({
      roomId: toRoomId(this.fold(c.name)),
      kind: 'group' as const,
      title: c.name,
    }));
  }

  async setTopic(roomId: RemoteRoomId, topic: string): Promise<void> {
    this.requireConnected();
    const name = this.checkTarget(roomId, 'channel');
    const topicLen = Number(this.irc?.network.supports('TOPICLEN')) || 300;
    const text = splitText(flattenText(topic), Math.min(topicLen, 400))[0] ?? '';
    await this.writeLine('TOPIC', [this.channels.get(this.fold(name))?.name ?? name], text);
  }
}
