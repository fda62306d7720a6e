import type { PresenceState } from '../../sdk';
import {
  type CallMediaKind,
  type CodecName,
  codecQuality,
  type EndpointVoiceFacts,
  NETWORK_VOICE_PROFILES,
  type NetworkVoiceProfile,
  normaliseCodecs,
  readVoiceCaps,
  type ResourceFacts,
  type Signalling,
  XMPP_FEATURES,
} from './voice-capabilities';

export interface RouteRequest {
  media: CallMediaKind;
  /** Codecs the calling side can handle, best first (the gateway's media leg or the client's offer). */
  codecs: readonly CodecName[];
  /** The network the call comes from when the gateway bridges it; routes on that network are native. */
  fromNetwork?: string;
  /** Per-network profiles; defaults to NETWORK_VOICE_PROFILES. */
  profiles?: Readonly<Record<string, NetworkVoiceProfile>>;
}

interface RouteTarget {
  endpointId: string;
  accountId: string;
  network: string;
  address: string;
  /** The resource (XMPP full JID's resource, SIP contact) the call goes to, when there is a choice. */
  resource?: string;
}

export interface RankedRoute extends RouteTarget {
  /** `native`: the call stays on one network; `bridged`: the gateway joins legs on two networks. */
  how: 'native' | 'bridged';
  signalling: Signalling;
  /** The codecs both sides have, best first. */
  codecs: CodecName[];
  presence: PresenceState;
  lastActiveAt?: number;
  /** A PSTN/SIP trunk route: it costs money, so it is ranked last. */
  trunk: boolean;
  /** Why the route is what it is (for the UI's "why this route"). */
  reasons: string[];
  /** For every route but the first: the rule that put it below the one before. */
  rankedBelowBecause?: string;
}

export interface RejectedRoute extends RouteTarget {
  reason: string;
}

export interface RouteSelection {
  routes: RankedRoute[];
  rejected: RejectedRoute[];
}

const PRESENCE_RANK: Partial<Record<PresenceState, number>> = { available: 0, away: 1, busy: 2, unknown: 3 };

type Candidate = Omit<RankedRoute, 'reasons' | 'rankedBelowBecause'>;

/**
 * The negotiator: every endpoint of a person (and every resource of it) becomes a route or a rejection
 * with a reason. Routes are ranked by these rules, in order: native before bridged (same network as the
 * caller), non-trunk before trunk (cost), presence (available > away > busy > unknown-but-reachable),
 * most recently active, best common codec, most common codecs; ties keep the input order.
 */
export function selectRoutes(endpoints: readonly EndpointVoiceFacts[], req: RouteRequest): RouteSelection {
  const profiles = req.profiles ?? NETWORK_VOICE_PROFILES;
  const rejected: RejectedRoute[] = [];
  const candidates: Candidate[] = [];
  for (const ep of endpoints) {
    const target: RouteTarget = {
      endpointId: ep.endpointId,
      accountId: ep.accountId,
      network: ep.network,
      address: ep.address,
    };
    const res = evaluateEndpoint(ep, req, profiles[ep.network]);
    for (const r of res) {
      const t = r.resource !== undefined ? { ...target, resource: r.resource } : target;
      if ('reason' in r) rejected.push({ ...t, reason: r.reason });
      else candidates.push({ ...t, ...r.route });
    }
  }
  const indexed = candidates.map((c, i) => ({ c, i }));
  indexed.sort((a, b) => compareRoutes(a.c, b.c).order || a.i - b.i);
  const routes = indexed.map(({ c }, k): RankedRoute => {
    const prev = k > 0 ? indexed[k - 1]!.c : undefined;
    const why = prev ? compareRoutes(prev, c).rule : undefined;
    return { ...c, reasons: reasonsFor(c, req), ...(why ? { rankedBelowBecause: why } : {}) };
  });
  return { routes, rejected };
}

type Evaluation =
  { resource?: string; reason: string } | { resource?: string; route: Omit<Candidate, keyof RouteTarget> };

function evaluateEndpoint(
  ep: EndpointVoiceFacts,
  req: RouteRequest,
  profile: NetworkVoiceProfile | undefined,
): Evaluation[] {
  const net = ep.network;
  if (!profile || profile.signalling === 'none' || !profile.audio)
    return [{ reason: `${net}: network has no voice` }];
  if (req.media === 'video' && !profile.video) return [{ reason: `${net}: network carries no video` }];
  if (!ep.accountConnected) return [{ reason: `${net}: account not connected` }];
  if (!ep.clientVoiceCapable) return [{ reason: `${net}: the adapter cannot place calls` }];
  const caps = readVoiceCaps(ep.capabilities);
  if (caps.voice === false) return [{ reason: `${net}: endpoint has no voice` }];
  if (req.media === 'video' && caps.video === false) return [{ reason: `${net}: endpoint has no video` }];

  const how = req.fromNetwork === undefined || req.fromNetwork === net ? 'native' : 'bridged';
  const trunk = caps.trunk === true;
  const build = (
    presence: PresenceState,
    lastActiveAt: number | undefined,
    offered: readonly string[] | undefined,
    resource?: string,
  ): Evaluation => {
    const theirs = offered && offered.length ? normaliseCodecs(offered) : profile.defaultCodecs;
    const common = req.codecs.filter((c) => theirs.includes(c));
    common.sort((a, b) => codecQuality(b) - codecQuality(a));
    const r = resource !== undefined ? { resource } : {};
    if (common.length === 0)
      return {
        ...r,
        reason:
          `${net}: no common codec (we offer ${req.codecs.join(', ') || 'none'}; ` +
          `the endpoint has ${theirs.join(', ') || 'none'})`,
      };
    return {
      ...r,
      route: {
        how,
        signalling: profile.signalling,
        codecs: common,
        presence,
        ...(lastActiveAt !== undefined ? { lastActiveAt } : {}),
        trunk,
      },
    };
  };

  if (profile.signalling === 'jingle') {
    // XMPP: each online resource is a route of its own; the features say whether it can take the call.
    const resources: ResourceFacts[] = caps.resources?.length
      ? caps.resources
      : [
          {
            resource: '',
            presence: ep.presence,
            ...(ep.lastActiveAt !== undefined ? { lastActiveAt: ep.lastActiveAt } : {}),
            // An adapter that folds disco features into voice/video flags (the XMPP adapter's caps)
            // still says what the resources can do.
            ...(caps.features
              ? { features: caps.features }
              : caps.voice === true
                ? { features: [XMPP_FEATURES.audio, ...(caps.video === true ? [XMPP_FEATURES.video] : [])] }
                : {}),
            ...(caps.codecs ? { codecs: caps.codecs } : {}),
          },
        ];
    return resources.map((r): Evaluation => {
      const res = r.resource === '' ? {} : { resource: r.resource };
      if (r.presence === 'offline') return { ...res, reason: 'offline' };
      if (r.presence === 'unknown')
        return { ...res, reason: `${net}: presence unknown (no resource online)` };
      const f = r.features ?? [];
      if (!f.includes(XMPP_FEATURES.audio)) return { ...res, reason: `${net}: resource lacks jingle audio` };
      if (req.media === 'video' && !f.includes(XMPP_FEATURES.video))
        return { ...res, reason: `${net}: resource lacks jingle video` };
      return build(r.presence, r.lastActiveAt, r.codecs, r.resource === '' ? undefined : r.resource);
    });
  }

  if (ep.presence === 'offline') return [{ reason: 'offline' }];
  if (profile.signalling === 'matrix-voip' && caps.directRoom !== true)
    return [{ reason: `${net}: no 1:1 room with this user (m.call.* needs a direct room)` }];
  if (profile.signalling === 'sip' && caps.registered === false)
    return [{ reason: `${net}: not registered (no contact for the address)` }];
  if (ep.presence === 'unknown') {
    // Unknown presence still reaches a Matrix room (every device of the user rings) or a SIP address
    // that answered OPTIONS / has a registered contact; elsewhere it is as good as offline.
    const reachable =
      (profile.signalling === 'matrix-voip' && caps.directRoom === true) ||
      (profile.signalling === 'sip' && caps.registered === true) ||
      trunk;
    if (!reachable) return [{ reason: `${net}: presence unknown and no sign the address is reachable` }];
  }
  return [build(ep.presence, ep.lastActiveAt, caps.codecs)];
}

/** Negative when `a` ranks first; `rule` names the rule that decided (for the UI). */
function compareRoutes(a: Candidate, b: Candidate): { order: number; rule?: string } {
  if (a.how !== b.how)
    return { order: a.how === 'native' ? -1 : 1, rule: 'a native call on the same network comes first' };
  if (a.trunk !== b.trunk) return { order: a.trunk ? 1 : -1, rule: 'a trunk route costs money: last' };
  const pa = PRESENCE_RANK[a.presence] ?? 9;
  const pb = PRESENCE_RANK[b.presence] ?? 9;
  if (pa !== pb)
    return { order: pa - pb, rule: `presence: ${pa < pb ? a.presence : b.presence} comes first` };
  const la = a.lastActiveAt ?? -Infinity;
  const lb = b.lastActiveAt ?? -Infinity;
  if (la !== lb) return { order: la > lb ? -1 : 1, rule: 'the more recently active comes first' };
  const qa = a.codecs[0] ? codecQuality(a.codecs[0]) : 0;
  const qb = b.codecs[0] ? codecQuality(b.codecs[0]) : 0;
  if (qa !== qb) return { order: qb - qa, rule: 'a better common codec comes first' };
  if (a.codecs.length !== b.codecs.length)
    return { order: b.codecs.length - a.codecs.length, rule: 'more common codecs come first' };
  return { order: 0, rule: 'equal on every rule: kept in endpoint order' };
}

function reasonsFor(c: Candidate, req: RouteRequest): string[] {
  const out: string[] = [];
  out.push(
    c.how === 'native'
      ? `native ${c.signalling} call on ${c.network}`
      : `bridged from ${req.fromNetwork ?? '?'} to ${c.network} (${c.signalling})`,
  );
  if (c.trunk) out.push('trunk route: costs money, ranked last');
  out.push(`presence ${c.presence}`);
  if (c.lastActiveAt !== undefined) out.push(`last active ${new Date(c.lastActiveAt).toISOString()}`);
  out.push(`common codecs: ${c.codecs.join(', ')}`);
  return out;
}
