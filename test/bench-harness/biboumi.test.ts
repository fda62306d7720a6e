import { RawIrcClient } from '../irc/raw-irc-client';
import { biboumiComponent, startBiboumi, type BiboumiGateway } from '../support/biboumi';
import { startInspircd, type InspircdServer } from '../support/inspircd';
import { startProsody, type ProsodyServer } from '../support/prosody';
import { RawXmppClient, type GroupchatMessage } from './raw-xmpp-client';

/**
 * The benchmark's comparison gateway works: Debian's biboumi as a component of the test prosody, against
 * the test InspIRCd, carries a channel message from a plain IRC client to a plain XMPP client and back.
 */
describe('biboumi between the test InspIRCd and prosody', () => {
  let irc: InspircdServer;
  let xmpp: ProsodyServer;
  let biboumi: BiboumiGateway;
  let alice: RawXmppClient;
  let ian: RawIrcClient;

  beforeAll(async () => {
    const component = biboumiComponent('sb.test');
    [irc, xmpp] = await Promise.all([
      startInspircd(),
      startProsody({ domain: 'sb.test', allowPlaintext: true, components: [component] }),
    ]);
    await xmpp.registerUser('alice', 'alice-password');
    biboumi = await startBiboumi({ prosody: xmpp, component, irc });
    alice = await RawXmppClient.login(xmpp.host, xmpp.port, xmpp.domain, 'alice', 'alice-password');
    ian = await RawIrcClient.register(irc.host, irc.port, 'ian');
    ian.send('JOIN #bib');
    await ian.waitFor(/:ian!\S+ JOIN :?#bib/);
  }, 30_000);

  afterAll(async () => {
    await ian?.close();
    await alice?.close();
    await biboumi?.stop();
    await Promise.all([irc?.stop(), xmpp?.stop()]);
  });

  it('relays an IRC channel message to an XMPP client in the channel room, and a room message back', async () => {
    await biboumi.configureUser(alice);
    const room = biboumi.roomJid('#bib');
    expect(room).toBe('#bib%127.0.0.1@irc.sb.test');
    await alice.joinRoom(room, 'alice');
    // biboumi's IRC connection for alice is in the channel.
    await ian.waitFor(/:alice!\S+ JOIN :?#bib/);

    const got: GroupchatMessage[] = [];
    alice.onGroupchat((m) => got.push(m));
    ian.send('PRIVMSG #bib :hello from irc');
    const deadline = Date.now() + 10_000;
    while (!got.some((m) => m.body === 'hello from irc') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(got.filter((m) => m.body === 'hello from irc').map((m) => m.from)).toEqual([`${room}/ian`]);

    alice.say(room, 'hello from xmpp');
    await ian.waitFor(/:alice!\S+ PRIVMSG #bib :hello from xmpp$/);
  });
});
