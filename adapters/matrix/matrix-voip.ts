import {
  type CallId,
  type CallOffer,
  type IceServerInfo,
  type RemoteEvent,
  type RemoteRoomId,
  RemoteUserId,
  type RoomSummary,
} from '@switchboard/sdk';

type Json = Record<string, unknown>;
type HangupReason = 'hangup' | 'rejected' | 'busy' | 'no_answer' | 'failed';

/** Matrix VoIP v1 hangup reasons ⇄ the SDK's end reasons. */
const TO_MATRIX: Record<Exclude<HangupReason, 'rejected'>, string> = {
  hangup: 'user_hangup',
  busy: 'user_busy',
  no_answer: 'invite_timeout',
  failed: 'ice_failed',
};
const FROM_MATRIX: Record<string, HangupReason> = {
  user_hangup: 'hangup',
  user_busy: 'busy',
  invite_timeout: 'no_answer',
  ice_failed: 'failed',
  ice_timeout: 'failed',
  user_media_failed: 'failed',
  unknown_error: 'failed',
};

export interface MatrixVoipDeps {
  sendEvent(roomId: string, type: string, content: Json, txnId: string): Promise<string>;
  openDirect(userId: RemoteUserId): Promise<RoomSummary>;
  /** Our own user id: our own m.call.* events come back through sync and are not signals to us. */
  self(): string | undefined;
  /** Our party id (the device id), so other devices of ours can tell their calls from ours. */
  partyId(): string;
  /** GET /voip/turnServer. */
  turnServer(): Promise<Record<string, unknown>>;
}

/**
 * Calls over Matrix VoIP v1 (`m.call.*` room events, spec "Voice over IP"): the SDP travels in the
 * events, the media end is the gateway's client (the browser, or a werift peer in tests). matrix-js-sdk's
 * MatrixCall needs a browser WebRTC stack, so the events are written here directly.
 */
export class MatrixVoip {
  /** Call id → its room, and whether we still have to answer it. */
  private readonly calls = new Map<string, { roomId: string; incoming: boolean; answered: boolean }>();
  private seq = 0;

  constructor(private readonly deps: MatrixVoipDeps) {}

  /**
   * Looks at what sync produced before it is emitted: remembers incoming calls' rooms, drops our own
   * call events, maps Matrix hangup reasons, and says of a direct room's peer that it can be called.
   */
  observe(ev: RemoteEvent): RemoteEvent[] {
    if (ev.type === 'room.upsert' && ev.kind === 'direct' && ev.peer !== undefined)
      return [
        ev,
        {
          type: 'contact.upsert',
          at: ev.at,
          userId: ev.peer,
          capabilities: { voice: true, video: true, directRoom: true },
        },
      ];
    if (ev.type !== 'call.signal') return [ev];
    if (ev.from === this.deps.self()) return [];
    if (ev.signal === 'invite' && ev.roomId !== undefined && !this.calls.has(ev.callId))
      this.calls.set(ev.callId, { roomId: ev.roomId, incoming: true, answered: false });
    if (ev.signal === 'hangup' || ev.signal === 'reject') {
      this.calls.delete(ev.callId);
      const reason =
        ev.signal === 'reject' ? 'rejected' : (FROM_MATRIX[ev.reason ?? 'user_hangup'] ?? 'hangup');
      return [{ ...ev, reason }];
    }
    return [ev];
  }

  private base(callId: string): Json {
    return { call_id: callId, party_id: this.deps.partyId(), version: '1' };
  }

  private async send(callId: string, type: string, content: Json): Promise<void> {
    const call = this.calls.get(callId);
    if (!call) throw new Error(`no Matrix call ${callId}`);
    await this.deps.sendEvent(call.roomId, type, content, `sb-${callId}-${type}-${++this.seq}`);
  }

  /** The homeserver's TURN servers (spec: GET /voip/turnServer); none when it offers none. */
  async iceServers(): Promise<IceServerInfo[]> {
    const t = await this.deps.turnServer();
    const uris = Array.isArray(t.uris) ? t.uris.filter((u): u is string => typeof u === 'string') : [];
    if (uris.length === 0) return [];
    const ttl = typeof t.ttl === 'number' ? t.ttl : undefined;
    return [
      {
        urls: uris,
        ...(typeof t.username === 'string' ? { username: t.username } : {}),
        ...(typeof t.password === 'string' ? { credential: t.password } : {}),
        ...(ttl !== undefined ? { expiresAt: new Date(Date.now() + ttl * 1000).toISOString() } : {}),
      },
    ];
  }

  async placeCall(offer: CallOffer): Promise<void> {
    const roomId: RemoteRoomId = offer.roomId ?? (await this.deps.openDirect(offer.to)).roomId;
    this.calls.set(offer.callId, { roomId, incoming: false, answered: false });
    await this.send(offer.callId, 'm.call.invite', {
      ...this.base(offer.callId),
      lifetime: 60_000,
      invitee: offer.to,
      offer: { type: 'offer', sdp: offer.sdp },
    });
  }

  async answerCall(callId: CallId, sdp: string): Promise<void> {
    await this.send(callId, 'm.call.answer', { ...this.base(callId), answer: { type: 'answer', sdp } });
    const call = this.calls.get(callId);
    if (call) call.answered = true;
  }

  async sendCandidates(
    callId: CallId,
    candidates: { candidate: string; sdpMid?: string; sdpMLineIndex?: number }[],
  ): Promise<void> {
    await this.send(callId, 'm.call.candidates', { ...this.base(callId), candidates });
  }

  async hangup(callId: CallId, reason: HangupReason): Promise<void> {
    const call = this.calls.get(callId);
    if (!call) return;
    // An incoming call we never answered is rejected; everything else is a hangup with its reason.
    if (
      call.incoming &&
      !call.answered &&
      (reason === 'rejected' || reason === 'busy' || reason === 'no_answer')
    )
      await this.send(callId, reason === 'rejected' ? 'm.call.reject' : 'm.call.hangup', {
        ...this.base(callId),
        ...(reason === 'rejected' ? {} : { reason: TO_MATRIX[reason] }),
      });
    else
      await this.send(callId, 'm.call.hangup', {
        ...this.base(callId),
        reason: TO_MATRIX[reason === 'rejected' ? 'hangup' : reason],
      });
    this.calls.delete(callId);
  }
}
