import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary, startProcess, type ManagedProcess } from './managed-process';
import { freePort } from './ports';

export interface BaresipOptions {
  /** `sip:user@domain` of the account, its password and the proxy (`host:port`) it registers with. */
  aor: string;
  password: string;
  proxy: string;
  /** `auto` answers every call; `manual` lets the test answer or hang up through the control socket. */
  answermode: 'auto' | 'manual';
  /** The tone baresip sends (ausine), in Hz. */
  toneHz: number;
}

export interface BaresipEvent {
  type: string;
  param?: string;
  peeruri?: string;
  [k: string]: unknown;
}

export interface BaresipPhone {
  readonly events: BaresipEvent[];
  /** A command through ctrl_tcp (`dial sip:…`, `hangup`, `accept`). */
  command(cmd: string, params?: string): Promise<void>;
  waitForEvent(type: string, timeoutMs?: number): Promise<BaresipEvent>;
  /** The decoded audio baresip received in its calls (sndfile's *-dec.wav dumps), mono 16-bit. */
  recordings(): { sampleRate: number; samples: Int16Array }[];
  output(): string;
  stop(): Promise<void>;
}

/**
 * baresip as the far phone: one account registered through the proxy, ausine as the audio source (a
 * pure tone), and the sndfile filter dumping what it decodes to WAV files we read back. The ctrl_tcp
 * module gives the test commands and call events (netstring-framed JSON).
 */
export async function startBaresip(o: BaresipOptions, attempt = 1): Promise<BaresipPhone> {
  const bin = requireBinary('baresip', ['/usr/bin/baresip'], 'baresip');
  const dir = mkdtempSync(join(tmpdir(), 'sb-baresip-'));
  let proc: ManagedProcess | undefined;
  let sock: net.Socket | undefined;
  try {
    // baresip 1.0 listens on UDP and TCP at sip_listen and on TLS at the next port, whatever
    // sip_transports says; its RTP range is UDP only.
    const sipPort = await freePort('127.0.0.1', { span: 2, udp: true });
    const ctrlPort = await freePort();
    const rtpBlock = await freePort('127.0.0.1', { span: 42, tcp: false, udp: true });
    const rtpLow = rtpBlock + (rtpBlock % 2);
    writeFileSync(
      join(dir, 'config'),
      [
        'poll_method epoll',
        `sip_listen 127.0.0.1:${sipPort}`,
        'sip_transports udp',
        'audio_player aubridge,sink',
        `audio_source ausine,${o.toneHz}`,
        'audio_alert aubridge,sink',
        'ausrc_srate 48000',
        'ausrc_channels 2',
        'auplay_srate 8000',
        'auplay_channels 1',
        `rtp_ports ${rtpLow}-${rtpLow + 40}`,
        'module_path /usr/lib/baresip/modules',
        'module g711.so',
        'module ausine.so',
        'module aubridge.so',
        'module sndfile.so',
        `snd_path ${dir}`,
        'module_app account.so',
        'module_app menu.so',
        'module_app ctrl_tcp.so',
        `ctrl_tcp_listen 127.0.0.1:${ctrlPort}`,
        'net_interface 127.0.0.1',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'accounts'),
      `<${o.aor}>;auth_pass=${o.password};outbound="sip:${o.proxy};transport=udp";regint=600;` +
        `answermode=${o.answermode};audio_codecs=PCMU,PCMA;mediaenc=\n`,
    );
    const p = startProcess('baresip', bin, ['-f', dir], { cwd: dir });
    proc = p;
    await p.waitForOutput(/\b200 OK\b.*binding/, 15_000);
    const events: BaresipEvent[] = [];
    sock = await connectCtrl(ctrlPort, events);
    const s = sock;
    return {
      events,
      async command(cmd, params) {
        const json = JSON.stringify({
          command: cmd,
          ...(params ? { params } : {}),
          token: String(Date.now()),
        });
        s.write(`${Buffer.byteLength(json)}:${json},`);
        await new Promise((r) => setTimeout(r, 0));
      },
      async waitForEvent(type, timeoutMs = 15_000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const e = events.find((x) => x.type === type);
          if (e) return e;
          if (Date.now() > deadline)
            throw new Error(
              `baresip did not report ${type}; events: ${events.map((x) => x.type).join(', ')}\n${p.output.slice(-3000)}`,
            );
          await new Promise((r) => setTimeout(r, 25));
        }
      },
      recordings() {
        return readdirSync(dir)
          .filter((f) => /^dump-.*-dec\.wav$/.test(f))
          .sort()
          .map((f) => readWav(readFileSync(join(dir, f))));
      },
      output: () => p.output,
      async stop() {
        s.destroy();
        await p.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    sock?.destroy();
    await proc?.stop();
    rmSync(dir, { recursive: true, force: true });
    // A port taken between our check and baresip's bind (by a process outside this one): new ports.
    if (attempt < 3 && /Address already in use/.test(String(err))) return startBaresip(o, attempt + 1);
    throw err;
  }
}

async function connectCtrl(port: number, events: BaresipEvent[]): Promise<net.Socket> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const s = await new Promise<net.Socket>((resolve, reject) => {
        const c = net.connect({ port, host: '127.0.0.1' });
        c.once('connect', () => resolve(c));
        c.once('error', reject);
      });
      let buf = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        for (;;) {
          const colon = buf.indexOf(0x3a);
          if (colon < 0) return;
          const len = Number(buf.subarray(0, colon).toString());
          if (buf.length < colon + 1 + len + 1) return;
          const json = buf.subarray(colon + 1, colon + 1 + len).toString();
          buf = buf.subarray(colon + 1 + len + 1);
          try {
            const msg = JSON.parse(json) as { event?: boolean } & BaresipEvent;
            if (msg.event) events.push(msg);
          } catch {
            // a malformed frame: ignored, the test waits on events it understands
          }
        }
      });
      s.on('error', () => undefined);
      return s;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** A PCM WAV file's first channel as 16-bit samples. */
export function readWav(buf: Buffer): { sampleRate: number; samples: Int16Array } {
  if (buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE')
    throw new Error('not a WAV file');
  let off = 12;
  let sampleRate = 0;
  let channels = 1;
  let bits = 16;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    let size = buf.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      channels = buf.readUInt16LE(body + 2);
      sampleRate = buf.readUInt32LE(body + 4);
      bits = buf.readUInt16LE(body + 14);
    } else if (id === 'data') {
      // sndfile leaves the size 0 or huge until the file is closed: take what is there.
      if (size === 0 || body + size > buf.length) size = buf.length - body;
      if (bits !== 16) throw new Error(`WAV with ${bits}-bit samples`);
      const frames = Math.floor(size / (2 * channels));
      const out = new Int16Array(frames);
      for (let i = 0; i < frames; i++) out[i] = buf.readInt16LE(body + i * 2 * channels);
      return { sampleRate, samples: out };
    }
    off = body + size + (size % 2);
  }
  throw new Error('WAV file without data');
}
