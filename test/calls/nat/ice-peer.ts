// One call end for the NAT test, run inside a network namespace (`ip netns exec … node -r ts-register`).
// It speaks JSON lines: stdin takes {cmd:'offer'} | {cmd:'answer', sdp} | {cmd:'accept', sdp}; stdout
// gives {sdp}, {state, pair?, received?}. werift is the WebRTC stack (ICE with STUN/TURN, DTLS-SRTP).
import { createInterface } from 'node:readline';
import { MediaStreamTrack, RTCPeerConnection, RtpHeader, RtpPacket } from 'werift';

const iceServers = JSON.parse(process.argv[2] ?? '[]') as {
  urls: string;
  username?: string;
  credential?: string;
}[];
const pc = new RTCPeerConnection({ iceServers, iceUseIpv6: false });
const track = new MediaStreamTrack({ kind: 'audio' });
pc.addTransceiver(track, { direction: 'sendrecv' });
let received = 0;
pc.onTrack.subscribe((t) => t.onReceiveRtp.subscribe(() => received++));

const out = (o: unknown): void => void process.stdout.write(JSON.stringify(o) + '\n');
const typeOf = (line: string): string => /typ (\w+)/.exec(line)?.[1] ?? 'unknown';

async function gathered(): Promise<string> {
  while (pc.iceGatheringState !== 'complete') await new Promise((r) => setTimeout(r, 20));
  return pc.localDescription!.sdp;
}

// ICE's own verdict: every candidate pair failed its checks.
pc.iceConnectionStateChange.subscribe((state) => {
  if (state === 'failed') out({ state: 'ice-failed' });
});

pc.connectionStateChange.subscribe((state) => {
  if (state !== 'connected') return out({ state });
  const pair = pc.iceTransports[0]?.connection.nominated?.json;
  out({
    state,
    ...(pair ? { pair: { local: typeOf(pair.localCandidate), remote: typeOf(pair.remoteCandidate) } } : {}),
  });
  // Media both ways: packets every 20 ms; the count is reported until the parent ends us.
  let seq = 0;
  const pt = pc.getTransceivers()[0]!.codecs[0]?.payloadType ?? 111;
  setInterval(() => {
    seq++;
    track.writeRtp(
      new RtpPacket(
        new RtpHeader({ payloadType: pt, sequenceNumber: seq & 0xffff, timestamp: seq * 960 }),
        Buffer.alloc(40, 1),
      ),
    );
    if (seq % 10 === 0) out({ state: 'media', received });
  }, 20);
});

createInterface({ input: process.stdin }).on('line', (line) => {
  void (async () => {
    const m = JSON.parse(line) as { cmd: string; sdp?: string };
    if (m.cmd === 'offer') {
      await pc.setLocalDescription(await pc.createOffer());
      out({ sdp: await gathered() });
    } else if (m.cmd === 'answer') {
      await pc.setRemoteDescription({ type: 'offer', sdp: m.sdp! });
      await pc.setLocalDescription(await pc.createAnswer());
      out({ sdp: await gathered() });
    } else if (m.cmd === 'accept') {
      await pc.setRemoteDescription({ type: 'answer', sdp: m.sdp! });
    }
  })().catch((err: unknown) => out({ error: String(err) }));
});
process.stdin.on('end', () => process.exit(0));
