import { CallsService, RtpMediaLeg } from '../../src/calls';
import { ClientEventsService } from '../../src/events/client-events.service';
import { decodeG711, encodeG711 } from '../../src/calls/media/g711.codec';
import { sineSource, toneRatio } from '../../src/calls/media/goertzel';
import { MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters, RtpHeader, RtpPacket } from 'werift';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../support/gateway';
import { type BaresipPhone, startBaresip } from '../support/baresip';
import { type KamailioServer, startKamailio } from '../support/kamailio';
import { sipOptions } from './sip-harness';
import { CallId, RemoteUserId } from '../../src/sdk';
import { ApiError } from '../../src/api/api-error';

/**
 * Calls through the whole gateway: a SIP account registered at a real kamailio, baresip as the far phone
 * (auto-answering with a 440 Hz tone, or answered by the test), the API placing and ending calls, and
 * the gateway's own RTP leg carrying a 1 kHz tone. Audio is checked with Goertzel on both sides.
 */
describe('SIP calls through the gateway (kamailio + baresip)', () => {
  let kamailio: KamailioServer;
  let auto: BaresipPhone;
  let manual: BaresipPhone;
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let api: Api;
  let accountId: string;
  const contactOf: Record<string, string> = {};

  beforeAll(async () => {
    kamailio = await startKamailio({ gw: 'gw-secret', bob: 'bob-secret', carol: 'carol-secret' });
    const proxy = `${kamailio.host}:${kamailio.port}`;
    [auto, manual] = await Promise.all([
      startBaresip({
        aor: kamailio.uri('bob'),
        password: 'bob-secret',
        proxy,
        answermode: 'auto',
        toneHz: 440,
      }),
      startBaresip({
        aor: kamailio.uri('carol'),
        password: 'carol-secret',
        proxy,
        answermode: 'manual',
        toneHz: 440,
      }),
    ]);
    env = await startTestGateway({
      adapters: [{ id: 'sip' }],
      calls: { answerTimeoutSeconds: 5, mediaAddress: '127.0.0.2' },
    });
    api = await new Api(env.gw.url).login('admin', ADMIN_PASSWORD);
    const created = await api.call('POST', '/api/v1/accounts', {
      adapter: 'sip',
      options: sipOptions(kamailio, 'gw', 'gw-secret'),
    });
    expect(created.status).toBe(201);
    accountId = created.json.id as string;
    await eventually(async () => {
      const r = await api.call('GET', `/api/v1/accounts/${accountId}`);
      return r.json.state === 'connected';
    }, 'the SIP account registered');
    for (const user of ['bob', 'carol']) {
      const address = kamailio.uri(user);
      expect((await api.call('POST', `/api/v1/accounts/${accountId}/contacts`, { address })).status).toBe(
        202,
      );
      contactOf[user] = await eventually(async () => {
        const r = await api.call('GET', '/api/v1/contacts');
        const c = (
          r.json as { id: string; endpoints: { address: string; capabilities: { registered?: boolean } }[] }[]
        ).find((x) => x.endpoints.some((e) => e.address === address && e.capabilities.registered === true));
        return c?.id;
      }, `${user} probed with OPTIONS`);
    }
  });

  afterAll(async () => {
    await env?.stop();
    await Promise.all([auto?.stop(), manual?.stop()]);
    await kamailio?.stop();
  });

  const callState = async (id: string) => (await api.call('GET', `/api/v1/calls/${id}`)).json;
  /** The incoming call that rings at the gateway, once the API lists it. */
  const ringingIncomingCall = () =>
    eventually(async () => {
      const r = await api.call('GET', '/api/v1/calls');
      return (r.json as { id: string; direction: string; state: string }[]).find(
        (c) => c.direction === 'incoming' && c.state === 'ringing',
      );
    }, 'the incoming call');
  const waitState = (id: string, state: string, what: string) =>
    eventually(async () => {
      const c = await callState(id);
      return c.state === state ? c : undefined;
    }, what);

  it('ranks the SIP route and explains it', async () => {
    const r = await api.call('GET', `/api/v1/contacts/${contactOf.bob}/call-routes?media=audio`);
    expect(r.status).toBe(200);
    expect(r.json.routes).toHaveLength(1);
    expect(r.json.routes[0]).toMatchObject({
      network: 'sip',
      how: 'native',
      codecs: expect.arrayContaining(['PCMU']),
    });
    expect(r.json.routes[0].reasons[0]).toBe('native sip call on sip');
    const video = await api.call('GET', `/api/v1/contacts/${contactOf.bob}/call-routes?media=video`);
    expect(video.json.routes).toEqual([]);
    expect(video.json.rejected[0].reason).toBe('sip: network carries no video');
  });

  it('places a call that baresip answers; tones cross both ways; our BYE ends both sides', async () => {
    const placed = await api.call('POST', '/api/v1/calls', { contactId: contactOf.bob, media: 'audio' });
    expect(placed.status).toBe(201);
    expect(placed.json).toMatchObject({
      state: 'negotiating',
      route: { network: 'sip', direction: 'outgoing' },
    });
    const id = placed.json.id as string;
    const leg = env.gw.app.get(CallsService).media(id)!;
    expect(leg).toBeDefined();
    leg.play(sineSource(1000));
    const heard: number[] = [];
    leg.onAudio((pcm) => heard.push(...pcm));
    await waitState(id, 'connected', 'the call connected');
    await auto.waitForEvent('CALL_ESTABLISHED');
    // Two seconds of what baresip sent; the last second is past any jitter-buffer start-up.
    await eventually(async () => heard.length >= 16000, 'two seconds of audio from baresip');
    const tail = Int16Array.from(heard.slice(8000, 16000));
    expect(toneRatio(tail, 8000, 440)).toBeGreaterThan(0.5);
    expect(toneRatio(tail, 8000, 1000)).toBeLessThan(0.05);

    const hung = await api.call('DELETE', `/api/v1/calls/${id}`);
    expect(hung.json).toMatchObject({ state: 'ended', endReason: 'hangup' });
    await auto.waitForEvent('CALL_CLOSED');
    expect(env.gw.app.get(CallsService).media(id)).toBeUndefined();

    const [rec] = await eventually(async () => {
      const r = auto.recordings();
      return r.length > 0 && r[0]!.samples.length > r[0]!.sampleRate ? r : undefined;
    }, "baresip's recording");
    const sr = rec!.sampleRate;
    const mid = rec!.samples.slice(Math.floor(sr / 2), Math.floor(sr / 2) + sr);
    expect(toneRatio(mid, sr, 1000)).toBeGreaterThan(0.5);
    expect(toneRatio(mid, sr, 440)).toBeLessThan(0.05);
  });

  it("ends the call when the far end hangs up (baresip's BYE)", async () => {
    auto.events.length = 0;
    const placed = await api.call('POST', '/api/v1/calls', { contactId: contactOf.bob, media: 'audio' });
    const id = placed.json.id as string;
    await waitState(id, 'connected', 'the call connected');
    await auto.waitForEvent('CALL_ESTABLISHED');
    await auto.command('hangup');
    const ended = await waitState(id, 'ended', 'the call ended by baresip');
    expect(ended.endReason).toBe('hangup');
  });

  it('a busy phone ends the call as busy', async () => {
    manual.events.length = 0;
    const placed = await api.call('POST', '/api/v1/calls', {
      endpointId: await endpointOf('carol'),
      media: 'audio',
    });
    const id = placed.json.id as string;
    await manual.waitForEvent('CALL_INCOMING');
    await waitState(id, 'ringing', 'ringing (180 from baresip)');
    await manual.command('hangup');
    const ended = await waitState(id, 'ended', 'the call turned down');
    expect(ended.endReason).toBe('busy');
  });

  it('an unanswered call ends as no_answer after the answer timeout and the phone stops ringing', async () => {
    manual.events.length = 0;
    const placed = await api.call('POST', '/api/v1/calls', { contactId: contactOf.carol, media: 'audio' });
    const id = placed.json.id as string;
    await manual.waitForEvent('CALL_INCOMING');
    const ended = await eventually(
      async () => {
        const c = await callState(id);
        return c.state === 'ended' ? c : undefined;
      },
      'the answer timeout',
      15_000,
    );
    expect(ended.endReason).toBe('no_answer');
    await manual.waitForEvent('CALL_CLOSED');
  });

  it('an incoming call rings as a call.state event, and the user can reject it', async () => {
    manual.events.length = 0;
    await manual.command('dial', kamailio.uri('gw'));
    const incoming = await ringingIncomingCall();
    expect((await callState(incoming.id)).route).toMatchObject({ address: kamailio.uri('carol') });
    const rejected = await api.call('POST', `/api/v1/calls/${incoming.id}/reject`);
    expect(rejected.json).toMatchObject({ state: 'ended', endReason: 'rejected' });
    await manual.waitForEvent('CALL_CLOSED');
  });

  it('an incoming call the user accepts is answered by the gateway leg, with audio', async () => {
    manual.events.length = 0;
    await manual.command('dial', kamailio.uri('gw'));
    const incoming = await ringingIncomingCall();
    const accepted = await api.call('POST', `/api/v1/calls/${incoming.id}/accept`, {});
    expect(accepted.json).toMatchObject({ state: 'connected' });
    await manual.waitForEvent('CALL_ESTABLISHED');
    const leg = env.gw.app.get(CallsService).media(incoming.id)!;
    const heard: number[] = [];
    leg.onAudio((pcm) => heard.push(...pcm));
    await eventually(async () => heard.length >= 8000, 'audio from the caller');
    expect(toneRatio(Int16Array.from(heard.slice(4000, 8000)), 8000, 440)).toBeGreaterThan(0.5);
    await api.call('DELETE', `/api/v1/calls/${incoming.id}`);
    await manual.waitForEvent('CALL_CLOSED');
  });

  it('two clients accepting the same call at once: one answers it, the other gets a 409', async () => {
    manual.events.length = 0;
    await manual.command('dial', kamailio.uri('gw'));
    const incoming = await ringingIncomingCall();
    // Straight into the service, so that both are under way before either has answered.
    const owner = (await api.call('GET', '/api/v1/me')).json.id as string;
    const calls = env.gw.app.get(CallsService);
    const both = await Promise.allSettled([
      calls.accept(owner, incoming.id),
      calls.accept(owner, incoming.id),
    ]);
    expect(both.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = both.find((r): r is PromiseRejectedResult => r.status === 'rejected')!.reason as ApiError;
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused.getStatus()).toBe(409);
    expect(JSON.stringify(refused.getResponse())).toMatch(/being accepted already/);
    await manual.waitForEvent('CALL_ESTABLISHED');
    expect((await callState(incoming.id)).state).toBe('connected');
    await api.call('DELETE', `/api/v1/calls/${incoming.id}`);
    await manual.waitForEvent('CALL_CLOSED');
  });

  it("passes a client's plain-RTP SDP through: the client's own leg talks to baresip", async () => {
    auto.events.length = 0;
    const clientLeg = await RtpMediaLeg.open('127.0.0.1');
    try {
      const placed = await api.call('POST', '/api/v1/calls', {
        contactId: contactOf.bob,
        media: 'audio',
        sdp: clientLeg.offer(['PCMU']),
      });
      expect(placed.status).toBe(201);
      expect(placed.json.route.media).toBe('client');
      expect(env.gw.app.get(CallsService).media(placed.json.id as string)).toBeUndefined();
      await waitState(placed.json.id as string, 'connected', 'connected');
      // The answer reaches the client in the call.state event, as a browser would get it.
      const me = (await api.call('GET', '/api/v1/me')).json.id as string;
      const answer = await eventually(async () => {
        const { frames } = await env.gw.app.get(ClientEventsService).replay(me, '0');
        const f = frames.find(
          (x) =>
            x.type === 'call.state' &&
            (x.data as { id: string; sdp?: string }).id === placed.json.id &&
            (x.data as { sdp?: string }).sdp,
        );
        return (f?.data as { sdp?: string } | undefined)?.sdp;
      }, 'the answer in a call.state event');
      clientLeg.applyAnswer(answer);
      const heard: number[] = [];
      clientLeg.onAudio((pcm) => heard.push(...pcm));
      await eventually(async () => heard.length >= 8000, 'audio at the client leg');
      expect(toneRatio(Int16Array.from(heard.slice(4000, 8000)), 8000, 440)).toBeGreaterThan(0.5);
      await api.call('DELETE', `/api/v1/calls/${placed.json.id as string}`);
      await auto.waitForEvent('CALL_CLOSED');
    } finally {
      clientLeg.close();
    }
  });

  it('refuses a WebRTC offer without G.711 for a SIP route, with the reason', async () => {
    const webrtc =
      'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nc=IN IP4 127.0.0.1\r\n' +
      'm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n';
    const r = await api.call('POST', '/api/v1/calls', {
      contactId: contactOf.bob,
      media: 'audio',
      sdp: webrtc,
    });
    expect(r.status).toBe(409);
    // The negotiator already sees no codec in common (and the gateway does not transcode).
    expect(r.json.error.details.rejected[0].reason).toBe(
      'sip: no common codec (we offer opus; the endpoint has PCMU, PCMA)',
    );
  });

  it('relays a WebRTC client (the browser call button) to the SIP phone: tones cross both ways', async () => {
    auto.events.length = 0;
    const client = new RTCPeerConnection({
      codecs: {
        audio: [new RTCRtpCodecParameters({ mimeType: 'audio/PCMU', clockRate: 8000, payloadType: 0 })],
        video: [],
      },
      iceAdditionalHostAddresses: ['127.0.0.1'],
    });
    const track = new MediaStreamTrack({ kind: 'audio' });
    client.addTransceiver(track, { direction: 'sendrecv' });
    const heard: number[] = [];
    client.onTrack.subscribe((t) =>
      t.onReceiveRtp.subscribe((rtp) => heard.push(...decodeG711('PCMU', rtp.payload))),
    );
    let timer: NodeJS.Timeout | undefined;
    try {
      await client.setLocalDescription(await client.createOffer());
      await eventually(async () => client.iceGatheringState === 'complete', 'gathering');
      const placed = await api.call('POST', '/api/v1/calls', {
        contactId: contactOf.bob,
        media: 'audio',
        sdp: client.localDescription!.sdp,
      });
      expect(placed.status).toBe(201);
      expect(placed.json.route.media).toBe('relay');
      const id = placed.json.id as string;
      const me = (await api.call('GET', '/api/v1/me')).json.id as string;
      const answer = await eventually(async () => {
        const { frames } = await env.gw.app.get(ClientEventsService).replay(me, '0');
        const f = frames.find(
          (x) =>
            x.type === 'call.state' &&
            (x.data as { id: string }).id === id &&
            (x.data as { sdp?: string }).sdp,
        );
        return (f?.data as { sdp?: string } | undefined)?.sdp;
      }, "the gateway's answer to the client");
      await client.setRemoteDescription({ type: 'answer', sdp: answer });
      await eventually(async () => client.connectionState === 'connected', 'the client leg connected');
      await waitState(id, 'connected', 'baresip answered');
      // The client sends a 1 kHz tone as PCMU, 20 ms a packet, as a browser would.
      const tone = sineSource(1000);
      let seq = 0;
      timer = setInterval(() => {
        seq++;
        track.writeRtp(
          new RtpPacket(
            new RtpHeader({ payloadType: 0, sequenceNumber: seq & 0xffff, timestamp: seq * 160 }),
            encodeG711('PCMU', tone(160)),
          ),
        );
      }, 20);
      await eventually(async () => heard.length >= 16000, "two seconds of baresip's tone at the client");
      expect(toneRatio(Int16Array.from(heard.slice(8000, 16000)), 8000, 440)).toBeGreaterThan(0.5);
      await api.call('DELETE', `/api/v1/calls/${id}`);
      await auto.waitForEvent('CALL_CLOSED');
      const recs = auto.recordings();
      const rec = recs[recs.length - 1]!;
      const sr = rec.sampleRate;
      const mid = rec.samples.slice(Math.floor(sr / 2), Math.floor(sr / 2) + sr);
      expect(toneRatio(mid, sr, 1000)).toBeGreaterThan(0.5);
    } finally {
      if (timer) clearInterval(timer);
      await client.close();
    }
  });

  it('resolves glare: both sides call each other at once and exactly one call survives', async () => {
    manual.events.length = 0;
    const placed = await api.call('POST', '/api/v1/calls', { contactId: contactOf.carol, media: 'audio' });
    const ours = placed.json.id as string;
    await manual.waitForEvent('CALL_INCOMING');
    await waitState(ours, 'ringing', 'our call ringing at carol');
    await manual.command('dial', kamailio.uri('gw'));
    // Either their invite was declined (ours survives, still ringing) or ours gave way to theirs,
    // which the gateway answered.
    const outcome = await eventually(async () => {
      const calls = (await api.call('GET', '/api/v1/calls')).json as {
        id: string;
        direction: string;
        state: string;
        route: { replaces?: string };
      }[];
      const mine = calls.find((c) => c.id === ours)!;
      const theirs = calls.find((c) => c.direction === 'incoming' && c.route.replaces === ours);
      if (mine.state === 'ended' && theirs?.state === 'connected') return { winner: 'theirs', id: theirs.id };
      if (mine.state === 'ringing' && manual.events.some((e) => e.type === 'CALL_CLOSED'))
        return { winner: 'ours', id: ours };
      return undefined;
    }, 'glare resolved');
    if (outcome.winner === 'theirs') expect((await callState(ours)).endReason).toBe('hangup');
    await api.call('DELETE', `/api/v1/calls/${outcome.id}`);
    expect((await callState(outcome.id)).state).toBe('ended');
  });

  it('an INVITE delivered twice at once rings as one call, accepted or rejected the moment it is listed', async () => {
    const owner = (await api.call('GET', '/api/v1/me')).json.id as string;
    const calls = env.gw.app.get(CallsService);
    const invite = {
      type: 'call.signal' as const,
      at: new Date().toISOString(),
      callId: CallId(`retransmitted-${Date.now()}`),
      from: RemoteUserId(kamailio.uri('carol')),
      signal: 'invite' as const,
    };
    const account = { accountId, ownerId: owner, network: 'sip' };
    await Promise.all([calls.onSignal(account, invite), calls.onSignal(account, invite)]);
    const ringing = (
      (await api.call('GET', '/api/v1/calls')).json as { id: string; direction: string; state: string }[]
    ).filter((c) => c.direction === 'incoming' && c.state === 'ringing');
    expect(ringing).toHaveLength(1);
    // The listed call is live: rejecting it is not a 409.
    const rejected = await api.call('POST', `/api/v1/calls/${ringing[0]!.id}/reject`);
    expect(rejected.json).toMatchObject({ state: 'ended', endReason: 'rejected' });
  });

  async function endpointOf(user: string): Promise<string> {
    const r = await api.call('GET', `/api/v1/contacts/${contactOf[user]}`);
    return (r.json.endpoints as { id: string }[])[0]!.id;
  }
});
