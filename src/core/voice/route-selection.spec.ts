import type { PresenceState } from '../../sdk';
import { selectRoutes, type RouteRequest } from './route-selection';
import {
  type EndpointVoiceFacts,
  networkProfileFrom,
  normaliseCodecs,
  XMPP_FEATURES,
} from './voice-capabilities';

const AUDIO = [XMPP_FEATURES.jingle, XMPP_FEATURES.audio, XMPP_FEATURES.jmi];
const AV = [...AUDIO, XMPP_FEATURES.video];

let n = 0;
function ep(network: string, over: Partial<EndpointVoiceFacts> = {}): EndpointVoiceFacts {
  n++;
  return {
    endpointId: `e${n}`,
    accountId: `a-${network}`,
    network,
    address: `${network}-user-${n}`,
    presence: 'available',
    accountConnected: true,
    clientVoiceCapable: true,
    capabilities:
      network === 'matrix'
        ? { directRoom: true }
        : network === 'xmpp'
          ? { features: AUDIO }
          : network === 'sip'
            ? { registered: true }
            : {},
    ...over,
  };
}
const audio: RouteRequest = { media: 'audio', codecs: ['opus', 'PCMU', 'PCMA'] };

describe('selectRoutes: rejections carry their reason', () => {
  const cases: [string, EndpointVoiceFacts, RouteRequest, string][] = [
    ['irc has no voice', ep('irc'), audio, 'irc: network has no voice'],
    [
      'an unknown network without a profile',
      ep('smoke-signals'),
      audio,
      'smoke-signals: network has no voice',
    ],
    ['sip carries no video', ep('sip'), { ...audio, media: 'video' }, 'sip: network carries no video'],
    ['account not connected', ep('sip', { accountConnected: false }), audio, 'sip: account not connected'],
    [
      'client not voice-capable',
      ep('sip', { clientVoiceCapable: false }),
      audio,
      'sip: the adapter cannot place calls',
    ],
    ['offline (sip)', ep('sip', { presence: 'offline' }), audio, 'offline'],
    ['offline (matrix)', ep('matrix', { presence: 'offline' }), audio, 'offline'],
    ['offline (xmpp)', ep('xmpp', { presence: 'offline' }), audio, 'offline'],
    [
      'endpoint says no voice',
      ep('sip', { capabilities: { voice: false } }),
      audio,
      'sip: endpoint has no voice',
    ],
    [
      'endpoint says no video',
      ep('matrix', { capabilities: { directRoom: true, video: false } }),
      { ...audio, media: 'video' },
      'matrix: endpoint has no video',
    ],
    [
      'xmpp resource without jingle audio',
      ep('xmpp', { capabilities: { features: [XMPP_FEATURES.jingle] } }),
      audio,
      'xmpp: resource lacks jingle audio',
    ],
    [
      'xmpp without discovered features',
      ep('xmpp', { capabilities: {} }),
      audio,
      'xmpp: resource lacks jingle audio',
    ],
    [
      'xmpp video without jingle video',
      ep('xmpp'),
      { ...audio, media: 'video' },
      'xmpp: resource lacks jingle video',
    ],
    [
      'xmpp presence unknown',
      ep('xmpp', { presence: 'unknown' }),
      audio,
      'xmpp: presence unknown (no resource online)',
    ],
    [
      'matrix without a 1:1 room',
      ep('matrix', { capabilities: {} }),
      audio,
      'matrix: no 1:1 room with this user (m.call.* needs a direct room)',
    ],
    [
      'sip not registered',
      ep('sip', { capabilities: { registered: false } }),
      audio,
      'sip: not registered (no contact for the address)',
    ],
    [
      'sip presence unknown without registration evidence',
      ep('sip', { presence: 'unknown', capabilities: {} }),
      audio,
      'sip: presence unknown and no sign the address is reachable',
    ],
    [
      'no common codec',
      ep('sip', { capabilities: { registered: true, codecs: ['G722'] } }),
      { media: 'audio', codecs: ['opus'] },
      'sip: no common codec (we offer opus; the endpoint has G722)',
    ],
  ];
  it.each(cases)('%s', (_name, endpoint, req, reason) => {
    const sel = selectRoutes([endpoint], req);
    expect(sel.routes).toEqual([]);
    expect(sel.rejected).toEqual([expect.objectContaining({ endpointId: endpoint.endpointId, reason })]);
  });

  it('keeps rejections beside routes: one person on IRC and SIP', () => {
    const sel = selectRoutes([ep('irc'), ep('sip')], audio);
    expect(sel.routes.map((r) => r.network)).toEqual(['sip']);
    expect(sel.rejected.map((r) => r.reason)).toEqual(['irc: network has no voice']);
  });
});

describe('selectRoutes: accepted routes', () => {
  it.each([
    ['sip, registered', ep('sip')],
    ['sip, presence unknown but registered', ep('sip', { presence: 'unknown' })],
    ['matrix, presence unknown with a direct room', ep('matrix', { presence: 'unknown' })],
    ['xmpp with jingle audio', ep('xmpp')],
    [
      'a trunk address of unknown presence',
      ep('sip', { presence: 'unknown', capabilities: { trunk: true } }),
    ],
  ])('%s', (_name, endpoint) => {
    expect(selectRoutes([endpoint], audio).routes).toHaveLength(1);
  });

  it('describes a route: how, signalling, common codecs best first, reasons', () => {
    const [r] = selectRoutes(
      [ep('sip', { capabilities: { registered: true, codecs: ['PCMA', 'G722', 'pcmu'] } })],
      {
        media: 'audio',
        codecs: ['PCMU', 'PCMA', 'G722'],
      },
    ).routes;
    expect(r).toMatchObject({
      how: 'native',
      signalling: 'sip',
      codecs: ['G722', 'PCMU', 'PCMA'],
      trunk: false,
    });
    expect(r!.reasons).toEqual([
      'native sip call on sip',
      'presence available',
      'common codecs: G722, PCMU, PCMA',
    ]);
  });

  it('video is accepted where the network and resource carry it', () => {
    const sel = selectRoutes([ep('xmpp', { capabilities: { features: AV } }), ep('matrix')], {
      ...audio,
      media: 'video',
    });
    expect(sel.routes.map((r) => r.network)).toEqual(['xmpp', 'matrix']);
  });
});

describe('selectRoutes: ranking rules, each deciding alone', () => {
  const at = (p: PresenceState, lastActiveAt?: number) => ({
    presence: p,
    ...(lastActiveAt ? { lastActiveAt } : {}),
  });
  const cases: [string, EndpointVoiceFacts, EndpointVoiceFacts, RouteRequest, string][] = [
    [
      'same-network native first',
      ep('sip', at('available')),
      ep('matrix', at('available')),
      { ...audio, fromNetwork: 'sip' },
      'a native call on the same network comes first',
    ],
    [
      'native beats better presence when bridged',
      ep('matrix', at('busy')),
      ep('sip', at('available')),
      { ...audio, fromNetwork: 'matrix' },
      'a native call on the same network comes first',
    ],
    [
      'a trunk route last even when more available',
      ep('sip', at('away')),
      ep('sip', { ...at('available'), capabilities: { registered: true, trunk: true } }),
      audio,
      'a trunk route costs money: last',
    ],
    [
      'available before away',
      ep('sip', at('available')),
      ep('matrix', at('away')),
      audio,
      'presence: available comes first',
    ],
    [
      'away before busy',
      ep('matrix', at('away')),
      ep('sip', at('busy')),
      audio,
      'presence: away comes first',
    ],
    [
      'busy before unknown',
      ep('sip', at('busy')),
      ep('matrix', at('unknown')),
      audio,
      'presence: busy comes first',
    ],
    [
      'most recently active',
      ep('sip', at('available', 2000)),
      ep('matrix', at('available', 1000)),
      audio,
      'the more recently active comes first',
    ],
    [
      'a known activity before none',
      ep('sip', at('available', 1000)),
      ep('matrix', at('available')),
      audio,
      'the more recently active comes first',
    ],
    [
      'better common codec',
      ep('sip', { capabilities: { registered: true, codecs: ['G722', 'PCMU'] } }),
      ep('sip', { capabilities: { registered: true, codecs: ['PCMU'] } }),
      { media: 'audio', codecs: ['G722', 'PCMU'] },
      'a better common codec comes first',
    ],
    [
      'more common codecs',
      ep('sip', { capabilities: { registered: true, codecs: ['PCMU', 'PCMA'] } }),
      ep('sip', { capabilities: { registered: true, codecs: ['PCMU'] } }),
      audio,
      'more common codecs come first',
    ],
  ];
  it.each(cases)('%s', (_name, better, worse, req, rule) => {
    for (const order of [
      [better, worse],
      [worse, better],
    ]) {
      const sel = selectRoutes(order, req);
      expect(sel.routes.map((r) => r.endpointId)).toEqual([better.endpointId, worse.endpointId]);
      expect(sel.routes[0]!.rankedBelowBecause).toBeUndefined();
      expect(sel.routes[1]!.rankedBelowBecause).toBe(rule);
    }
  });

  it('keeps endpoint order on a full tie', () => {
    const a = ep('sip');
    const b = ep('sip');
    expect(selectRoutes([a, b], audio).routes.map((r) => r.endpointId)).toEqual([a.endpointId, b.endpointId]);
    expect(selectRoutes([b, a], audio).routes.map((r) => r.endpointId)).toEqual([b.endpointId, a.endpointId]);
  });

  it('a bridged route says where from', () => {
    const [r] = selectRoutes([ep('sip')], { ...audio, fromNetwork: 'matrix' }).routes;
    expect(r).toMatchObject({ how: 'bridged' });
    expect(r!.reasons[0]).toBe('bridged from matrix to sip (sip)');
  });
});

describe('selectRoutes: XMPP resources', () => {
  it('ranks each resource, most recently active first, and rejects those that cannot take the call', () => {
    const e = ep('xmpp', {
      capabilities: {
        resources: [
          { resource: 'phone', presence: 'available', lastActiveAt: 1000, features: AUDIO },
          { resource: 'laptop', presence: 'available', lastActiveAt: 5000, features: AUDIO },
          { resource: 'bot', presence: 'available', lastActiveAt: 9000, features: [] },
          { resource: 'old', presence: 'offline', features: AUDIO },
        ],
      },
    });
    const sel = selectRoutes([e], audio);
    expect(sel.routes.map((r) => r.resource)).toEqual(['laptop', 'phone']);
    expect(sel.rejected.map((r) => [r.resource, r.reason])).toEqual([
      ['bot', 'xmpp: resource lacks jingle audio'],
      ['old', 'offline'],
    ]);
  });

  it('reads voice/video flags as jingle features when the adapter reports no feature list', () => {
    expect(selectRoutes([ep('xmpp', { capabilities: { voice: true } })], audio).routes).toHaveLength(1);
    const video = selectRoutes([ep('xmpp', { capabilities: { voice: true } })], { ...audio, media: 'video' });
    expect(video.rejected[0]!.reason).toBe('xmpp: resource lacks jingle video');
    expect(
      selectRoutes([ep('xmpp', { capabilities: { voice: true, video: true } })], { ...audio, media: 'video' })
        .routes,
    ).toHaveLength(1);
  });

  it('ignores malformed resource records', () => {
    const e = ep('xmpp', { capabilities: { features: AUDIO, resources: [{ resource: 3 }, 'x'] } });
    expect(selectRoutes([e], audio).routes).toHaveLength(1);
  });
});

describe('capability helpers', () => {
  it('normalises codec names and drops unknown ones', () => {
    expect(normaliseCodecs(['OPUS', 'pcmu', 'telephone-event', 'PCMU', 'g722'])).toEqual([
      'opus',
      'PCMU',
      'G722',
    ]);
  });
  it('describes an adapter the table does not know from its manifest', () => {
    expect(networkProfileFrom({ voice: true, media: { audio: true, video: false } })).toMatchObject({
      audio: true,
      video: false,
    });
    expect(networkProfileFrom({})).toMatchObject({ signalling: 'none', audio: false });
    const sel = selectRoutes([ep('newnet')], {
      ...audio,
      profiles: { newnet: networkProfileFrom({ voice: true }) },
    });
    expect(sel.routes).toHaveLength(1);
  });
});
