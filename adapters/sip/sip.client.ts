import dgram from 'node:dgram';
import { randomBytes, randomUUID } from 'node:crypto';
import * as sip from 'sip';
import * as digest from 'sip/digest';
import {
  type CallId,
  type CallOffer,
  type ClientContext,
  type ConnectionStatus,
  type NetworkClient,
  type OutboundMessage,
  RemoteMessageId,
  RemoteRoomId,
  RemoteUserId,
  type RosterCapable,
  type RosterContact,
  SendError,
  type SendResult,
  type VoiceCapable,
} from '@switchboard/sdk';
import { aorOf, parseRegistrar, type SipOptions } from './sip.options';

type HangupReason = 'hangup' | 'rejected' | 'busy' | 'no_answer' | 'failed';

/** One call's SIP dialog, keyed by its Call-ID (which is also the SDK's CallId). */
interface Dialog {
  callId: string;
  direction: 'out' | 'in';
  localTag: string;
  remoteTag?: string;
  /** The far end's Contact: where in-dialog requests go. */
  remoteTarget?: string;
  routeSet: sip.NameAddr[];
  localUri: string;
  remoteUri: string;
  cseq: number;
  state: 'calling' | 'early' | 'confirmed' | 'ended';
  /** Our INVITE as sent (for CANCEL), or theirs as received (to answer it). */
  invite?: sip.SipRequest;
  cancelled?: boolean;
}

const tag = (): string => randomBytes(6).toString('hex');

/** What a final INVITE failure means as a call end (RFC 3261 status codes). */
export function endReasonOf(status: number): HangupReason {
  if (status === 486 || status === 600) return 'busy';
  if (status === 603 || status === 403) return 'rejected';
  if (status === 408 || status === 480 || status === 487) return 'no_answer';
  return 'failed';
}

/** The status we answer an INVITE with when the user turns it down. */
function statusFor(reason: HangupReason): [number, string] {
  switch (reason) {
    case 'busy':
      return [486, 'Busy Here'];
    case 'rejected':
      return [603, 'Decline'];
    case 'no_answer':
      return [480, 'Temporarily Unavailable'];
    default:
      return [500, 'Server Internal Error'];
  }
}

/**
 * A SIP user agent on the `sip` package: REGISTER (digest auth) keeps the account reachable, MESSAGE
 * carries text, OPTIONS probes contacts, INVITE/ACK/BYE/CANCEL carry calls whose SDP the gateway writes
 * (the adapter only signals; media is the gateway's RTP leg).
 */
export class SipClient implements NetworkClient, VoiceCapable, RosterCapable {
  private current: ConnectionStatus = { state: 'connecting' };
  private stack?: sip.SipStack;
  private localPort = 0;
  private readonly registrar: { host: string; port: number };
  private readonly domain: string;
  private readonly aor: string;
  private regCallId = randomUUID();
  private regCseq = 1;
  private regTimer?: NodeJS.Timeout;
  private keepaliveTimer?: NodeJS.Timeout;
  private closed = false;
  private readonly dialogs = new Map<string, Dialog>();
  private auth?: digest.DigestContext;

  constructor(
    private readonly options: SipOptions,
    private readonly ctx: ClientContext,
  ) {
    this.registrar = parseRegistrar(options.registrar);
    this.aor = aorOf(options.uri);
    this.domain = this.aor.replace(/^.*@/, '');
  }

  get status(): ConnectionStatus {
    return this.current;
  }

  private setStatus(s: ConnectionStatus): void {
    if (this.closed) return;
    this.current = s;
    void this.ctx.emit({ type: 'connection.state', at: new Date().toISOString(), status: s });
  }

  private emit(event: Parameters<ClientContext['emit']>[0]): void {
    if (this.closed) return;
    this.ctx.emit(event).catch((err: unknown) => this.ctx.logger.warn('emit failed', { err }));
  }

  // ---- connection ----

  async connect(): Promise<void> {
    this.setStatus({ state: 'connecting' });
    if (this.registrar.host === this.options.localAddress) {
      // The `sip` package reads a route to its own host as one of its flow tokens and cannot send it.
      this.setStatus({
        state: 'error',
        message:
          `localAddress ${this.options.localAddress} is the registrar's own address; bind SIP to another ` +
          'local address (on one machine, 127.0.0.2 next to a proxy on 127.0.0.1)',
        code: 'same_host',
        retryable: false,
      });
      return;
    }
    try {
      this.localPort = this.options.localPort ?? (await freeUdpPort(this.options.localAddress));
      this.stack = sip.create(
        {
          address: this.options.localAddress,
          port: this.localPort,
          udp: this.options.transport === 'udp',
          tcp: this.options.transport === 'tcp',
          logger: { error: (e: unknown) => this.ctx.logger.debug('sip stack error', { err: e }) },
        },
        (rq) => this.onRequest(rq),
      );
    } catch (err) {
      this.setStatus({
        state: 'error',
        message: `could not open the SIP socket: ${String(err)}`,
        code: 'socket',
        retryable: true,
      });
      return;
    }
    await this.register();
  }

  private contact(): sip.NameAddr[] {
    const user = this.aor.replace(/^sips?:/, '').replace(/@.*$/, '');
    const transport = this.options.transport === 'tcp' ? ';transport=tcp' : '';
    return [{ uri: `sip:${user}@${this.options.localAddress}:${this.localPort}${transport}`, params: {} }];
  }

  private proxyRoute(): sip.NameAddr[] {
    const transport = this.options.transport === 'tcp' ? ';transport=tcp' : '';
    return [{ uri: `sip:${this.registrar.host}:${this.registrar.port};lr${transport}`, params: {} }];
  }

  private async register(expires = this.options.expires): Promise<void> {
    const rq = (): sip.SipRequest => ({
      method: 'REGISTER',
      uri: `sip:${this.domain}`,
      headers: {
        to: { uri: this.aor, params: {} },
        from: { uri: this.aor, params: { tag: tag() } },
        'call-id': this.regCallId,
        cseq: { method: 'REGISTER', seq: this.regCseq++ },
        contact: this.contact(),
        expires,
        route: this.proxyRoute(),
        'max-forwards': 70,
      },
    });
    const rs = await this.request(rq);
    if (expires === 0) return;
    if (rs.status >= 200 && rs.status < 300) {
      const granted = Number(rs.headers.expires ?? expires) || expires;
      if (this.regTimer) clearTimeout(this.regTimer);
      // Refresh well before the binding lapses.
      this.regTimer = setTimeout(() => void this.register(), Math.max(10, granted * 0.8) * 1000);
      this.regTimer.unref();
      this.startKeepalive();
      if (this.current.state !== 'connected') this.setStatus({ state: 'connected' });
      return;
    }
    if (rs.status === 401 || rs.status === 403 || rs.status === 407)
      this.setStatus({
        state: 'bad_credentials',
        message: `the registrar refused our credentials (${rs.status} ${rs.reason})`,
        code: `sip_${rs.status}`,
        retryable: false,
      });
    else
      this.setStatus({
        state: 'transient_disconnect',
        message: `registration failed: ${rs.status} ${rs.reason}`,
        code: `sip_${rs.status}`,
        retryable: true,
      });
  }

  private startKeepalive(): void {
    if (this.keepaliveTimer) return;
    this.keepaliveTimer = setInterval(() => void this.keepalive(), this.options.keepaliveSeconds * 1000);
    this.keepaliveTimer.unref();
  }

  /** One OPTIONS to the registrar; any final answer proves the path, silence ends the connection. */
  private async keepalive(): Promise<void> {
    if (this.closed || this.current.state !== 'connected') return;
    const callId = randomUUID();
    const uri = `sip:${this.registrar.host}:${this.registrar.port}`;
    let timer: NodeJS.Timeout | undefined;
    const answered = await Promise.race([
      this.request(() => ({
        method: 'OPTIONS',
        uri,
        headers: {
          to: { uri, params: {} },
          from: { uri: this.aor, params: { tag: tag() } },
          'call-id': callId,
          cseq: { method: 'OPTIONS', seq: 1 },
          'max-forwards': 70,
        },
      })).then((rs) => rs.status !== 408 && rs.status !== 503),
      new Promise<false>((r) => (timer = setTimeout(() => r(false), 5000))),
    ]);
    clearTimeout(timer);
    if (answered || this.closed || this.current.state !== 'connected') return;
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = undefined;
    this.setStatus({
      state: 'transient_disconnect',
      message: `the registrar ${this.registrar.host}:${this.registrar.port} did not answer a keepalive`,
      code: 'keepalive_timeout',
      retryable: true,
    });
  }

  async disconnect(): Promise<void> {
    if (this.closed) return;
    if (this.regTimer) clearTimeout(this.regTimer);
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer);
    for (const d of [...this.dialogs.values()])
      await this.hangup(d.callId as CallId, 'hangup').catch(() => {});
    if (this.stack && this.current.state === 'connected') {
      // Unregister, but a registrar that does not answer must not hold the logout up.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.register(0), new Promise((r) => (timer = setTimeout(r, 2000)))]);
      clearTimeout(timer);
    }
    this.closed = true;
    this.current = { state: 'logged_out' };
    this.stack?.destroy();
    this.stack = undefined;
  }

  /**
   * Sends a request (built afresh for each attempt, as the stack adds its own Via) and resolves with its
   * final response; a 401/407 challenge is answered once with digest credentials.
   */
  private request(
    build: () => sip.SipRequest,
    onProvisional?: (rs: sip.SipResponse) => void,
    onSent?: (rq: sip.SipRequest) => void,
  ): Promise<sip.SipResponse> {
    return new Promise((resolve) => {
      const attempt = (challenge?: sip.SipResponse): void => {
        const stack = this.stack;
        if (!stack) {
          resolve({ status: 503, reason: 'Not connected', headers: {} as sip.SipHeaders });
          return;
        }
        const rq = build();
        if (challenge) {
          this.auth = {};
          digest.signRequest(this.auth, rq, challenge, {
            user: this.options.username,
            password: this.options.password,
          });
        }
        stack.send(rq, (rs) => {
          if (rs.status < 200) return onProvisional?.(rs);
          if ((rs.status === 401 || rs.status === 407) && !challenge) return attempt(rs);
          resolve(rs);
        });
        onSent?.(rq);
      };
      attempt();
    });
  }

  // ---- text ----

  async send(message: OutboundMessage): Promise<SendResult> {
    if (this.current.state !== 'connected') throw new SendError('not connected', true, 'disconnected');
    const to = aorOf(message.roomId);
    const callId = randomUUID();
    let seq = 1;
    const rs = await this.request(() => ({
      method: 'MESSAGE',
      uri: to,
      headers: {
        to: { uri: to, params: {} },
        from: { uri: this.aor, params: { tag: tag() } },
        'call-id': callId,
        cseq: { method: 'MESSAGE', seq: seq++ },
        route: this.proxyRoute(),
        'content-type': 'text/plain;charset=utf-8',
        'max-forwards': 70,
      },
      content: toWire(message.text),
    }));
    if (rs.status >= 200 && rs.status < 300)
      return { messageIds: [RemoteMessageId(callId)], confirmed: true };
    // 480: the user exists but no device is registered now (a phone restarting, a registrar that just
    // came back): the outbox keeps the message and tries again, as for timeouts and server errors.
    const retryable = rs.status === 408 || rs.status === 480 || rs.status >= 500;
    throw new SendError(`MESSAGE refused: ${rs.status} ${rs.reason}`, retryable, `sip_${rs.status}`);
  }

  // ---- contacts (OPTIONS probes) ----

  async listContacts(): Promise<RosterContact[]> {
    const list = (await this.ctx.state.get<string[]>('contacts')) ?? [];
    return list.map((u) => ({ userId: RemoteUserId(u) }));
  }

  async addContact(userId: RemoteUserId): Promise<void> {
    const uri = aorOf(userId);
    const list = new Set((await this.ctx.state.get<string[]>('contacts')) ?? []);
    list.add(uri);
    await this.ctx.state.set('contacts', [...list]);
    await this.probe(uri);
  }

  async removeContact(userId: RemoteUserId): Promise<void> {
    const uri = aorOf(userId);
    const list = ((await this.ctx.state.get<string[]>('contacts')) ?? []).filter((u) => u !== uri);
    await this.ctx.state.set('contacts', list);
    this.emit({ type: 'contact.remove', at: new Date().toISOString(), userId: RemoteUserId(uri) });
  }

  /** OPTIONS to a contact: a 200 means a registered device answered, so it can take calls now. */
  async probe(uri: string): Promise<void> {
    const callId = randomUUID();
    let seq = 1;
    const rs = await this.request(() => ({
      method: 'OPTIONS',
      uri,
      headers: {
        to: { uri, params: {} },
        from: { uri: this.aor, params: { tag: tag() } },
        'call-id': callId,
        cseq: { method: 'OPTIONS', seq: seq++ },
        route: this.proxyRoute(),
        accept: 'application/sdp',
        'max-forwards': 70,
      },
    }));
    const ok = rs.status >= 200 && rs.status < 300;
    const codecs = ok && rs.content ? codecsInSdp(rs.content) : [];
    this.emit({
      type: 'contact.upsert',
      at: new Date().toISOString(),
      userId: RemoteUserId(uri),
      capabilities: { ...(ok ? { voice: true } : {}), registered: ok, ...(codecs.length ? { codecs } : {}) },
    });
  }

  // ---- calls ----

  async placeCall(offer: CallOffer): Promise<void> {
    if (offer.media !== 'audio') throw new Error('SIP calls here carry audio only');
    const to = aorOf(offer.to);
    const d: Dialog = {
      callId: offer.callId,
      direction: 'out',
      localTag: tag(),
      routeSet: [],
      localUri: this.aor,
      remoteUri: to,
      cseq: 0,
      state: 'calling',
    };
    this.dialogs.set(d.callId, d);
    const rs = await this.request(
      () => ({
        method: 'INVITE',
        uri: to,
        headers: {
          to: { uri: to, params: {} },
          from: { uri: this.aor, params: { tag: d.localTag } },
          'call-id': d.callId,
          cseq: { method: 'INVITE', seq: ++d.cseq },
          contact: this.contact(),
          route: this.proxyRoute(),
          'content-type': 'application/sdp',
          'max-forwards': 70,
        },
        content: offer.sdp,
      }),
      (prov) => {
        if (prov.status === 180 || prov.status === 183) {
          if (d.state === 'calling') {
            d.state = 'early';
            this.signal(d, 'ringing', {});
          }
        }
      },
      (sent) => (d.invite = sent),
    );
    if (rs.status >= 200 && rs.status < 300) {
      d.remoteTag = rs.headers.to.params.tag ?? undefined;
      const contact = Array.isArray(rs.headers.contact) ? rs.headers.contact[0]?.uri : undefined;
      d.remoteTarget = contact ?? to;
      d.routeSet = [...(rs.headers['record-route'] ?? [])].reverse();
      this.ack(d, rs);
      if (d.cancelled || d.state === 'ended') {
        // Answered while we were cancelling: the call is over for us, so end the dialog at once.
        d.state = 'confirmed';
        await this.bye(d);
        return;
      }
      d.state = 'confirmed';
      this.signal(d, 'answer', { sdp: rs.content ?? '' });
      return;
    }
    this.dialogs.delete(d.callId);
    if (d.cancelled) return; // our own CANCEL: the gateway already knows
    this.signal(d, 'reject', { reason: endReasonOf(rs.status) });
  }

  async answerCall(callId: CallId, sdp: string): Promise<void> {
    const d = this.dialogs.get(callId);
    if (!d || d.direction !== 'in' || !d.invite || d.state === 'ended')
      throw new Error(`no incoming call ${callId} to answer`);
    const rs = sip.makeResponse(d.invite, 200, 'OK');
    rs.headers.to.params.tag = d.localTag;
    rs.headers.contact = this.contact();
    rs.headers['content-type'] = 'application/sdp';
    if (d.invite.headers['record-route']) rs.headers['record-route'] = d.invite.headers['record-route'];
    rs.content = sdp;
    d.state = 'confirmed';
    this.stack?.send(rs);
  }

  sendCandidates(): Promise<void> {
    // Plain SIP carries its one address in the SDP; there are no trickled candidates.
    return Promise.resolve();
  }

  async hangup(callId: CallId, reason: HangupReason): Promise<void> {
    const d = this.dialogs.get(callId);
    if (!d || d.state === 'ended') return;
    if (d.state === 'confirmed') {
      await this.bye(d);
      return;
    }
    if (d.direction === 'in' && d.invite) {
      const [code, text] = statusFor(reason);
      const rs = sip.makeResponse(d.invite, code, text);
      rs.headers.to.params.tag = d.localTag;
      this.stack?.send(rs);
      d.state = 'ended';
      this.dialogs.delete(d.callId);
      return;
    }
    // Our INVITE has no final answer yet: CANCEL it (same Via branch, RFC 3261 §9.1).
    d.cancelled = true;
    const inv = d.invite;
    if (!inv || !this.stack) return;
    const cancel: sip.SipRequest = {
      method: 'CANCEL',
      uri: inv.uri,
      headers: {
        to: inv.headers.to,
        from: inv.headers.from,
        'call-id': inv.headers['call-id'],
        cseq: { method: 'CANCEL', seq: inv.headers.cseq.seq },
        via: inv.headers.via,
        route: inv.headers.route,
        'max-forwards': 70,
      },
    };
    this.stack.send(cancel, () => undefined);
  }

  private async bye(d: Dialog): Promise<void> {
    d.state = 'ended';
    this.dialogs.delete(d.callId);
    const target = d.remoteTarget ?? d.remoteUri;
    const seq = ++d.cseq;
    await this.request(() => ({
      method: 'BYE',
      uri: target,
      headers: {
        to: { uri: d.remoteUri, params: d.remoteTag ? { tag: d.remoteTag } : {} },
        from: { uri: d.localUri, params: { tag: d.localTag } },
        'call-id': d.callId,
        cseq: { method: 'BYE', seq },
        ...(d.routeSet.length ? { route: d.routeSet } : {}),
        'max-forwards': 70,
      },
    }));
  }

  private ack(d: Dialog, rs: sip.SipResponse): void {
    this.stack?.send({
      method: 'ACK',
      uri: d.remoteTarget ?? d.remoteUri,
      headers: {
        to: rs.headers.to,
        from: rs.headers.from,
        'call-id': d.callId,
        cseq: { method: 'ACK', seq: rs.headers.cseq.seq },
        via: [],
        ...(d.routeSet.length ? { route: d.routeSet } : {}),
        'max-forwards': 70,
      },
    });
  }

  private signal(
    d: Dialog,
    signal: 'invite' | 'ringing' | 'answer' | 'hangup' | 'reject',
    extra: { sdp?: string; reason?: string },
  ): void {
    this.emit({
      type: 'call.signal',
      at: new Date().toISOString(),
      callId: d.callId as CallId,
      from: RemoteUserId(d.remoteUri),
      signal,
      ...extra,
    });
  }

  // ---- what arrives ----

  private onRequest(rq: sip.SipRequest): void {
    if (this.closed || !this.stack) return;
    const stack = this.stack;
    const reply = (status: number, reason: string, mutate?: (rs: sip.SipResponse) => void): void => {
      const rs = sip.makeResponse(rq, status, reason);
      mutate?.(rs);
      stack.send(rs);
    };
    try {
      switch (rq.method) {
        case 'OPTIONS':
          return reply(200, 'OK', (rs) => {
            rs.headers.allow = 'INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE';
            rs.headers.accept = 'application/sdp, text/plain';
          });
        case 'MESSAGE':
          return this.onMessage(rq, reply);
        case 'INVITE':
          return this.onInvite(rq, reply);
        case 'ACK':
          return;
        case 'BYE': {
          const d = this.dialogs.get(rq.headers['call-id']);
          reply(d ? 200 : 481, d ? 'OK' : 'Call/Transaction Does Not Exist');
          if (d) {
            d.state = 'ended';
            this.dialogs.delete(d.callId);
            this.signal(d, 'hangup', { reason: 'hangup' });
          }
          return;
        }
        case 'CANCEL': {
          const d = this.dialogs.get(rq.headers['call-id']);
          reply(200, 'OK');
          if (d && d.direction === 'in' && d.invite && d.state !== 'confirmed') {
            const rs = sip.makeResponse(d.invite, 487, 'Request Terminated');
            rs.headers.to.params.tag = d.localTag;
            stack.send(rs);
            d.state = 'ended';
            this.dialogs.delete(d.callId);
            this.signal(d, 'hangup', { reason: 'cancelled' });
          }
          return;
        }
        default:
          return reply(405, 'Method Not Allowed', (rs) => {
            rs.headers.allow = 'INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE';
          });
      }
    } catch (err) {
      this.ctx.logger.warn('could not handle a SIP request', { method: rq.method, err });
      reply(500, 'Server Internal Error');
    }
  }

  private onMessage(rq: sip.SipRequest, reply: (s: number, r: string) => void): void {
    const type = String(rq.headers['content-type'] ?? 'text/plain').toLowerCase();
    if (!type.startsWith('text/plain')) return reply(415, 'Unsupported Media Type');
    reply(200, 'OK');
    const from = aorOf(rq.headers.from.uri);
    const at = new Date().toISOString();
    this.emit({
      type: 'message',
      at,
      roomId: RemoteRoomId(from),
      roomKind: 'direct',
      messageId: RemoteMessageId(`${rq.headers['call-id']}:${rq.headers.cseq.seq}`),
      sender: {
        userId: RemoteUserId(from),
        ...(rq.headers.from.name ? { displayName: rq.headers.from.name.replace(/^"|"$/g, '') } : {}),
      },
      kind: 'text',
      text: fromWire(rq.content ?? ''),
    });
  }

  private onInvite(
    rq: sip.SipRequest,
    reply: (s: number, r: string, m?: (rs: sip.SipResponse) => void) => void,
  ): void {
    const callId = rq.headers['call-id'];
    if (rq.headers.to.params.tag) {
      // A re-INVITE (hold, session refresh): keep the session as it is.
      return reply(488, 'Not Acceptable Here');
    }
    if (this.dialogs.has(callId)) return; // a retransmission
    const d: Dialog = {
      callId,
      direction: 'in',
      localTag: tag(),
      remoteTag: rq.headers.from.params.tag ?? undefined,
      remoteTarget: Array.isArray(rq.headers.contact) ? rq.headers.contact[0]?.uri : undefined,
      routeSet: [...(rq.headers['record-route'] ?? [])],
      localUri: this.aor,
      remoteUri: aorOf(rq.headers.from.uri),
      cseq: 0,
      state: 'early',
      invite: rq,
    };
    this.dialogs.set(callId, d);
    reply(180, 'Ringing', (rs) => {
      rs.headers.to.params.tag = d.localTag;
    });
    this.signal(d, 'invite', { sdp: rq.content ?? '' });
  }
}

/** The `sip` package handles bodies as byte strings (latin1): UTF-8 text is converted at the boundary. */
const toWire = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');
const fromWire = (bytes: string): string => Buffer.from(bytes, 'latin1').toString('utf8');

/** Codec names (rtpmap) of an SDP body, without a full parse: OPTIONS answers only need the list. */
export function codecsInSdp(sdp: string): string[] {
  const out: string[] = [];
  for (const m of sdp.matchAll(/^a=rtpmap:\d+ ([^/\s]+)\//gm)) if (!out.includes(m[1]!)) out.push(m[1]!);
  if (/^m=audio \d+ RTP\/AVP(?: \d+)*? 0(?: |$)/m.test(sdp) && !out.includes('PCMU')) out.push('PCMU');
  return out;
}

/** A free UDP port on `address` (bound with port 0 and released), for the SIP stack's socket. */
function freeUdpPort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(0, address, () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}
