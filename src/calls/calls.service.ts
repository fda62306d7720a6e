import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import * as sdpTransform from 'sdp-transform';
import { DataSource, In, Not } from 'typeorm';
import { AccountsService } from '../accounts/accounts.service';
import { ApiError } from '../api/api-error';
import type { Logger } from '../common/logger';
import { insertRow } from '../common/db';
import type { AppConfig } from '../config';
import {
  type CallEndReason,
  type CallEvent,
  type CallMediaKind,
  type CallStatus,
  type CodecName,
  END_REASONS,
  type EndpointVoiceFacts,
  glareWinner,
  isFinalState,
  NETWORK_VOICE_PROFILES,
  type NetworkVoiceProfile,
  networkProfileFrom,
  nextCallStatus,
  normaliseCodecs,
  type RankedRoute,
  type RouteSelection,
  selectRoutes,
} from '../core/voice';
import { ClientEventsService } from '../events/client-events.service';
import { IngestService } from '../messaging/ingest.service';
import type { AccountRef } from '../messaging/queues';
import type { AdapterRegistry } from '../registry/adapter-registry';
import {
  CallId,
  type IceServerInfo,
  isVoiceCapable,
  RemoteUserId,
  type RemoteEventOf,
  type VoiceCapable,
} from '../sdk';
import { Account, Call, Endpoint, Person } from '../storage/entities';
import { ADAPTER_REGISTRY, CONFIG, DATA_SOURCE, LOGGER } from '../tokens';
import { iceServersFor } from './ice-servers';
import { RtpMediaLeg, SdpError } from './media/rtp-media.leg';
import type { WebRtcMediaLeg } from './media/webrtc-media.leg';

/**
 * The WebRTC leg's module, loaded at the first call that needs it: werift costs some 12 MB of resident
 * memory, which a gateway nobody calls through should not carry.
 */
function webrtcLeg(): typeof WebRtcMediaLeg {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('./media/webrtc-media.leg') as typeof import('./media/webrtc-media.leg')).WebRtcMediaLeg;
}

/** The codecs of the gateway's own RTP leg (G.711 only: it has no other codec). */
const GATEWAY_CODECS: ('PCMU' | 'PCMA')[] = ['PCMU', 'PCMA'];

export interface CallRouteInfo extends Partial<RankedRoute> {
  direction: 'outgoing' | 'incoming';
  accountId: string;
  network: string;
  address: string;
  /**
   * `gateway`: the gateway terminates the media (plain RTP); `client`: the client's SDP passes through;
   * `relay`: the gateway answers the client's WebRTC and relays G.711 to a plain-RTP leg (SIP).
   */
  media: 'gateway' | 'client' | 'relay';
}

export interface CallView {
  id: string;
  direction: 'outgoing' | 'incoming';
  media: CallMediaKind;
  state: CallStatus['state'];
  endReason?: CallEndReason;
  contactId: string | null;
  endpointId: string | null;
  route: CallRouteInfo;
  createdAt: string;
  updatedAt: string;
}

/** A call this process is running: the network client it goes through, its media and its timers. */
interface LiveCall {
  id: string;
  /** The id the network knows the call by (ours for outgoing calls, the network's for incoming ones). */
  remoteId: string;
  ownerId: string;
  accountId: string;
  client: VoiceCapable;
  status: CallStatus;
  route: CallRouteInfo;
  leg?: RtpMediaLeg;
  /** The client's WebRTC leg when the gateway relays between it and `leg`. */
  webrtc?: WebRtcMediaLeg;
  /** An incoming call's offer, until it is accepted. */
  remoteOffer?: string;
  answerTimer?: NodeJS.Timeout;
  /** An accept or reject of this ringing call is under way (two clients of one user may both press). */
  answering?: 'accept' | 'reject';
}

/**
 * Calls: the negotiator's routes for a person, call sessions through the networks' VoiceCapable clients,
 * the state machine of src/core/voice, `call.state` events, and the RTP leg when the gateway terminates
 * the media itself. Everything is scoped by owner: another user's calls, contacts and accounts are 404s.
 */
@Injectable()
export class CallsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly live = new Map<string, LiveCall>();
  /** Live calls by account and network call id. */
  private readonly byRemote = new Map<string, LiveCall>();

  private track(call: LiveCall): void {
    this.live.set(call.id, call);
    this.byRemote.set(`${call.accountId}\0${call.remoteId}`, call);
  }

  private untrack(call: LiveCall): void {
    this.live.delete(call.id);
    this.byRemote.delete(`${call.accountId}\0${call.remoteId}`);
  }

  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(ADAPTER_REGISTRY) private readonly registry: AdapterRegistry,
    private readonly accounts: AccountsService,
    private readonly events: ClientEventsService,
    ingest: IngestService,
  ) {
    ingest.callSignalSink = (account, event) => this.onSignal(account, event);
  }

  async onApplicationBootstrap(): Promise<void> {
    // Calls that were live when the process stopped have lost their media and dialogs.
    await this.ds
      .getRepository(Call)
      .update(
        { state: Not(In(['ended', 'failed'])) },
        { state: 'failed', endReason: 'failed', updatedAt: Date.now() },
      );
  }

  async onApplicationShutdown(): Promise<void> {
    for (const call of [...this.live.values()]) {
      await call.client.hangup(CallId(call.remoteId), 'hangup').catch(() => undefined);
      await this.transition(call, { type: 'hangup' });
    }
  }

  /** The gateway-terminated media leg of a live call (the relay to another leg attaches here). */
  media(callId: string): RtpMediaLeg | undefined {
    return this.live.get(callId)?.leg;
  }

  /** The configured STUN/TURN servers, then those the user's connected networks offer (Matrix, XMPP). */
  async iceServers(ownerId: string) {
    const own = iceServersFor(ownerId, this.config.calls, Date.now());
    const accounts = await this.ds.getRepository(Account).find({ where: { ownerId }, select: { id: true } });
    const fromNetworks: (IceServerInfo & { accountId: string })[] = [];
    for (const a of accounts) {
      const client = this.accounts.connectedClient(a.id);
      if (!isVoiceCapable(client) || !client.iceServers) continue;
      try {
        for (const s of await client.iceServers()) fromNetworks.push({ ...s, accountId: a.id });
      } catch (err) {
        this.logger.warn('a network did not give its ICE servers', { account: a.id, err });
      }
    }
    return { ...own, iceServers: [...own.iceServers, ...fromNetworks] };
  }

  // ---- routes ----

  private profiles(): Record<string, NetworkVoiceProfile> {
    const out: Record<string, NetworkVoiceProfile> = { ...NETWORK_VOICE_PROFILES };
    for (const id of this.registry.ids()) {
      const manifest = this.registry.get(id)?.manifest;
      if (out[id] || !manifest) continue;
      out[id] = networkProfileFrom(manifest.capabilities);
    }
    return out;
  }

  private facts(endpoints: Endpoint[]): EndpointVoiceFacts[] {
    return endpoints.map((e) => {
      const client = this.accounts.connectedClient(e.accountId);
      return {
        endpointId: e.id,
        accountId: e.accountId,
        network: e.network,
        address: e.address,
        presence: e.presenceState,
        ...(e.lastActiveAt !== null ? { lastActiveAt: e.lastActiveAt } : {}),
        accountConnected: client !== undefined,
        clientVoiceCapable: isVoiceCapable(client),
        capabilities: e.capabilities,
      };
    });
  }

  private select(endpoints: Endpoint[], media: CallMediaKind, codecs: CodecName[]): RouteSelection {
    return selectRoutes(this.facts(endpoints), { media, codecs, profiles: this.profiles() });
  }

  async routes(ownerId: string, contactId: string, media: CallMediaKind) {
    const person = await this.ds.getRepository(Person).findOne({ where: { id: contactId, ownerId } });
    if (!person) throw ApiError.notFound('contact');
    const endpoints = await this.ds.getRepository(Endpoint).find({ where: { personId: contactId, ownerId } });
    const sel = this.select(endpoints, media, GATEWAY_CODECS);
    return { contactId, media, routes: sel.routes, rejected: sel.rejected };
  }

  // ---- the API's use cases ----

  async place(
    ownerId: string,
    input: { contactId?: string; endpointId?: string; media: CallMediaKind; sdp?: string },
  ): Promise<CallView> {
    if ((input.contactId === undefined) === (input.endpointId === undefined))
      throw ApiError.validation('give exactly one of contactId and endpointId', [
        { field: 'contactId' },
        { field: 'endpointId' },
      ]);
    const repo = this.ds.getRepository(Endpoint);
    let endpoints: Endpoint[];
    let personId: string | null;
    if (input.endpointId !== undefined) {
      const ep = await repo.findOne({ where: { id: input.endpointId, ownerId } });
      if (!ep) throw ApiError.notFound('endpoint');
      endpoints = [ep];
      personId = ep.personId;
    } else {
      const person = await this.ds
        .getRepository(Person)
        .findOne({ where: { id: input.contactId!, ownerId } });
      if (!person) throw ApiError.notFound('contact');
      endpoints = await repo.find({ where: { personId: person.id, ownerId } });
      personId = person.id;
    }
    const clientMedia = input.sdp !== undefined;
    const codecs: CodecName[] = clientMedia ? offerCodecs(input.sdp!) : GATEWAY_CODECS;
    const sel = this.select(endpoints, input.media, codecs);
    // The gateway's own leg is plain RTP: it terminates SIP calls; WebRTC networks need the client's SDP,
    // and a WebRTC offer (DTLS-SRTP) cannot go to a plain-RTP SIP phone without a relay.
    const plainOffer = clientMedia && offerIsPlainRtp(input.sdp!);
    // A WebRTC offer to a SIP phone goes through the gateway's relay, G.711 end to end (no transcoding).
    const relayCodecs = clientMedia && !plainOffer ? webrtcLeg().g711In(input.sdp!) : [];
    const carries = (r: RankedRoute): string | undefined =>
      !clientMedia
        ? r.signalling === 'sip'
          ? undefined
          : `${r.network}: the gateway terminates plain RTP only; send the client's SDP offer in sdp`
        : r.signalling === 'sip' && !plainOffer && !relayCodecs.some((c) => r.codecs.includes(c))
          ? `${r.network}: the WebRTC offer has no G.711 for the relay to a SIP phone (no transcoding)`
          : undefined;
    const usable = sel.routes.filter((r) => carries(r) === undefined);
    const route = usable[0];
    if (!route) {
      const rejected = [...sel.rejected, ...sel.routes.map((r) => ({ ...r, reason: carries(r) ?? '' }))];
      throw new ApiError(409, 'CONFLICT', 'no route can carry this call', {
        rejected: rejected.map((r) => ({ endpointId: r.endpointId, network: r.network, reason: r.reason })),
      });
    }
    const account = await this.ds.getRepository(Account).findOne({ where: { id: route.accountId, ownerId } });
    const client = this.accounts.connectedClient(route.accountId);
    if (!account || !client || !isVoiceCapable(client))
      throw ApiError.conflict('the account of this route is no longer connected');

    const id = randomUUID();
    const now = Date.now();
    const relay = clientMedia && route.signalling === 'sip' && !plainOffer;
    const info: CallRouteInfo = {
      ...route,
      direction: 'outgoing',
      media: relay ? 'relay' : clientMedia ? 'client' : 'gateway',
    };
    await insertRow(this.ds.manager, Call, {
      id,
      ownerId,
      endpointId: route.endpointId,
      personId,
      media: input.media,
      route: info as unknown as Record<string, unknown>,
      state: 'negotiating',
      endReason: null,
      createdAt: now,
      updatedAt: now,
    });
    const call: LiveCall = {
      id,
      remoteId: id,
      ownerId,
      accountId: route.accountId,
      client,
      status: { state: 'negotiating' },
      route: info,
    };
    this.track(call);
    let sdp = input.sdp;
    let clientAnswer: string | undefined;
    try {
      if (relay) {
        const codec = relayCodecs.find((c) => route.codecs.includes(c))!;
        const servers = iceServersFor(ownerId, this.config.calls, Date.now()).iceServers;
        const answered = await webrtcLeg().answer(input.sdp!, codec, {
          hostAddresses: [this.config.calls.mediaAddress],
          iceServers: servers.flatMap((x) => x.urls.map((urls) => ({ ...x, urls }))),
        });
        call.webrtc = answered.leg;
        clientAnswer = answered.sdp;
        call.leg = await RtpMediaLeg.open(this.config.calls.mediaAddress);
        call.leg.relay();
        const leg = call.leg;
        answered.leg.onPayload((p) => leg.sendPayload(p));
        leg.onPayload((p) => answered.leg.sendPayload(p));
        sdp = leg.offer([codec]);
      } else if (!clientMedia) {
        call.leg = await RtpMediaLeg.open(this.config.calls.mediaAddress);
        sdp = call.leg.offer(GATEWAY_CODECS.filter((c) => route.codecs.includes(c)));
      }
    } catch (err) {
      await this.transition(call, { type: 'error' });
      throw ApiError.badRequest(
        `the call's media could not be set up: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    this.armAnswerTimer(call);
    // The relay answers the client at once: its answer travels in the first call.state event.
    await this.publish(call, clientAnswer !== undefined ? { sdp: clientAnswer } : {});
    const to = route.resource ? `${route.address}/${route.resource}` : route.address;
    // placeCall may only settle with the network's final answer; its outcome arrives as signals.
    client
      .placeCall({ callId: CallId(id), to: RemoteUserId(to), media: input.media, sdp: sdp! })
      .catch(async (err: unknown) => {
        this.logger.warn('placing a call failed', { call: id, err });
        await this.transition(call, { type: 'error' });
      });
    return this.view(await this.row(ownerId, id));
  }

  async list(ownerId: string): Promise<CallView[]> {
    const rows = await this.ds
      .getRepository(Call)
      .find({ where: { ownerId }, order: { createdAt: 'DESC' }, take: 100 });
    return rows.map((r) => this.view(r));
  }

  async get(ownerId: string, id: string): Promise<CallView> {
    return this.view(await this.row(ownerId, id));
  }

  async hangup(ownerId: string, id: string): Promise<CallView> {
    const row = await this.row(ownerId, id);
    const call = this.live.get(row.id);
    if (call) {
      const incomingRinging = call.route.direction === 'incoming' && call.status.state === 'ringing';
      await call.client
        .hangup(CallId(call.remoteId), incomingRinging ? 'rejected' : 'hangup')
        .catch((err: unknown) => this.logger.warn('hangup failed on the network', { call: id, err }));
      await this.transition(call, incomingRinging ? { type: 'rejected' } : { type: 'hangup' });
    }
    return this.get(ownerId, id);
  }

  async accept(ownerId: string, id: string, sdp?: string): Promise<CallView> {
    const row = await this.row(ownerId, id);
    const call = this.ringingIncoming(row.id, 'accept');
    try {
      return await this.answer(ownerId, call, sdp);
    } finally {
      call.answering = undefined;
    }
  }

  /**
   * The live incoming call that is ringing, claimed for `action` so that a second accept or reject
   * (another client of the same user, a double click) is a 409 instead of a second answer.
   */
  private ringingIncoming(id: string, action: 'accept' | 'reject'): LiveCall {
    const call = this.live.get(id);
    if (!call || call.route.direction !== 'incoming' || call.status.state !== 'ringing')
      throw ApiError.conflict(`only a ringing incoming call can be ${action}ed`);
    if (call.answering) throw ApiError.conflict(`the call is being ${call.answering}ed already`);
    call.answering = action;
    return call;
  }

  private async answer(ownerId: string, call: LiveCall, sdp: string | undefined): Promise<CallView> {
    const id = call.id;
    let answer = sdp;
    if (answer === undefined) {
      try {
        const leg = await RtpMediaLeg.open(this.config.calls.mediaAddress);
        call.leg = leg;
        answer = leg.answer(call.remoteOffer ?? '');
      } catch (err) {
        if (!(err instanceof SdpError)) throw err;
        await call.client.hangup(CallId(call.remoteId), 'failed').catch(() => undefined);
        await this.transition(call, { type: 'error' });
        throw ApiError.conflict(`the caller's offer cannot be answered by the gateway: ${err.message}`);
      }
    } else call.route.media = 'client';
    await call.client.answerCall(CallId(call.remoteId), answer);
    await this.transition(call, { type: 'answered' });
    return this.get(ownerId, id);
  }

  async candidates(
    ownerId: string,
    id: string,
    candidates: { candidate: string; sdpMid?: string; sdpMLineIndex?: number }[],
  ): Promise<{ id: string; sent: number }> {
    const row = await this.row(ownerId, id);
    const call = this.live.get(row.id);
    if (!call) throw ApiError.conflict('the call is over');
    if (call.route.media !== 'client')
      throw ApiError.conflict("the gateway terminates this call's media; there are no client candidates");
    await call.client.sendCandidates(CallId(call.remoteId), candidates);
    return { id: row.id, sent: candidates.length };
  }

  async reject(ownerId: string, id: string): Promise<CallView> {
    const row = await this.row(ownerId, id);
    const call = this.ringingIncoming(row.id, 'reject');
    try {
      await call.client.hangup(CallId(call.remoteId), 'rejected');
      await this.transition(call, { type: 'rejected' });
    } finally {
      call.answering = undefined;
    }
    return this.get(ownerId, id);
  }

  // ---- signalling from the networks ----

  async onSignal(account: AccountRef, e: RemoteEventOf<'call.signal'>): Promise<void> {
    const call = this.byRemote.get(`${account.accountId}\0${e.callId}`);
    if (e.signal === 'invite') {
      if (!call) await this.onInvite(account, e);
      return;
    }
    if (!call) return; // a late signal for a call that is over (or from before a restart)
    switch (e.signal) {
      case 'ringing':
        return this.transition(call, { type: 'ringing' });
      case 'answer':
        if (call.leg) {
          try {
            call.leg.applyAnswer(e.sdp ?? '');
          } catch (err) {
            this.logger.warn('the answer cannot be used', { call: call.id, err });
            await call.client.hangup(CallId(call.remoteId), 'failed').catch(() => undefined);
            return this.transition(call, { type: 'error' });
          }
        }
        // A relayed call's client has its answer already (the gateway's); the phone's SDP is the relay's.
        return this.transition(
          call,
          { type: 'answered' },
          e.sdp !== undefined && call.route.media === 'client' ? { sdp: e.sdp } : {},
        );
      case 'candidates':
        await this.publish(call, { candidates: e.candidates ?? [] });
        return;
      case 'select_answer':
        return;
      case 'hangup':
      case 'reject':
        return this.transition(call, endEvent(e.signal, e.reason));
    }
  }

  private async onInvite(account: AccountRef, e: RemoteEventOf<'call.signal'>): Promise<void> {
    const client = this.accounts.connectedClient(account.accountId);
    if (!client || !isVoiceCapable(client)) return;
    // Glare: we are calling the same person on the same account. Both ends keep the same call.
    const ours = [...this.live.values()].find(
      (c) =>
        c.accountId === account.accountId &&
        c.route.direction === 'outgoing' &&
        c.route.address === e.from &&
        !isFinalState(c.status.state) &&
        c.status.state !== 'connected',
    );
    if (ours && glareWinner(ours.remoteId, e.callId) === 'ours') {
      await client.hangup(e.callId, 'busy').catch(() => undefined);
      return;
    }
    const ep = await this.ds
      .getRepository(Endpoint)
      .findOne({ where: { accountId: account.accountId, address: e.from } });
    const id = randomUUID();
    const now = Date.now();
    const media: CallMediaKind = e.sdp && /^m=video /m.test(e.sdp) ? 'video' : 'audio';
    const info: CallRouteInfo = {
      direction: 'incoming',
      accountId: account.accountId,
      network: account.network,
      address: e.from,
      media: 'gateway',
      ...(ours ? { replaces: ours.id } : {}),
    };
    const call: LiveCall = {
      id,
      remoteId: e.callId,
      ownerId: account.ownerId,
      accountId: account.accountId,
      client,
      status: { state: 'ringing' },
      route: info,
      ...(e.sdp !== undefined ? { remoteOffer: e.sdp } : {}),
    };
    // The same INVITE delivered twice (a retransmission) may have got here meanwhile: it rings once.
    if (this.byRemote.has(`${account.accountId}\0${e.callId}`)) return;
    // Live before its row is written: a request that sees the row finds the call (accept, reject), and a
    // retransmission arriving while it is written is recognised above.
    this.track(call);
    try {
      await insertRow(this.ds.manager, Call, {
        id,
        ownerId: account.ownerId,
        endpointId: ep?.id ?? null,
        personId: ep?.personId ?? null,
        media,
        route: info as unknown as Record<string, unknown>,
        state: 'ringing',
        endReason: null,
        createdAt: now,
        updatedAt: now,
      });
    } catch (err) {
      this.untrack(call);
      await client.hangup(e.callId, 'busy').catch(() => undefined);
      throw err;
    }
    this.armAnswerTimer(call);
    await this.publish(call, {
      incoming: true,
      from: e.from,
      ...(e.sdp !== undefined ? { sdp: e.sdp } : {}),
    });
    if (ours) {
      // Their call won the glare: ours gives way and theirs is answered, as both sides wanted to talk.
      await ours.client.hangup(CallId(ours.remoteId), 'hangup').catch(() => undefined);
      await this.transition(ours, { type: 'hangup' }, { replacedBy: id });
      if (ours.route.media === 'gateway') await this.accept(account.ownerId, id);
    }
  }

  // ---- state ----

  private armAnswerTimer(call: LiveCall): void {
    call.answerTimer = setTimeout(() => {
      void (async () => {
        if (call.status.state === 'connected' || isFinalState(call.status.state)) return;
        await call.client.hangup(CallId(call.remoteId), 'no_answer').catch(() => undefined);
        await this.transition(call, { type: 'timeout' });
      })();
    }, this.config.calls.answerTimeoutSeconds * 1000);
    call.answerTimer.unref();
  }

  private async transition(
    call: LiveCall,
    event: CallEvent,
    extra: Record<string, unknown> = {},
  ): Promise<void> {
    const next = nextCallStatus(call.status, event);
    if (!next) return;
    call.status = next;
    if (next.state === 'connected' && call.answerTimer) clearTimeout(call.answerTimer);
    if (isFinalState(next.state)) {
      if (call.answerTimer) clearTimeout(call.answerTimer);
      call.leg?.close();
      void call.webrtc?.close();
      this.untrack(call);
    }
    await this.ds
      .getRepository(Call)
      .update(
        { id: call.id },
        { state: next.state, endReason: next.endReason ?? null, updatedAt: Date.now() },
      );
    await this.publish(call, extra);
  }

  private async publish(call: LiveCall, extra: Record<string, unknown> = {}): Promise<void> {
    await this.events.publish(call.ownerId, 'call.state', {
      id: call.id,
      state: call.status.state,
      ...(call.status.endReason ? { endReason: call.status.endReason } : {}),
      direction: call.route.direction,
      accountId: call.accountId,
      network: call.route.network,
      address: call.route.address,
      ...extra,
    });
  }

  private async row(ownerId: string, id: string): Promise<Call> {
    const row = await this.ds.getRepository(Call).findOne({ where: { id, ownerId } });
    if (!row) throw ApiError.notFound('call');
    return row;
  }

  private view(r: Call): CallView {
    const route = (r.route ?? {}) as unknown as CallRouteInfo;
    return {
      id: r.id,
      direction: route.direction ?? 'outgoing',
      media: r.media,
      state: r.state,
      ...(r.endReason ? { endReason: r.endReason as CallEndReason } : {}),
      contactId: r.personId,
      endpointId: r.endpointId,
      route,
      createdAt: new Date(r.createdAt).toISOString(),
      updatedAt: new Date(r.updatedAt).toISOString(),
    };
  }
}

/** A network's hangup or reject, as the state machine's event. */
function endEvent(signal: 'hangup' | 'reject', reason: string | undefined): CallEvent {
  const r = (END_REASONS as readonly string[]).includes(reason ?? '') ? (reason as CallEndReason) : undefined;
  switch (r) {
    case 'busy':
      return { type: 'busy' };
    case 'rejected':
      return { type: 'rejected' };
    case 'no_answer':
      return { type: 'timeout' };
    case 'failed':
      return { type: 'error' };
    default:
      return signal === 'reject' ? { type: 'rejected' } : { type: 'hangup' };
  }
}

/** Whether an SDP offer's audio is plain RTP (RTP/AVP), which a SIP phone can take. */
function offerIsPlainRtp(sdp: string): boolean {
  try {
    return sdpTransform.parse(sdp).media?.find((m) => m.type === 'audio')?.protocol === 'RTP/AVP';
  } catch {
    return false;
  }
}

/** The codecs of a client's SDP offer (its audio section), in its order. */
function offerCodecs(sdp: string): CodecName[] {
  let parsed;
  try {
    parsed = sdpTransform.parse(sdp);
  } catch {
    throw ApiError.validation('sdp is not a valid SDP offer', [{ field: 'sdp' }]);
  }
  const audio = parsed.media?.find((m) => m.type === 'audio');
  if (!audio) throw ApiError.validation('the SDP offer has no audio', [{ field: 'sdp' }]);
  return normaliseCodecs(audio.rtp.map((r) => r.codec));
}
