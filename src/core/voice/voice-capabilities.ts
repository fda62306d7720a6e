import type { PresenceState } from '../../sdk';

/**
 * What each network can do for calls, and what we learned about one endpoint. Pure data: the calls
 * module fills these from the adapters' manifests, the endpoints' stored capabilities and the accounts'
 * connection states, and route-selection.ts ranks them.
 */

export type CallMediaKind = 'audio' | 'video';

/** The codecs the gateway understands in offers (names as SDP's rtpmap spells them, case-insensitive). */
export const KNOWN_CODECS = ['opus', 'G722', 'PCMU', 'PCMA'] as const;
export type CodecName = (typeof KNOWN_CODECS)[number];

/** Best first: used to break ties between routes and to order an offer. */
const CODEC_QUALITY: Record<CodecName, number> = { opus: 4, G722: 3, PCMU: 2, PCMA: 2 };

export function codecQuality(c: CodecName): number {
  return CODEC_QUALITY[c];
}

/** The codec names of an offer normalised to KNOWN_CODECS; unknown ones are dropped. */
export function normaliseCodecs(names: readonly string[]): CodecName[] {
  const out: CodecName[] = [];
  for (const n of names) {
    const hit = KNOWN_CODECS.find((k) => k.toLowerCase() === n.toLowerCase());
    if (hit && !out.includes(hit)) out.push(hit);
  }
  return out;
}

/** How calls are signalled on a network; `none` for networks without calls (IRC). */
export type Signalling = 'sip' | 'jingle' | 'matrix-voip' | 'none';

export interface NetworkVoiceProfile {
  signalling: Signalling;
  audio: boolean;
  video: boolean;
  /** Codecs an endpoint of this network is assumed to have when it advertises none. */
  defaultCodecs: CodecName[];
}

/** The bundled networks. An adapter not listed here is described from its manifest (networkProfileFrom). */
export const NETWORK_VOICE_PROFILES: Readonly<Record<string, NetworkVoiceProfile>> = {
  irc: { signalling: 'none', audio: false, video: false, defaultCodecs: [] },
  // WebRTC mandates Opus and G.711; Jingle and Matrix calls are WebRTC in practice.
  xmpp: { signalling: 'jingle', audio: true, video: true, defaultCodecs: ['opus', 'PCMU', 'PCMA'] },
  matrix: { signalling: 'matrix-voip', audio: true, video: true, defaultCodecs: ['opus', 'PCMU', 'PCMA'] },
  // G.711 is the one codec every SIP phone has; OPTIONS or the INVITE's answer tell us more.
  sip: { signalling: 'sip', audio: true, video: false, defaultCodecs: ['PCMU', 'PCMA'] },
};

/** A profile for a network the table does not know, from what its adapter declares. */
export function networkProfileFrom(manifest: {
  voice?: boolean;
  media?: { audio: boolean; video: boolean };
}): NetworkVoiceProfile {
  const audio = manifest.voice === true && manifest.media?.audio !== false;
  return {
    signalling: audio ? 'sip' : 'none',
    audio,
    video: audio && manifest.media?.video === true,
    defaultCodecs: audio ? ['PCMU', 'PCMA'] : [],
  };
}

/** XMPP service discovery features that matter for calls (XEP-0166/0167/0353). */
export const XMPP_FEATURES = {
  jingle: 'urn:xmpp:jingle:1',
  audio: 'urn:xmpp:jingle:apps:rtp:audio',
  video: 'urn:xmpp:jingle:apps:rtp:video',
  jmi: 'urn:xmpp:jingle-message:0',
} as const;

/** One resource of an endpoint (an XMPP resource, a SIP registered contact), each with its own facts. */
export interface ResourceFacts {
  resource: string;
  presence: PresenceState;
  /** Epoch ms of its last activity. */
  lastActiveAt?: number;
  /** Disco/caps features (XMPP). */
  features?: readonly string[];
  codecs?: readonly string[];
}

/**
 * What the gateway knows about one endpoint when a call is asked for. `capabilities` is the endpoint's
 * stored capability record (from `contact.upsert` events): `voice`, `video`, `codecs`, and per-network
 * facts (`directRoom` for Matrix, `registered` for SIP, `features`/`resources` for XMPP, `trunk`).
 */
export interface EndpointVoiceFacts {
  endpointId: string;
  accountId: string;
  network: string;
  address: string;
  presence: PresenceState;
  lastActiveAt?: number;
  accountConnected: boolean;
  /** The account's client implements the SDK's VoiceCapable interface. */
  clientVoiceCapable: boolean;
  capabilities: Readonly<Record<string, unknown>>;
}

/** The typed view of an endpoint's capability record; wrong types count as absent. */
export interface EndpointVoiceCaps {
  voice?: boolean;
  video?: boolean;
  codecs?: string[];
  features?: string[];
  resources?: ResourceFacts[];
  directRoom?: boolean;
  registered?: boolean;
  trunk?: boolean;
}

const bool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined);
const strings = (v: unknown): string[] | undefined =>
  Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined;

export function readVoiceCaps(caps: Readonly<Record<string, unknown>>): EndpointVoiceCaps {
  const out: EndpointVoiceCaps = {};
  for (const k of ['voice', 'video', 'directRoom', 'registered', 'trunk'] as const) {
    const b = bool(caps[k]);
    if (b !== undefined) out[k] = b;
  }
  const codecs = strings(caps.codecs);
  if (codecs) out.codecs = codecs;
  const features = strings(caps.features);
  if (features) out.features = features;
  if (Array.isArray(caps.resources)) {
    const res: ResourceFacts[] = [];
    for (const r of caps.resources as unknown[]) {
      if (typeof r !== 'object' || r === null) continue;
      const o = r as Record<string, unknown>;
      if (typeof o.resource !== 'string' || typeof o.presence !== 'string') continue;
      const f = strings(o.features);
      const c = strings(o.codecs);
      res.push({
        resource: o.resource,
        presence: o.presence as PresenceState,
        ...(typeof o.lastActiveAt === 'number' ? { lastActiveAt: o.lastActiveAt } : {}),
        ...(f ? { features: f } : {}),
        ...(c ? { codecs: c } : {}),
      });
    }
    out.resources = res;
  }
  return out;
}
