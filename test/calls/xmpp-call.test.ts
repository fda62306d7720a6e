import path from 'node:path';
import { MediaStreamTrack, RTCPeerConnection, RtpHeader, RtpPacket } from 'werift';
import { ClientEventsService } from '../../src/events/client-events.service';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../support/gateway';
import { type ProsodyServer, startProsody } from '../support/prosody';

const XMPP_ADAPTER_PATH = path.resolve(__dirname, '../../adapters/xmpp');

/** A werift peer on loopback, its candidates gathered into the SDP (the tests do not trickle). */
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
}

/**
 * An XMPP call between two users of one gateway, each with an account on a real prosody: caps in
 * presence make the contact callable, Jingle Message Initiation reaches the callee's account, the
 * Jingle session carries the web clients' SDP (werift peers), ICE connects, packets flow both ways,
 * and the caller's hangup ends the callee's call.
 */
describe('XMPP calls through the gateway (Jingle + JMI, werift peers)', () => {
  let server: ProsodyServer;
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  const api: Record<'alice' | 'bob', Api> = {} as Record<'alice' | 'bob', Api>;
  const userId: Record<string, string> = {};
  const peers: Peer[] = [];

  beforeAll(async () => {
    server = await startProsody({ allowPlaintext: true });
    await server.registerUser('alice', 'alice-pw');
    await server.registerUser('bob', 'bob-pw');
    env = await startTestGateway({ adapters: [{ id: 'xmpp', path: XMPP_ADAPTER_PATH }] });
    const anon = new Api(env.gw.url);
    const admin = await anon.login('admin', ADMIN_PASSWORD);
    const accounts: Record<string, string> = {};
    for (const who of ['alice', 'bob'] as const) {
      expect(
        (await admin.call('POST', '/api/v1/users', { username: who, password: `${who}-password-1` })).status,
      ).toBe(201);
      api[who] = await anon.login(who, `${who}-password-1`);
      userId[who] = (await api[who].call('GET', '/api/v1/me')).json.id as string;
      const acc = await api[who].call('POST', '/api/v1/accounts', {
        adapter: 'xmpp',
        options: {
          jid: `${who}@${server.domain}`,
          password: `${who}-pw`,
          host: server.host,
          port: server.port,
          trustedCertificate: server.certificatePem,
        },
      });
      expect(acc.status).toBe(201);
      accounts[who] = acc.json.id as string;
      await eventually(
        async () =>
          (await api[who].call('GET', `/api/v1/accounts/${accounts[who]}`)).json.state === 'connected',
        `${who} connected`,
      );
    }
    // Buddies both ways: presence (with caps) flows, so each sees the other can take Jingle calls.
    await api.alice.call('POST', `/api/v1/accounts/${accounts.alice}/contacts`, {
      address: `bob@${server.domain}`,
    });
    await api.bob.call('POST', `/api/v1/accounts/${accounts.bob}/contacts`, {
      address: `alice@${server.domain}`,
    });
  });

  afterAll(async () => {
    for (const p of peers) await p.pc.close();
    await env?.stop();
    await server?.stop();
  });

  async function sdpEvent(who: 'alice' | 'bob', id: string): Promise<string> {
    return eventually(async () => {
      const { frames } = await env.gw.app.get(ClientEventsService).replay(userId[who]!, '0');
      const f = frames.find(
        (x) =>
          x.type === 'call.state' && (x.data as { id: string }).id === id && (x.data as { sdp?: string }).sdp,
      );
      return (f?.data as { sdp?: string } | undefined)?.sdp;
    }, `${who}'s call.state with the SDP`);
  }

  it('alice calls bob: it rings at bob, he accepts, ICE connects, packets flow both ways, her hangup ends it', async () => {
    const contactId = await eventually(async () => {
      const r = await api.alice.call('GET', '/api/v1/contacts');
      return (
        r.json as { id: string; endpoints: { address: string; capabilities: { voice?: boolean } }[] }[]
      ).find((c) =>
        c.endpoints.some((e) => e.address === `bob@${server.domain}` && e.capabilities.voice === true),
      )?.id;
    }, "bob's caps say he takes Jingle audio");
    // This prosody offers no external services (XEP-0215): the query is answered with an error and the
    // client gets no servers from it, promptly.
    expect((await api.alice.call('GET', '/api/v1/calls/ice-servers')).json.iceServers).toEqual([]);
    const routes = await api.alice.call('GET', `/api/v1/contacts/${contactId}/call-routes?media=audio`);
    expect(routes.json.routes[0]).toMatchObject({ network: 'xmpp', signalling: 'jingle', how: 'native' });

    const client = new Peer();
    const far = new Peer();
    peers.push(client, far);
    const placed = await api.alice.call('POST', '/api/v1/calls', {
      contactId,
      media: 'audio',
      sdp: await client.offer(),
    });
    expect(placed.status).toBe(201);
    const id = placed.json.id as string;

    const incoming = await eventually(async () => {
      const r = await api.bob.call('GET', '/api/v1/calls');
      return (r.json as { id: string; direction: string; state: string }[]).find(
        (c) => c.direction === 'incoming' && c.state === 'ringing',
      );
    }, 'the call ringing at bob');
    await eventually(
      async () => (await api.alice.call('GET', `/api/v1/calls/${id}`)).json.state === 'ringing',
      'ringing at alice',
    );
    const offer = await sdpEvent('bob', incoming.id);
    const accepted = await api.bob.call('POST', `/api/v1/calls/${incoming.id}/accept`, {
      sdp: await far.answer(offer),
    });
    expect(accepted.json).toMatchObject({ state: 'connected' });
    await client.accept(await sdpEvent('alice', id));
    await eventually(
      async () => (await api.alice.call('GET', `/api/v1/calls/${id}`)).json.state === 'connected',
      'connected at alice',
    );
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
    expect((await api.alice.call('DELETE', `/api/v1/calls/${id}`)).json).toMatchObject({ state: 'ended' });
    const ended = await eventually(async () => {
      const c = (await api.bob.call('GET', `/api/v1/calls/${incoming.id}`)).json;
      return c.state === 'ended' ? c : undefined;
    }, "the hangup at bob's side");
    expect(ended.endReason).toBe('hangup');
  });
});
