import { MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters, RtpHeader, RtpPacket } from 'werift';
import type { G711Codec } from './g711.codec';

const STATIC_PT: Record<G711Codec, number> = { PCMU: 0, PCMA: 8 };

/**
 * The gateway's WebRTC end towards a client (the browser's call button): werift answers the client's
 * offer (ICE, DTLS-SRTP) with one G.711 codec, so that audio can pass between this leg and a plain-RTP
 * SIP leg without transcoding. werift has no codecs of its own: payloads pass through untouched.
 */
export class WebRtcMediaLeg {
  private readonly track = new MediaStreamTrack({ kind: 'audio' });
  private readonly listeners = new Set<(payload: Buffer) => void>();
  private seq = 0;
  private timestamp = 0;
  private closed = false;

  private constructor(
    private readonly pc: RTCPeerConnection,
    readonly codec: G711Codec,
  ) {}

  /** The codecs of an offer's audio this leg can take, in the offer's order. */
  static g711In(offerSdp: string): G711Codec[] {
    const out: G711Codec[] = [];
    for (const m of offerSdp.matchAll(/^a=rtpmap:\d+ (PCMU|PCMA)\/8000/gim)) {
      const c = m[1]!.toUpperCase() as G711Codec;
      if (!out.includes(c)) out.push(c);
    }
    return out;
  }

  /** Answers the client's offer with `codec`; resolves with the leg and its answer (candidates gathered). */
  static async answer(
    offerSdp: string,
    codec: G711Codec,
    opts: {
      hostAddresses?: string[];
      iceServers?: { urls: string; username?: string; credential?: string }[];
    },
  ): Promise<{ leg: WebRtcMediaLeg; sdp: string }> {
    const pc = new RTCPeerConnection({
      codecs: {
        audio: [
          new RTCRtpCodecParameters({
            mimeType: `audio/${codec}`,
            clockRate: 8000,
            payloadType: STATIC_PT[codec],
          }),
        ],
        video: [],
      },
      ...(opts.hostAddresses ? { iceAdditionalHostAddresses: opts.hostAddresses } : {}),
      ...(opts.iceServers ? { iceServers: opts.iceServers } : {}),
    });
    const leg = new WebRtcMediaLeg(pc, codec);
    try {
      pc.onTrack.subscribe((t) =>
        t.onReceiveRtp.subscribe((rtp) => {
          for (const l of leg.listeners) l(rtp.payload);
        }),
      );
      await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
      const transceiver = pc.getTransceivers().find((t) => t.kind === 'audio');
      if (!transceiver) throw new Error('the offer has no audio');
      await transceiver.sender.replaceTrack(leg.track);
      transceiver.setDirection('sendrecv');
      await pc.setLocalDescription(await pc.createAnswer());
      const deadline = Date.now() + 10_000;
      while (pc.iceGatheringState !== 'complete') {
        if (Date.now() > deadline) throw new Error('ICE gathering did not complete');
        await new Promise((r) => setTimeout(r, 10));
      }
      return { leg, sdp: pc.localDescription!.sdp };
    } catch (err) {
      await leg.close();
      throw err;
    }
  }

  /** Payloads (one 20 ms G.711 frame each, as the far end sent them) to the client. */
  sendPayload(payload: Buffer): void {
    if (this.closed) return;
    this.seq = (this.seq + 1) & 0xffff;
    this.timestamp = (this.timestamp + payload.length) >>> 0; // G.711: one byte a sample
    this.track.writeRtp(
      new RtpPacket(
        new RtpHeader({
          payloadType: STATIC_PT[this.codec],
          sequenceNumber: this.seq,
          timestamp: this.timestamp,
        }),
        payload,
      ),
    );
  }

  onPayload(listener: (payload: Buffer) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get connectionState(): string {
    return this.pc.connectionState;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    await this.pc.close().catch(() => undefined);
  }
}
