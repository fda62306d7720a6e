import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import * as sdpTransform from 'sdp-transform';
import { decodeG711, encodeG711, type G711Codec } from './g711.codec';

/** Static RTP payload types of the codecs this leg speaks (RFC 3551). */
const PAYLOAD: Record<G711Codec, number> = { PCMU: 0, PCMA: 8 };
const SAMPLE_RATE = 8000;
const PTIME_MS = 20;
const FRAME = (SAMPLE_RATE * PTIME_MS) / 1000;

export type AudioSource = (samples: number) => Int16Array;

export interface RtpLegStats {
  packetsSent: number;
  packetsReceived: number;
  /** Epoch ms of the first media packet received. */
  firstPacketAt?: number;
}

export class SdpError extends Error {
  override name = 'SdpError';
}

/**
 * A call leg the gateway terminates itself with plain RTP (SIP's media): one UDP socket, G.711, SDP
 * written and read with sdp-transform. It sends what its source gives (silence without one) every 20 ms
 * once the far end is known, and hands decoded audio to listeners. The relay to another leg attaches here.
 */
export class RtpMediaLeg {
  private remote?: { address: string; port: number };
  private chosen?: G711Codec;
  private seq = randomInt(0, 0xffff);
  private timestamp = randomInt(0, 0x7fffffff);
  private readonly ssrc = randomInt(1, 0x7fffffff);
  private source?: AudioSource;
  private timer?: NodeJS.Timeout;
  private readonly listeners = new Set<(pcm: Int16Array) => void>();
  private readonly payloadListeners = new Set<(payload: Buffer) => void>();
  /** Relaying another leg: packets go out as they come in, not from the 20 ms clock. */
  private relaying = false;
  private closed = false;
  readonly stats: RtpLegStats = { packetsSent: 0, packetsReceived: 0 };
  private readonly sessionId = String(randomInt(1, 2 ** 47));

  private constructor(
    private readonly socket: dgram.Socket,
    readonly address: string,
    readonly port: number,
  ) {
    socket.on('message', (msg, rinfo) => this.onPacket(msg, rinfo));
    socket.on('error', () => undefined);
  }

  /** Binds an even UDP port on `address` (RTP convention; RTCP would take the odd one above). */
  static async open(address: string): Promise<RtpMediaLeg> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const socket = dgram.createSocket('udp4');
      const port = 2 * randomInt(10000, 30000);
      const ok = await new Promise<boolean>((resolve) => {
        socket.once('error', () => resolve(false));
        socket.bind(port, address, () => resolve(true));
      });
      if (ok) return new RtpMediaLeg(socket, address, port);
      socket.close();
    }
    throw new Error(`no free RTP port on ${address}`);
  }

  get codec(): G711Codec | undefined {
    return this.chosen;
  }

  /** Our offer: the codecs in our order of preference. */
  offer(codecs: readonly G711Codec[] = ['PCMU', 'PCMA']): string {
    return this.describe(codecs);
  }

  /** Answers a remote offer with the first codec of theirs we have; throws SdpError when there is none. */
  answer(remoteOffer: string): string {
    const { codec, remote } = this.read(remoteOffer);
    this.chosen = codec;
    this.remote = remote;
    this.startSending();
    return this.describe([codec]);
  }

  /** Applies the far end's answer to our offer. */
  applyAnswer(remoteAnswer: string): void {
    const { codec, remote } = this.read(remoteAnswer);
    this.chosen = codec;
    this.remote = remote;
    this.startSending();
  }

  /** What to send from now on (a relay, a tone, a prompt); silence without one. */
  play(source: AudioSource | undefined): void {
    this.source = source;
  }

  /**
   * Relay mode: what `sendPayload` gets goes out as RTP (our sequence, timestamp and SSRC), and received
   * payloads reach `onPayload` listeners as they are (codec pass-through with another leg).
   */
  relay(): void {
    this.relaying = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  sendPayload(payload: Buffer): void {
    if (!this.remote || !this.chosen || this.closed) return;
    this.writePacket(payload, payload.length);
  }

  onPayload(listener: (payload: Buffer) => void): () => void {
    this.payloadListeners.add(listener);
    return () => this.payloadListeners.delete(listener);
  }

  onAudio(listener: (pcm: Int16Array) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.listeners.clear();
    this.payloadListeners.clear();
    this.socket.close();
  }

  private describe(codecs: readonly G711Codec[]): string {
    const pts = codecs.map((c) => PAYLOAD[c]);
    return sdpTransform.write({
      version: 0,
      origin: {
        username: '-',
        sessionId: this.sessionId,
        sessionVersion: 1,
        netType: 'IN',
        ipVer: 4,
        address: this.address,
      },
      name: 'switchboard',
      connection: { version: 4, ip: this.address },
      timing: { start: 0, stop: 0 },
      media: [
        {
          type: 'audio',
          port: this.port,
          protocol: 'RTP/AVP',
          payloads: pts.join(' '),
          rtp: codecs.map((c) => ({ payload: PAYLOAD[c], codec: c, rate: SAMPLE_RATE })),
          fmtp: [],
          ptime: PTIME_MS,
          direction: 'sendrecv',
        },
      ],
    });
  }

  private read(sdp: string): { codec: G711Codec; remote: { address: string; port: number } } {
    const s = sdpTransform.parse(sdp);
    const audio = s.media.find((m) => m.type === 'audio' && m.port > 0);
    if (!audio) throw new SdpError('the SDP has no active audio stream');
    if (audio.protocol !== 'RTP/AVP')
      throw new SdpError(`the SDP asks for ${audio.protocol}; this leg speaks plain RTP (RTP/AVP)`);
    const ip = audio.connection?.ip ?? s.connection?.ip;
    if (!ip) throw new SdpError('the SDP has no connection address');
    const payloads = String(audio.payloads ?? '')
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
    // A static payload type needs no rtpmap; a dynamic one names its codec in one.
    const nameOf = (pt: number): string | undefined =>
      audio.rtp.find((r) => r.payload === pt)?.codec.toUpperCase() ??
      (pt === 0 ? 'PCMU' : pt === 8 ? 'PCMA' : undefined);
    for (const pt of payloads) {
      const name = nameOf(pt);
      if (name === 'PCMU' || name === 'PCMA')
        return { codec: name, remote: { address: ip, port: audio.port } };
    }
    throw new SdpError(
      `no common codec: they offer ${payloads.map((p) => nameOf(p) ?? String(p)).join(', ')}; we have PCMU, PCMA`,
    );
  }

  private startSending(): void {
    if (this.timer || this.closed || this.relaying) return;
    // Paced by wall time so that a late tick sends the frames it owes instead of drifting.
    const start = Date.now();
    let sent = 0;
    this.timer = setInterval(() => {
      const due = Math.floor((Date.now() - start) / PTIME_MS) + 1;
      if (due - sent > 5) sent = due - 5; // after a long stall, skip rather than burst
      while (sent < due) {
        this.sendFrame();
        sent++;
      }
    }, PTIME_MS);
    this.timer.unref();
  }

  private sendFrame(): void {
    if (!this.remote || !this.chosen || this.closed) return;
    const pcm = this.source?.(FRAME) ?? new Int16Array(FRAME);
    this.writePacket(encodeG711(this.chosen, pcm), FRAME);
  }

  private writePacket(payload: Buffer, samples: number): void {
    if (!this.remote || !this.chosen) return;
    const header = Buffer.alloc(12);
    header[0] = 0x80;
    header[1] = PAYLOAD[this.chosen];
    header.writeUInt16BE(this.seq, 2);
    header.writeUInt32BE(this.timestamp >>> 0, 4);
    header.writeUInt32BE(this.ssrc, 8);
    this.seq = (this.seq + 1) & 0xffff;
    this.timestamp = (this.timestamp + samples) >>> 0;
    this.socket.send(Buffer.concat([header, payload]), this.remote.port, this.remote.address);
    this.stats.packetsSent++;
  }

  private onPacket(msg: Buffer, _rinfo: dgram.RemoteInfo): void {
    if (msg.length < 12 || msg[0]! >> 6 !== 2) return;
    const pt = msg[1]! & 0x7f;
    const codec = pt === 0 ? 'PCMU' : pt === 8 ? 'PCMA' : undefined;
    if (!codec) return; // comfort noise, DTMF events: not audio for us
    const cc = msg[0]! & 0x0f;
    let off = 12 + 4 * cc;
    if (msg[0]! & 0x10) {
      if (msg.length < off + 4) return;
      off += 4 + 4 * msg.readUInt16BE(off + 2);
    }
    let end = msg.length;
    if (msg[0]! & 0x20) end -= msg[msg.length - 1]!;
    if (end <= off) return;
    this.stats.packetsReceived++;
    this.stats.firstPacketAt ??= Date.now();
    const payload = msg.subarray(off, end);
    for (const l of this.payloadListeners) l(Buffer.from(payload));
    if (this.listeners.size === 0) return;
    const pcm = decodeG711(codec, payload);
    for (const l of this.listeners) l(pcm);
  }
}
