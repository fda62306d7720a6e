import xml from '@xmpp/xml';
import * as sdpTransform from 'sdp-transform';
import { type CallId, CallId as toCallId, type RemoteEvent, RemoteUserId } from '@switchboard/sdk';
import { jingleToSdp, NS, sdpToJingle } from './xmpp-jingle.mapper';

type Element = xml.Element;
type HangupReason = 'hangup' | 'rejected' | 'busy' | 'no_answer' | 'failed';

export const NS_JMI = 'urn:xmpp:jingle-message:0';
export const NS_RTP_INFO = 'urn:xmpp:jingle:apps:rtp:info:1';

/** The disco features a client that takes calls advertises (XEP-0166/0167/0176/0320/0353). */
export const JINGLE_FEATURES = [
  NS.jingle,
  NS.rtp,
  'urn:xmpp:jingle:apps:rtp:audio',
  'urn:xmpp:jingle:apps:rtp:video',
  NS.iceUdp,
  NS.dtls,
  NS_JMI,
] as const;

export interface JingleDeps {
  /** Our full JID while online. */
  self(): string | undefined;
  /** An IQ of type set; resolves with the result, rejects on an error reply or timeout. */
  sendIq(to: string, child: Element): Promise<unknown>;
  /** A message stanza (Jingle Message Initiation). */
  sendMessage(to: string, child: Element): Promise<void>;
  emit(event: RemoteEvent): void;
}

interface Session {
  sid: string;
  /** Whom we talk to: a bare JID until a JMI proceed names the device, then its full JID. */
  peer: string;
  role: 'initiator' | 'responder';
  state: 'proposed' | 'pending' | 'active' | 'ended';
  media: 'audio' | 'video';
  /** Our offer, kept until a device proceeds (JMI). */
  offer?: string;
  rang?: boolean;
}

const REASON_TO_JINGLE: Record<HangupReason, string> = {
  hangup: 'success',
  rejected: 'decline',
  busy: 'busy',
  no_answer: 'timeout',
  failed: 'failed-application',
};
const REASON_FROM_JINGLE: Record<string, HangupReason> = {
  success: 'hangup',
  gone: 'hangup',
  decline: 'rejected',
  busy: 'busy',
  timeout: 'no_answer',
  'connectivity-error': 'failed',
  'failed-application': 'failed',
  'failed-transport': 'failed',
  'incompatible-parameters': 'failed',
  'media-error': 'failed',
  'security-error': 'failed',
  'unsupported-applications': 'failed',
  'unsupported-transports': 'failed',
  'general-error': 'failed',
};

const bare = (jid: string): string => jid.split('/')[0]!;
const now = (): string => new Date().toISOString();

/**
 * Calls over XMPP: Jingle sessions (XEP-0166, RTP XEP-0167, ICE-UDP XEP-0176, DTLS XEP-0320) started with
 * Jingle Message Initiation (XEP-0353) when only the bare JID is known. The SDP is the gateway's or the web
 * client's; xmpp-jingle.mapper.ts converts it. The session id (sid) is the SDK's CallId: ours for
 * outgoing calls, the caller's for incoming ones. The client feeds `handleMessage` / `handleJingle` with
 * what arrives and exposes the VoiceCapable methods from here.
 */
export class JingleCalls {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly deps: JingleDeps) {}

  private signal(
    s: Session,
    signal: 'invite' | 'ringing' | 'answer' | 'candidates' | 'hangup' | 'reject',
    extra: Partial<Extract<RemoteEvent, { type: 'call.signal' }>> = {},
  ): void {
    this.deps.emit({
      type: 'call.signal',
      at: now(),
      callId: toCallId(s.sid),
      from: RemoteUserId(bare(s.peer)),
      signal,
      ...extra,
    });
  }

  private jingle(action: string, s: Session, ...children: Element[]): Element {
    const self = this.deps.self() ?? '';
    return xml(
      'jingle',
      {
        xmlns: NS.jingle,
        action,
        sid: s.sid,
        ...(action === 'session-initiate' ? { initiator: self } : {}),
        ...(action === 'session-accept' ? { responder: self } : {}),
      },
      ...children,
    );
  }

  private async initiate(s: Session): Promise<void> {
    s.state = 'pending';
    await this.deps.sendIq(s.peer, this.jingle('session-initiate', s, ...sdpToJingle(s.offer!, 'initiator')));
    delete s.offer;
  }

  // ---- VoiceCapable ----

  async placeCall(offer: {
    callId: CallId;
    to: string;
    media: 'audio' | 'video';
    sdp: string;
  }): Promise<void> {
    const s: Session = {
      sid: offer.callId,
      peer: offer.to,
      role: 'initiator',
      state: 'proposed',
      media: offer.media,
      offer: offer.sdp,
    };
    this.sessions.set(s.sid, s);
    // A full JID names the device: start the session. A bare JID: ask the person's devices first.
    if (offer.to.includes('/')) return this.initiate(s);
    await this.deps.sendMessage(
      offer.to,
      xml('propose', { xmlns: NS_JMI, id: s.sid }, xml('description', { xmlns: NS.rtp, media: offer.media })),
    );
  }

  async answerCall(callId: CallId, sdp: string): Promise<void> {
    const s = this.sessions.get(callId);
    if (!s || s.role !== 'responder' || s.state !== 'pending')
      throw new Error(`no Jingle call ${callId} to answer`);
    s.state = 'active';
    await this.deps.sendIq(s.peer, this.jingle('session-accept', s, ...sdpToJingle(sdp, 'responder')));
  }

  async sendCandidates(
    callId: CallId,
    candidates: { candidate: string; sdpMid?: string; sdpMLineIndex?: number }[],
  ): Promise<void> {
    const s = this.sessions.get(callId);
    if (!s || s.state === 'ended' || !s.peer.includes('/')) return;
    const byContent = new Map<string, Element[]>();
    for (const c of candidates) {
      const line = c.candidate.startsWith('a=') ? c.candidate : `a=${c.candidate}`;
      const parsed = sdpTransform.parse(`v=0\r\nm=audio 9 RTP/AVP 0\r\n${line}\r\n`).media[0]
        ?.candidates?.[0];
      if (!parsed) continue;
      const name = c.sdpMid ?? String(c.sdpMLineIndex ?? 0);
      const list = byContent.get(name) ?? [];
      list.push(
        xml('candidate', {
          component: parsed.component,
          foundation: parsed.foundation,
          generation: parsed.generation ?? 0,
          id: `${name}-t${list.length}`,
          ip: parsed.ip,
          network: 0,
          port: parsed.port,
          priority: parsed.priority,
          protocol: parsed.transport.toLowerCase(),
          type: parsed.type,
          ...(parsed.raddr !== undefined ? { 'rel-addr': parsed.raddr } : {}),
          ...(parsed.rport !== undefined ? { 'rel-port': parsed.rport } : {}),
        }),
      );
      byContent.set(name, list);
    }
    if (byContent.size === 0) return;
    await this.deps.sendIq(
      s.peer,
      this.jingle(
        'transport-info',
        s,
        ...[...byContent].map(([name, cands]) =>
          xml('content', { creator: 'initiator', name }, xml('transport', { xmlns: NS.iceUdp }, ...cands)),
        ),
      ),
    );
  }

  async hangup(callId: CallId, reason: HangupReason): Promise<void> {
    const s = this.sessions.get(callId);
    if (!s || s.state === 'ended') return;
    const was = s.state;
    s.state = 'ended';
    this.sessions.delete(s.sid);
    if (was === 'proposed') {
      // No session yet: withdraw our proposal, or turn theirs down.
      const el = s.role === 'initiator' ? 'retract' : 'reject';
      await this.deps.sendMessage(bare(s.peer), xml(el, { xmlns: NS_JMI, id: s.sid }));
      return;
    }
    await this.deps.sendIq(
      s.peer,
      this.jingle('session-terminate', s, xml('reason', {}, xml(REASON_TO_JINGLE[reason]))),
    );
  }

  // ---- what arrives ----

  /** A message stanza: true when it was Jingle Message Initiation (and so is not a chat message). */
  handleMessage(stanza: Element): boolean {
    const from = stanza.attrs.from;
    const jmi = stanza.getChildElements().find((c) => c.getNS() === NS_JMI || c.attrs.xmlns === NS_JMI);
    if (!jmi || !from) return false;
    const sid = jmi.attrs.id;
    if (!sid) return true;
    const s = this.sessions.get(sid);
    switch (jmi.name) {
      case 'propose': {
        if (s) return true;
        const media = jmi.getChild('description', NS.rtp)?.attrs.media === 'video' ? 'video' : 'audio';
        // The gateway is one device: it proceeds at once and surfaces the call when the offer arrives.
        this.sessions.set(sid, { sid, peer: from, role: 'responder', state: 'proposed', media });
        void this.deps
          .sendMessage(from, xml('proceed', { xmlns: NS_JMI, id: sid }))
          .catch(() => this.sessions.delete(sid));
        return true;
      }
      case 'ringing':
        if (s?.role === 'initiator' && !s.rang) {
          s.rang = true;
          this.signal(s, 'ringing');
        }
        return true;
      case 'proceed':
        if (s?.role === 'initiator' && s.state === 'proposed') {
          s.peer = from;
          if (!s.rang) {
            s.rang = true;
            this.signal(s, 'ringing');
          }
          void this.initiate(s).catch(() => {
            s.state = 'ended';
            this.sessions.delete(sid);
            this.signal(s, 'hangup', { reason: 'failed' });
          });
        }
        return true;
      case 'reject':
        if (s?.role === 'initiator' && s.state === 'proposed') {
          this.sessions.delete(sid);
          this.signal(s, 'reject', { reason: 'rejected' });
        }
        return true;
      case 'retract':
        if (s?.role === 'responder' && s.state !== 'ended') {
          this.sessions.delete(sid);
          this.signal(s, 'hangup', { reason: 'hangup' });
        }
        return true;
      default:
        return true;
    }
  }

  /**
   * A `<jingle/>` IQ set from `from`. Returns true to acknowledge it, or an error condition name
   * (`item-not-found` for an unknown session) for the client to answer with.
   */
  handleJingle(from: string, j: Element): true | 'item-not-found' | 'bad-request' {
    const sid = j.attrs.sid;
    const action = j.attrs.action;
    if (!sid || !action) return 'bad-request';
    let s = this.sessions.get(sid);
    if (action === 'session-initiate') {
      if (s && (s.role !== 'responder' || s.state !== 'proposed')) return 'bad-request';
      let sdp: string;
      try {
        sdp = jingleToSdp(j, 'initiator');
      } catch {
        return 'bad-request';
      }
      const media = /^m=video /m.test(sdp) ? 'video' : 'audio';
      s = { sid, peer: from, role: 'responder', state: 'pending', media };
      this.sessions.set(sid, s);
      this.signal(s, 'invite', { sdp });
      void this.deps
        .sendIq(from, this.jingle('session-info', s, xml('ringing', { xmlns: NS_RTP_INFO })))
        .catch(() => undefined);
      return true;
    }
    if (!s || bare(s.peer) !== bare(from)) return 'item-not-found';
    switch (action) {
      case 'session-accept':
        if (s.role !== 'initiator' || s.state !== 'pending') return 'bad-request';
        try {
          const sdp = jingleToSdp(j, 'responder');
          s.state = 'active';
          s.peer = from;
          this.signal(s, 'answer', { sdp });
        } catch {
          return 'bad-request';
        }
        return true;
      case 'session-info':
        if (j.getChild('ringing', NS_RTP_INFO) && s.role === 'initiator' && !s.rang) {
          s.rang = true;
          this.signal(s, 'ringing');
        }
        return true;
      case 'transport-info': {
        const candidates = j.getChildren('content').flatMap((c) =>
          (c.getChild('transport', NS.iceUdp)?.getChildren('candidate') ?? []).map((x) => ({
            candidate:
              `candidate:${x.attrs.foundation} ${x.attrs.component} ${x.attrs.protocol} ${x.attrs.priority} ` +
              `${x.attrs.ip} ${x.attrs.port} typ ${x.attrs.type}` +
              (x.attrs['rel-addr'] ? ` raddr ${x.attrs['rel-addr']} rport ${x.attrs['rel-port']}` : '') +
              ` generation ${x.attrs.generation ?? 0}`,
            sdpMid: c.attrs.name ?? '0',
          })),
        );
        if (candidates.length) this.signal(s, 'candidates', { candidates });
        return true;
      }
      case 'session-terminate': {
        const cond = j.getChild('reason')?.getChildElements()[0]?.name ?? 'success';
        const reason = REASON_FROM_JINGLE[cond] ?? 'failed';
        const wasPending = s.state === 'pending' && s.role === 'initiator';
        s.state = 'ended';
        this.sessions.delete(sid);
        this.signal(s, wasPending && reason !== 'hangup' ? 'reject' : 'hangup', { reason });
        return true;
      }
      default:
        return true;
    }
  }
}
