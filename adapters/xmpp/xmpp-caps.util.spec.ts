import xml from '@xmpp/xml';
import { callCapabilities, capsVer, JINGLE_AUDIO, JINGLE_VIDEO } from './xmpp-caps.util';

describe('entity capabilities', () => {
  it('computes the XEP-0115 §5.2 example verification string', () => {
    const info = xml(
      'query',
      { xmlns: 'http://jabber.org/protocol/disco#info' },
      xml('identity', { category: 'client', type: 'pc', name: 'Exodus 0.9.1' }),
      ...[
        'http://jabber.org/protocol/disco#info',
        'http://jabber.org/protocol/disco#items',
        'http://jabber.org/protocol/muc',
        'http://jabber.org/protocol/caps',
      ].map((v) => xml('feature', { var: v })),
    );
    expect(capsVer(info)).toBe('QgayPKawpkPSDYmwT/WM94uAlu0=');
  });

  it('does not verify answers with extended forms', () => {
    expect(capsVer(xml('query', {}, xml('x', { xmlns: 'jabber:x:data', type: 'result' })))).toBeUndefined();
  });

  it('a contact can call when any of its resources can', () => {
    expect(callCapabilities([])).toEqual({ voice: false, video: false });
    expect(callCapabilities([new Set(['x']), new Set([JINGLE_AUDIO])])).toEqual({
      voice: true,
      video: false,
    });
    expect(callCapabilities([new Set([JINGLE_AUDIO, JINGLE_VIDEO])])).toEqual({ voice: true, video: true });
  });
});
