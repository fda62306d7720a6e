// The relay bench's "forwarder" path: the least a relay from an IRC channel into a prosody MUC can do. One
// IRC connection, one XMPP connection (plaintext c2s, SASL PLAIN), and for every PRIVMSG in the channel a
// groupchat message written at once, in the same event-loop turn. Nothing is stored, ordered, retried,
// deduplicated, formatted or rate-limited. Its latency is the floor for any gateway that relays through the
// same two servers as Switchboard does (biboumi's path skips prosody's MUC: it hosts its rooms itself).
//
// Run by bench/relay/relay.bench.ts as its own process:
//   node -r ./test/support/ts-register.js bench/relay/forwarder.ts '<json config>'
// It prints "forwarder ready" once it is in both rooms.
import net from 'node:net';
import { RawXmppClient } from '../../test/bench-harness/raw-xmpp-client';

interface ForwarderConfig {
  irc: { host: string; port: number; nick: string; channel: string };
  xmpp: { host: string; port: number; domain: string; user: string; password: string; room: string };
}

const cfg = JSON.parse(process.argv[2] ?? '') as ForwarderConfig;

async function main(): Promise<void> {
  const xmpp = await RawXmppClient.login(
    cfg.xmpp.host,
    cfg.xmpp.port,
    cfg.xmpp.domain,
    cfg.xmpp.user,
    cfg.xmpp.password,
    'forwarder',
  );
  await xmpp.joinRoom(cfg.xmpp.room, cfg.irc.nick);

  const irc = net.connect({ host: cfg.irc.host, port: cfg.irc.port });
  irc.setNoDelay(true);
  const send = (line: string) => irc.write(`${line}\r\n`);
  const channel = cfg.irc.channel.toLowerCase();
  const onLine = (line: string): void => {
    // :nick!user@host PRIVMSG #channel :text — the only line on the hot path.
    if (line.startsWith(':')) {
      const sp1 = line.indexOf(' ');
      const sp2 = line.indexOf(' ', sp1 + 1);
      const command = line.slice(sp1 + 1, sp2);
      if (command === 'PRIVMSG') {
        const sp3 = line.indexOf(' ', sp2 + 1);
        if (line.slice(sp2 + 1, sp3).toLowerCase() !== channel) return;
        const nick = line.slice(1, line.indexOf('!'));
        const text = line.slice(sp3 + 1).replace(/^:/, '');
        xmpp.say(cfg.xmpp.room, `<${nick}> ${text}`);
        return;
      }
      if (command === '001') send(`JOIN ${cfg.irc.channel}`);
      else if (command === 'JOIN' && line.startsWith(`:${cfg.irc.nick}!`)) console.log('forwarder ready');
      return;
    }
    if (line.startsWith('PING ')) send(`PONG ${line.slice(5)}`);
  };
  let buffered = '';
  irc.on('data', (d: Buffer) => {
    buffered += d.toString('utf8');
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
  });
  irc.on('close', () => process.exit(0));
  irc.on('error', (e) => {
    console.error(`forwarder: IRC ${e.message}`);
    process.exit(1);
  });
  send(`NICK ${cfg.irc.nick}`);
  send(`USER ${cfg.irc.nick} 0 * :${cfg.irc.nick}`);
}

void main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
