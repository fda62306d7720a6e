import xml from '@xmpp/xml';
import { createXmppConnection } from '../../adapters/xmpp/xmpp-connection.factory';
import { capsVer, JINGLE_AUDIO } from '../../adapters/xmpp/xmpp-caps.util';
import { parseTrust } from '../../adapters/xmpp/xmpp-tls.socket';
import { waitFor } from '../registry/registry-harness';
import { startProsody, type ProsodyServer } from '../support/prosody';
import { accountOptions, connectedClient, startXmppGateway } from './xmpp-harness';

describe('xmpp adapter: disco/caps of contact resources', () => {
  let server: ProsodyServer;
  let gw: Awaited<ReturnType<typeof startXmppGateway>>;

  beforeAll(async () => {
    server = await startProsody();
    await server.registerUser('alice', 'alice-pw');
    await server.registerUser('bob', 'bob-pw');
    gw = await startXmppGateway();
  });
  afterAll(async () => {
    await gw?.stop();
    await server?.stop();
  });

  it('reports voice for a contact whose client advertises Jingle audio, and drops it when it leaves', async () => {
    await gw.supervisor.start({
      accountId: 'a',
      adapterId: 'xmpp',
      options: accountOptions(server, 'alice', 'alice-pw'),
    });
    await connectedClient(gw.supervisor, 'a');
    const alice = `alice@${server.domain}`;
    const bob = `bob@${server.domain}`;

    // bob's "phone": another XMPP client on the same server, advertising Jingle RTP audio.
    const { entity, iqCallee } = createXmppConnection({
      endpoint: {
        service: `xmpp://${server.host}:${server.port}`,
        host: server.host,
        port: server.port,
        domain: server.domain,
        tls: 'starttls',
      },
      username: 'bob',
      password: 'bob-pw',
      resource: 'phone',
      trust: parseTrust(server.certificatePem),
      limits: { maxStanzaBytes: 1 << 20, maxDepth: 64 },
      allowPlaintext: false,
    });
    entity.on('error', () => undefined);
    const info = xml(
      'query',
      { xmlns: 'http://jabber.org/protocol/disco#info' },
      xml('identity', { category: 'client', type: 'phone', name: 'Test Phone' }),
      ...[
        'http://jabber.org/protocol/disco#info',
        'urn:xmpp:jingle:1',
        'urn:xmpp:jingle:apps:rtp:1',
        JINGLE_AUDIO,
      ].map((v) => xml('feature', { var: v })),
    );
    let asked = 0;
    iqCallee.get('http://jabber.org/protocol/disco#info', 'query', (ctx) => {
      asked += 1;
      const answer = xml(
        'query',
        { xmlns: 'http://jabber.org/protocol/disco#info', node: ctx.element?.attrs.node },
        ...info.getChildElements(),
      );
      return answer;
    });
    try {
      await entity.start();
      const caps = () =>
        xml('c', {
          xmlns: 'http://jabber.org/protocol/caps',
          hash: 'sha-1',
          node: 'https://example.org/phone',
          ver: capsVer(info),
        });
      await entity.send(xml('presence', { to: alice }, caps()));
      const up = await waitFor('alice sees bob can take voice calls', () =>
        gw.host.find('a', 'contact.upsert', (e) => e.userId === bob && e.capabilities?.voice === true),
      );
      expect(up.capabilities).toEqual({ voice: true, video: false });
      expect(asked).toBe(1);

      // The same caps again (a presence change) are answered from the cache, without asking.
      await entity.send(xml('presence', { to: alice }, xml('show', {}, 'away'), caps()));
      await waitFor('alice sees bob away', () =>
        gw.host.find('a', 'presence', (e) => e.userId === bob && e.presence.state === 'away'),
      );
      expect(asked).toBe(1);

      await entity.send(xml('presence', { to: alice, type: 'unavailable' }));
      await waitFor('voice goes away with the resource', () =>
        gw.host.find('a', 'contact.upsert', (e) => e.userId === bob && e.capabilities?.voice === false),
      );
    } finally {
      await entity.stop().catch(() => undefined);
    }
  });
});
