import path from 'node:path';
import { MediaStreamTrack, RTCPeerConnection, RtpHeader, RtpPacket } from 'werift';
import { ClientEventsService } from '../../src/events/client-events.service';
import { as, C, call, enc, txn, type As } from '../matrix-homeserver/matrix-http';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../support/gateway';
import { startMatrixHomeserver, type MatrixHomeserver } from '../support/matrix-homeserver';

const MATRIX_ADAPTER_PATH = path.resolve(__dirname, '../../adapters/matrix');

/** A werift peer on loopback with one audio track, its candidates gathered into the SDP (no trickle). */
class Peer {
  readonly pc = new RTCPeerConnection({
    iceInterfaceAddresses: { udp4: '127.0.0.1' },
    iceAdditionalHostAddresses: ['127.0.0.1'],
  });
  readonly track = new MediaStreamTrack({ kind: 'audio' });
  received = 0;
  private seq = 0;

  constructor() {
    this.pc.addTransceiver(this.track, { direction: 'sendrecv' });
    this.pc.onTrack.subscribe((t) => t.onReceiveRtp.subscribe(() => this.received++));
  }

  private async gathered(): Promise<string> {
    await eventually(async () => this.pc.iceGatheringState === 'complete', 'ICE gathering', 10_000);
    return this.pc.localDescription!.sdp;
  }

  async offer(): Promise<string> {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    return this.gathered();
  }

  async answer(offer: string): Promise<string> {
    await this.pc.setRemoteDescription({ type: 'offer', sdp: offer });
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    return this.gathered();
  }

  async accept(answer: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: 'answer', sdp: answer });
  }

  connected(): Promise<boolean> {
    return eventually(async () => this.pc.connectionState === 'connected', 'ICE and DTLS connected', 20_000);
  }

  /** A burst of Opus-typed RTP packets (werift relays packets; it has no codec, so the payload is opaque). */
  sendPackets(n: number): void {
    const pt = this.pc.getTransceivers()[0]!.codecs[0]?.payloadType ?? 111;
    for (let i = 0; i < n; i++)
      this.track.writeRtp(
        new RtpPacket(
          new RtpHeader({ payloadType: pt, sequenceNumber: this.seq++ & 0xffff, timestamp: this.seq * 960 }),
          Buffer.alloc(40, 0x55),
        ),
      );
  }

  async close(): Promise<void> {
    await this.pc.close();
  }
}

/**
 * A Matrix VoIP v1 call through the test homeserver: the gateway's Matrix account signals with m.call.*,
 * the media ends are werift peers (the web client on our side, a second Matrix user's client on the
 * other). It rings, is answered, ICE connects, packets flow both ways, and hangup propagates; then the
 * other way round, an incoming call accepted through the API.
 */
describe('Matrix calls through the gateway (m.call.* with werift peers)', () => {
  let hs: MatrixHomeserver;
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let api: Api;
  let bob: As;
  let roomId: string;
  let contactId: string;
  let me: string;
  let since: string | undefined;
  const peers: Peer[] = [];

  /** Bob's timeline events of one type in the DM, from his own sync. */
  async function bobSees(type: string, callId?: string): Promise<Record<string, any>> {
    return eventually(
      async () => {
        const res = await bob.sync({ timeout: 500, ...(since ? { since } : {}) });
        since = res.next_batch as string;
        const evs = (res.rooms?.join?.[roomId]?.timeline?.events ?? []) as Record<string, any>[];
        seen.push(...evs);
        return seen.find(
          (e) => e.type === type && e.sender !== bob.userId && (!callId || e.content.call_id === callId),
        );
      },
      `bob sees ${type}`,
      20_000,
    );
  }
  const seen: Record<string, any>[] = [];

  async function bobSends(type: string, content: Record<string, unknown>): Promise<void> {
    const r = await call(hs, 'PUT', `${C}/rooms/${enc(roomId)}/send/${enc(type)}/${enc(txn())}`, {
      token: bob.accessToken,
      body: content,
    });
    expect(r.status).toBe(200);
  }

  async function callStateWithSdp(id: string): Promise<string> {
    return eventually(async () => {
      const { frames } = await env.gw.app.get(ClientEventsService).replay(me, '0');
      const f = frames.find(
        (x) =>
          x.type === 'call.state' && (x.data as { id: string }).id === id && (x.data as { sdp?: string }).sdp,
      );
      return (f?.data as { sdp?: string } | undefined)?.sdp;
    }, 'a call.state event with the SDP');
  }

  beforeAll(async () => {
    hs = await startMatrixHomeserver({
      turn: {
        uris: ['turn:turn.matrix.test:3478?transport=udp'],
        sharedSecret: 'hs-turn-secret',
        ttlSeconds: 600,
      },
    });
    await hs.registerUser('gw', 'gw-password');
    bob = as(hs, await hs.registerUser('bob', 'bob-password'));
    env = await startTestGateway({ adapters: [{ id: 'matrix', path: MATRIX_ADAPTER_PATH }] });
    api = await new Api(env.gw.url).login('admin', ADMIN_PASSWORD);
    me = (await api.call('GET', '/api/v1/me')).json.id as string;
    const account = await api.call('POST', '/api/v1/accounts', {
      adapter: 'matrix',
      options: { homeserverUrl: hs.url, userId: 'gw', password: 'gw-password', syncTimeoutMs: 1000 },
    });
    expect(account.status).toBe(201);
    const accountId = account.json.id as string;
    await eventually(
      async () => (await api.call('GET', `/api/v1/accounts/${accountId}`)).json.state === 'connected',
      'the Matrix account connected',
    );
    // A buddy on Matrix is a direct room: the gateway creates it and invites bob, who joins.
    expect(
      (await api.call('POST', `/api/v1/accounts/${accountId}/contacts`, { address: bob.userId })).status,
    ).toBe(202);
    roomId = await eventually(async () => {
      const res = await bob.sync({ timeout: 500 });
      return Object.keys(res.rooms?.invite ?? {})[0];
    }, 'the DM invite');
    await bob.join(roomId);
    contactId = await eventually(async () => {
      const r = await api.call('GET', '/api/v1/contacts');
      return (
        r.json as { id: string; endpoints: { address: string; capabilities: { directRoom?: boolean } }[] }[]
      ).find((c) => c.endpoints.some((e) => e.address === bob.userId && e.capabilities.directRoom === true))
        ?.id;
    }, 'bob as a callable contact');
  });

  afterAll(async () => {
    for (const p of peers) await p.close();
    await env?.stop();
    await hs?.stop();
  });

  it("adds the homeserver's TURN server (/voip/turnServer) to the client's ICE servers", async () => {
    const r = await api.call('GET', '/api/v1/calls/ice-servers');
    expect(r.status).toBe(200);
    expect(r.json.iceServers).toEqual([
      expect.objectContaining({
        urls: ['turn:turn.matrix.test:3478?transport=udp'],
        username: expect.stringMatching(/^\d+:@gw:/),
        credential: expect.any(String),
      }),
    ]);
  });

  it('ranks the Matrix route', async () => {
    const r = await api.call('GET', `/api/v1/contacts/${contactId}/call-routes?media=audio`);
    expect(r.json.routes[0]).toMatchObject({ network: 'matrix', signalling: 'matrix-voip', how: 'native' });
  });

  it('refuses to terminate a Matrix call itself (no client SDP), saying why', async () => {
    const r = await api.call('POST', '/api/v1/calls', { contactId, media: 'audio' });
    expect(r.status).toBe(409);
    expect(r.json.error.details.rejected[0].reason).toMatch(/plain RTP only/);
  });

  it('places a call: m.call.invite rings, the answer connects ICE, packets flow both ways, hangup reaches bob', async () => {
    const client = new Peer();
    const far = new Peer();
    peers.push(client, far);
    const placed = await api.call('POST', '/api/v1/calls', {
      contactId,
      media: 'audio',
      sdp: await client.offer(),
    });
    expect(placed.status).toBe(201);
    expect(placed.json.route).toMatchObject({ network: 'matrix', media: 'client' });
    const id = placed.json.id as string;
    const invite = await bobSees('m.call.invite', id);
    expect(invite.content).toMatchObject({ version: '1', offer: { type: 'offer' } });
    await bobSends('m.call.answer', {
      call_id: id,
      party_id: 'bobs-phone',
      version: '1',
      answer: { type: 'answer', sdp: await far.answer(invite.content.offer.sdp as string) },
    });
    await client.accept(await callStateWithSdp(id));
    expect((await api.call('GET', `/api/v1/calls/${id}`)).json.state).toBe('connected');
    await Promise.all([client.connected(), far.connected()]);
    await eventually(
      async () => {
        client.sendPackets(5);
        far.sendPackets(5);
        return client.received > 10 && far.received > 10;
      },
      'packets both ways',
      20_000,
    );
    // Trickle ICE through the API: a candidate of the client reaches bob as m.call.candidates.
    const cand = 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host';
    const trickled = await api.call('POST', `/api/v1/calls/${id}/candidates`, {
      candidates: [{ candidate: cand, sdpMid: '0', sdpMLineIndex: 0 }],
    });
    expect(trickled.status).toBe(202);
    const cands = await bobSees('m.call.candidates', id);
    expect(cands.content.candidates).toEqual([{ candidate: cand, sdpMid: '0', sdpMLineIndex: 0 }]);
    const bad = await api.call('POST', `/api/v1/calls/${id}/candidates`, { candidates: [{ sdpMid: 1 }] });
    expect(bad.status).toBe(400);
    const hung = await api.call('DELETE', `/api/v1/calls/${id}`);
    expect(hung.json).toMatchObject({ state: 'ended', endReason: 'hangup' });
    const hangup = await bobSees('m.call.hangup', id);
    expect(hangup.content.reason).toBe('user_hangup');
  });

  it('an incoming m.call.invite rings as a call; the client accepts with its answer; bob hangs up', async () => {
    const client = new Peer();
    const far = new Peer();
    peers.push(client, far);
    const callId = `bob-call-${Date.now()}`;
    await bobSends('m.call.invite', {
      call_id: callId,
      party_id: 'bobs-phone',
      version: '1',
      lifetime: 60000,
      offer: { type: 'offer', sdp: await far.offer() },
    });
    const incoming = await eventually(async () => {
      const r = await api.call('GET', '/api/v1/calls');
      return (r.json as { id: string; direction: string; state: string }[]).find(
        (c) => c.direction === 'incoming' && c.state === 'ringing',
      );
    }, 'the incoming call');
    const offer = await callStateWithSdp(incoming.id);
    const accepted = await api.call('POST', `/api/v1/calls/${incoming.id}/accept`, {
      sdp: await client.answer(offer),
    });
    expect(accepted.json).toMatchObject({ state: 'connected' });
    const answer = await bobSees('m.call.answer', callId);
    await far.accept(answer.content.answer.sdp as string);
    await Promise.all([client.connected(), far.connected()]);
    await eventually(
      async () => {
        client.sendPackets(5);
        far.sendPackets(5);
        return client.received > 10 && far.received > 10;
      },
      'packets both ways',
      20_000,
    );
    await bobSends('m.call.hangup', {
      call_id: callId,
      party_id: 'bobs-phone',
      version: '1',
      reason: 'user_hangup',
    });
    const ended = await eventually(async () => {
      const c = (await api.call('GET', `/api/v1/calls/${incoming.id}`)).json;
      return c.state === 'ended' ? c : undefined;
    }, 'the call ended by bob');
    expect(ended.endReason).toBe('hangup');
  });
});
