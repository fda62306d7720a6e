import type { ApiClient, CallState, CallStateData } from './api';

/**
 * One outgoing audio call from this browser: its WebRTC leg goes to the gateway, which carries it to the
 * network's own signalling (SIP, Matrix, Jingle) and relays the media. The gateway's answer arrives in the
 * call's first `call.state` event, which may come before the POST returns: frames are kept until then.
 */
export class BrowserCall {
  readonly pc: RTCPeerConnection;
  id: string | undefined;
  state: CallState = 'negotiating';
  endReason: string | undefined;
  /** Audio packets received from the far end so far (shown, so the user sees that sound arrives). */
  packetsIn = 0;
  private readonly early: CallStateData[] = [];
  private stream: MediaStream | undefined;
  private statsTimer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly api: ApiClient,
    private readonly onChange: (call: BrowserCall) => void,
    iceServers: RTCIceServer[] = [],
  ) {
    this.pc = new RTCPeerConnection({ iceServers });
    this.pc.ontrack = (e) => {
      const audio = document.getElementById('call-audio') as HTMLAudioElement | null;
      if (audio && e.streams[0]) audio.srcObject = e.streams[0];
    };
  }

  async start(contactId: string): Promise<void> {
    this.stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    for (const t of this.stream.getAudioTracks()) this.pc.addTrack(t, this.stream);
    await this.pc.setLocalDescription(await this.pc.createOffer());
    // One offer with every candidate (the gateway also takes trickled ones, but a complete offer is simpler).
    await new Promise<void>((resolve) => {
      if (this.pc.iceGatheringState === 'complete') return resolve();
      const done = () => {
        if (this.pc.iceGatheringState === 'complete') resolve();
      };
      this.pc.addEventListener('icegatheringstatechange', done);
      setTimeout(resolve, 3000);
    });
    const placed = await this.api.placeCall(contactId, this.pc.localDescription!.sdp);
    this.id = placed.id;
    this.state = placed.state;
    this.onChange(this);
    for (const f of this.early.splice(0)) await this.onFrame(f);
  }

  /** A `call.state` frame (of any call: others are ignored). */
  async onFrame(f: CallStateData): Promise<void> {
    if (this.id === undefined) {
      this.early.push(f);
      return;
    }
    if (f.id !== this.id) return;
    if (f.sdp && !this.pc.remoteDescription)
      await this.pc.setRemoteDescription({ type: 'answer', sdp: f.sdp });
    this.state = f.state;
    this.endReason = f.endReason;
    if (f.state === 'connected' && !this.statsTimer)
      this.statsTimer = setInterval(() => void this.readStats(), 1000);
    if (f.state === 'ended' || f.state === 'failed') this.close();
    this.onChange(this);
  }

  private async readStats(): Promise<void> {
    let packets = 0;
    (await this.pc.getStats()).forEach((r: { type: string; kind?: string; packetsReceived?: number }) => {
      if (r.type === 'inbound-rtp' && r.kind === 'audio') packets += r.packetsReceived ?? 0;
    });
    if (packets !== this.packetsIn) {
      this.packetsIn = packets;
      this.onChange(this);
    }
  }

  async hangUp(): Promise<void> {
    if (this.id !== undefined) await this.api.hangUp(this.id);
    this.close();
  }

  close(): void {
    clearInterval(this.statsTimer);
    for (const t of this.stream?.getTracks() ?? []) t.stop();
    this.pc.close();
  }
}
