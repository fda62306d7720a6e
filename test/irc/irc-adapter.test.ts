import {
  isPresenceCapable,
  isRosterCapable,
  RemoteUserId,
  isRoomsCapable,
  type NetworkClient,
  RemoteRoomId,
  TransactionId,
} from '@switchboard/sdk';
import type { IrcClient } from '../../adapters/irc';
import type { AccountSupervisor, AdapterRegistry } from '../../src/registry';
import type { RecordingHost } from '../registry/registry-harness';
import { waitFor } from '../registry/registry-harness';
import { startInspircd, type InspircdServer } from '../support/inspircd';
import { connectedClient, ircOptions, startIrcRegistry } from './irc-harness';
import { RawIrcClient } from './raw-irc-client';

const INJECTIONS = ['a\r\nQUIT :x', 'b\nPRIVMSG #other :x', 'c\0NUL'];

describe('the IRC adapter against a real InspIRCd', () => {
  let server: InspircdServer;
  let supervisor: AccountSupervisor;
  let host: RecordingHost;
  let stopRegistry: () => Promise<void>;
  let registry: AdapterRegistry;
  let observer: RawIrcClient;
  const raws: RawIrcClient[] = [];
  let alice: NetworkClient;
  let bob: NetworkClient;
  let tx = 0;
  const nextTx = () => TransactionId(`tx-${++tx}`);

  const messagesAt = (account: string, pred: (text: string) => boolean = () => true) =>
    host.eventsOf(account).filter((e) => e.type === 'message' && pred(e.text));

  beforeAll(async () => {
    server = await startInspircd({ password: 'serverpass' });
    const r = await startIrcRegistry();
    supervisor = r.supervisor;
    host = r.host;
    registry = r.registry;
    stopRegistry = async () => {
      await supervisor.stopAll();
      await r.registry.disposeAll();
    };
    observer = await RawIrcClient.register(server.host, server.port, 'observer', {
      password: 'serverpass',
      caps: ['away-notify', 'message-tags', 'server-time'],
    });
    observer.send('JOIN #main');
    observer.send('JOIN #other');
    // Anyone in #main may set its topic (the injection test sets it from alice).
    observer.send('MODE #main -t');
    await observer.waitFor(/ 366 observer #other /);

    await supervisor.start({
      accountId: 'alice',
      adapterId: 'irc',
      options: ircOptions(server, 'alice', { password: 'serverpass', channels: ['#main'], watch: ['carol'] }),
    });
    await supervisor.start({
      accountId: 'bob',
      adapterId: 'irc',
      options: ircOptions(server, 'bob', { password: 'serverpass' }),
    });
    alice = await connectedClient(supervisor, 'alice');
    bob = await connectedClient(supervisor, 'bob');
    await observer.waitFor(/^(@\S+ )?:alice!\S+ JOIN :?#main/);
  });

  afterAll(async () => {
    await stopRegistry?.();
    await Promise.all([observer, ...raws].map((c) => c?.close()));
    await server?.stop();
  });

  it('connects through the supervisor and exposes its capabilities', async () => {
    expect(host.statuses.get('alice')?.map((s) => s.state)).toEqual(['connecting', 'connected']);
    expect([isPresenceCapable(alice), isRoomsCapable(alice), isRosterCapable(alice)]).toEqual([
      true,
      true,
      true,
    ]);
    // NAMES on joining #main lists the observer, who was there first.
    await waitFor('the observer as a member at alice', () =>
      host.find(
        'alice',
        'room.member',
        (e) => e.roomId === '#main' && e.displayName === 'observer' && e.membership === 'join',
      ),
    );
    if (!isRoomsCapable(bob)) throw new Error('unreachable');
    const room = await bob.joinRoom('main');
    expect(room).toEqual({ roomId: '#main', kind: 'group', title: '#main' });
    expect(await bob.listRooms()).toEqual([room]);
    await waitFor('alice sees bob join', () =>
      host.find(
        'alice',
        'room.member',
        (e) => e.roomId === '#main' && e.displayName === 'bob' && e.membership === 'join',
      ),
    );
  });

  it('carries DMs both ways with confirmed sends and stable ids', async () => {
    const sent = await alice.send({ roomId: RemoteRoomId('bob'), transactionId: nextTx(), text: 'hi bob' });
    expect(sent.confirmed).toBe(true);
    const got = await waitFor('the DM at bob', () => host.find('bob', 'message', (e) => e.text === 'hi bob'));
    expect(got).toMatchObject({
      roomId: 'alice',
      roomKind: 'direct',
      kind: 'text',
      sender: { userId: `alice!${server.host}`, displayName: 'alice' },
      messageId: sent.messageIds[0],
    });
    expect(new Date(got.at).toISOString()).toBe(got.at);
    // The echo at alice carries the transaction id.
    await waitFor('echo at alice', () =>
      host.find(
        'alice',
        'message',
        (e) => e.text === 'hi bob' && e.sender.self === true && e.transactionId === 'tx-1',
      ),
    );

    if (!isRoomsCapable(bob)) throw new Error('unreachable');
    const dm = await bob.openDirect(got.sender.userId);
    expect(dm).toEqual({ roomId: 'alice', kind: 'direct', title: 'alice' });
    await bob.send({ roomId: dm.roomId, transactionId: nextTx(), text: 'hi alice' });
    await waitFor('the DM at alice', () =>
      host.find('alice', 'message', (e) => e.text === 'hi alice' && e.roomId === 'bob' && !e.sender.self),
    );
  });

  it('fails a send to a nick that is not there at once, not retryable', async () => {
    await expect(
      alice.send({ roomId: RemoteRoomId('nobody'), transactionId: nextTx(), text: 'anyone?' }),
    ).rejects.toMatchObject({ name: 'SendError', retryable: false, code: 'no_such_nick' });
  });

  it('carries channel messages, /me and formatting', async () => {
    await bob.send({ roomId: RemoteRoomId('#main'), transactionId: nextTx(), text: 'hello channel' });
    await waitFor('channel message at alice', () =>
      host.find(
        'alice',
        'message',
        (e) => e.roomId === '#main' && e.text === 'hello channel' && e.roomKind === 'group',
      ),
    );
    await bob.send({ roomId: RemoteRoomId('#main'), transactionId: nextTx(), kind: 'emote', text: 'waves' });
    await waitFor('/me at alice', () =>
      host.find('alice', 'message', (e) => e.kind === 'emote' && e.text === 'waves'),
    );
    // eslint-disable-next-line no-control-regex -- CTCP is framed by \x01
    await observer.waitFor(/:bob!\S+ PRIVMSG #main :\x01ACTION waves\x01$/);

    const formatted = {
      blocks: [
        {
          type: 'paragraph' as const,
          children: [
            { type: 'text' as const, text: 'plain ' },
            { type: 'bold' as const, children: [{ type: 'text' as const, text: 'bold' }] },
            { type: 'text' as const, text: ' ' },
            { type: 'italic' as const, children: [{ type: 'text' as const, text: 'it' }] },
            { type: 'code' as const, text: 'x()' },
          ],
        },
      ],
    };
    await bob.send({
      roomId: RemoteRoomId('#main'),
      transactionId: nextTx(),
      text: 'plain bold it x()',
      formatted,
    });
    const f = await waitFor('formatted at alice', () =>
      host.find('alice', 'message', (e) => e.text === 'plain bold itx()'),
    );
    expect(f.formatted).toEqual(formatted);
  });

  it('sees an away message as presence with the status text, and back again', async () => {
    if (!isPresenceCapable(bob)) throw new Error('unreachable');
    await bob.setPresence({ state: 'away', status: 'at lunch' });
    await waitFor('bob away at alice', () =>
      host.find(
        'alice',
        'presence',
        (e) =>
          e.userId === `bob!${server.host}` &&
          e.presence.state === 'away' &&
          e.presence.status === 'at lunch',
      ),
    );
    await bob.setPresence({ state: 'available' });
    await waitFor(
      'bob back at alice',
      () =>
        host
          .eventsOf('alice')
          .filter((e) => e.type === 'presence' && e.userId === `bob!${server.host}`)
          .at(-1)?.type === 'presence' &&
        (
          host
            .eventsOf('alice')
            .filter((e) => e.type === 'presence' && e.userId === `bob!${server.host}`)
            .at(-1) as { presence: { state: string } }
        ).presence.state === 'available',
    );
  });

  it('follows a watched nick online and offline with MONITOR', async () => {
    const carolId = `carol!${server.host}`;
    const carol = await RawIrcClient.register(server.host, server.port, 'carol', { password: 'serverpass' });
    await waitFor(
      'carol online at alice',
      () => host.find('alice', 'presence', (e) => e.userId === carolId && e.presence.state === 'available'),
      2000,
    );
    // carol shares no channel with alice: extended-monitor still brings her away message.
    carol.send('AWAY :gone fishing');
    await waitFor('carol away at alice', () =>
      host.find(
        'alice',
        'presence',
        (e) => e.userId === carolId && e.presence.state === 'away' && e.presence.status === 'gone fishing',
      ),
    );
    await carol.close();
    await waitFor(
      'carol offline at alice',
      () => host.find('alice', 'presence', (e) => e.userId === carolId && e.presence.state === 'offline'),
      2000,
    );
  });

  it('keeps a buddy list of watched nicks and DM peers, and edits it', async () => {
    const roster = alice;
    if (!isRosterCapable(roster)) throw new Error('the IRC client should be roster-capable');
    const h = server.host;
    const ids = async () => (await roster.listContacts()).map((c) => c.userId).sort();
    expect(await ids()).toEqual([`bob!${h}`, `carol!${h}`]);
    await roster.removeContact(RemoteUserId(`carol!${h}`));
    expect(await ids()).toEqual([`bob!${h}`]);
    await roster.addContact(RemoteUserId('erin'));
    expect(await ids()).toEqual([`bob!${h}`, `erin!${h}`]);
    const erin = await RawIrcClient.register(server.host, server.port, 'erin', { password: 'serverpass' });
    await waitFor(
      'erin online at alice',
      () =>
        host.find('alice', 'presence', (e) => e.userId === `erin!${h}` && e.presence.state === 'available'),
      2000,
    );
    await erin.close();
  });

  it('confirms a DM to someone away, whose echo comes inside a labeled BATCH after RPL_AWAY', async () => {
    const away = await RawIrcClient.register(server.host, server.port, 'napper', { password: 'serverpass' });
    raws.push(away);
    away.send('AWAY :asleep');
    await away.waitFor(/ 306 napper /);
    const sent = await alice.send({
      roomId: RemoteRoomId('napper'),
      transactionId: nextTx(),
      text: 'wake up',
    });
    // Unconfirmed would mean the echo was missed: the send would have waited out the echo timeout.
    expect(sent.confirmed).toBe(true);
    await away.waitFor(/PRIVMSG napper :wake up$/);
    // The echo was matched to the send: same id, and it carries the transaction id.
    const echo = await waitFor('echo at alice', () =>
      host.find('alice', 'message', (e) => e.text === 'wake up' && e.sender.self === true),
    );
    expect(echo.messageId).toBe(sent.messageIds[0]);
    expect(echo.transactionId).toBeDefined();
  });

  it('delivers a 3,000-byte multibyte message complete, in order, in valid lines', async () => {
    const text = Array.from({ length: 1200 }, (_, i) => ['ä', '€', '😀', 'x '][i % 4]).join('');
    expect(Buffer.byteLength(text)).toBeGreaterThanOrEqual(3000);
    const from = observer.lines.length;
    const sent = await alice.send({ roomId: RemoteRoomId('#main'), transactionId: nextTx(), text });
    expect(sent.messageIds.length).toBeGreaterThan(1);
    expect(sent.confirmed).toBe(true);
    const parts = await waitFor('every piece at bob', () => {
      const got = host
        .eventsOf('bob')
        .filter((e) => e.type === 'message' && sent.messageIds.includes(e.messageId));
      return got.length === sent.messageIds.length ? got : undefined;
    });
    expect(parts.map((p) => (p.type === 'message' ? p.text : '')).join('')).toBe(text);
    expect(parts.map((p) => (p.type === 'message' ? p.messageId : ''))).toEqual(sent.messageIds);
    const relayed = observer.lines.slice(from).filter((l) => / PRIVMSG #main :/.test(l) && /:alice!/.test(l));
    expect(relayed).toHaveLength(sent.messageIds.length);
    for (const l of relayed) {
      const withoutTags = l.replace(/^@\S+ /, '');
      expect(Buffer.byteLength(withoutTags) + 2).toBeLessThanOrEqual(512);
      expect(withoutTags).not.toContain('\uFFFD');
    }
  });

  it('keeps a style across the lines of a split formatted message', async () => {
    const words = Array.from({ length: 150 }, (_, i) => `wörd${i}`).join(' ');
    const formatted = {
      blocks: [
        {
          type: 'paragraph' as const,
          children: [{ type: 'bold' as const, children: [{ type: 'text' as const, text: words }] }],
        },
      ],
    };
    const sent = await alice.send({
      roomId: RemoteRoomId('#main'),
      transactionId: nextTx(),
      text: words,
      formatted,
    });
    expect(sent.messageIds.length).toBeGreaterThan(1);
    const parts = await waitFor('every styled piece at bob', () => {
      const got = host
        .eventsOf('bob')
        .filter((e) => e.type === 'message' && sent.messageIds.includes(e.messageId));
      return got.length === sent.messageIds.length ? got : undefined;
    });
    expect(parts.map((p) => (p.type === 'message' ? p.text : '')).join('')).toBe(words);
    for (const p of parts) {
      if (p.type !== 'message') throw new Error('unreachable');
      expect(p.formatted?.blocks[0]).toMatchObject({ type: 'paragraph', children: [{ type: 'bold' }] });
    }
  });

  it('lets no CR, LF or NUL start a command: as a message, a topic, an away message and a nick', async () => {
    const a = alice as IrcClient;
    const from = observer.lines.length;
    for (const bad of INJECTIONS)
      await a.send({ roomId: RemoteRoomId('#main'), transactionId: nextTx(), text: `msg ${bad}` });
    for (const bad of INJECTIONS) await a.setTopic(RemoteRoomId('#main'), `topic ${bad}`);
    for (const bad of INJECTIONS) await a.setPresence({ state: 'away', status: `away ${bad}` });
    for (const bad of INJECTIONS)
      await expect(a.setNick(`nick${bad}`)).rejects.toMatchObject({ name: 'SendError', retryable: false });
    await expect(
      a.send({ roomId: RemoteRoomId('#main\r\nQUIT'), transactionId: nextTx(), text: 'x' }),
    ).rejects.toMatchObject({
      code: 'invalid_target',
    });
    await a.setPresence({ state: 'away', status: 'marker' });
    await observer.waitFor(/:alice!\S+ AWAY :marker$/, 10_000, from);

    const fromAlice = observer.lines.slice(from).filter((l) => /^(@\S+ )?:alice!/.test(l));
    const commands = fromAlice.map((l) => RawIrcClient.commandOf(l));
    expect(new Set(commands)).toEqual(new Set(['PRIVMSG', 'TOPIC', 'AWAY']));
    // No line of alice's is a command she did not mean, nor goes anywhere but #main.
    const targets = fromAlice.map((l) => l.replace(/^(@\S+ )?:\S+ \S+ /, '').split(' ')[0]);
    expect(targets.filter((t) => t !== '#main' && !t!.startsWith(':'))).toEqual([]);
    expect(fromAlice.every((l) => / #main | AWAY /.test(l))).toBe(true);
    // The message text arrived as text: line breaks split it into lines of the same message, NUL dropped.
    const privmsgs = fromAlice
      .filter((l) => / PRIVMSG #main :/.test(l))
      .map((l) => l.replace(/^.* PRIVMSG #main :/, ''));
    expect(privmsgs).toEqual(['msg a', 'QUIT :x', 'msg b', 'PRIVMSG #other :x', 'msg cNUL']);
    const topics = fromAlice
      .filter((l) => / TOPIC #main :/.test(l))
      .map((l) => l.replace(/^.* TOPIC #main :/, ''));
    expect(topics).toEqual(['topic a QUIT :x', 'topic b PRIVMSG #other :x', 'topic cNUL']);
    expect(supervisor.status('alice')?.state).toBe('connected');
    await a.setPresence({ state: 'available' });
  });

  it('refuses an injected nick, real name or server password in the account options', async () => {
    for (const bad of INJECTIONS) {
      for (const extra of [{}, { realname: `r${bad}` }, { password: `p${bad}` }]) {
        const nick = Object.keys(extra).length === 0 ? `n${bad}` : 'fine';
        const r = await registry.validateAccountOptions('irc', ircOptions(server, nick, extra));
        expect(r.ok).toBe(false);
      }
    }
  });

  it('reconnects after the server is killed and restarted, rejoins, and delivers what is sent after', async () => {
    const before = supervisor.client('alice');
    await server.halt({ kill: true });
    await waitFor('alice transient', () =>
      host.statuses.get('alice')?.some((s) => s.state === 'transient_disconnect'),
    );
    // While the server is down a write is refused as retryable, so the gateway's outbox keeps it.
    await expect(
      before!.send({ roomId: RemoteRoomId('#main'), transactionId: nextTx(), text: 'while down' }),
    ).rejects.toMatchObject({ name: 'SendError', retryable: true, code: 'disconnected' });
    await server.start();
    await waitFor(
      'alice reconnected',
      () => supervisor.status('alice')?.state === 'connected' && supervisor.client('alice') !== before,
      30_000,
    );
    await waitFor('bob reconnected', () => supervisor.status('bob')?.state === 'connected', 30_000);
    alice = supervisor.client('alice')!;
    bob = supervisor.client('bob')!;
    // Both rejoin #main on their own: alice from her options, bob from the channel list the adapter saved.
    const watcher = await RawIrcClient.register(server.host, server.port, 'watcher', {
      password: 'serverpass',
    });
    raws.push(watcher);
    watcher.send('JOIN #main');
    const names = await watcher.waitFor(/ 353 watcher [=*@] #main :/);
    expect(names).toMatch(/[ :@+]alice\b/);
    expect(names).toMatch(/[ :@+]bob\b/);

    expect((await (bob as IrcClient).listRooms()).map((r) => r.roomId)).toEqual(['#main']);
    const t = nextTx();
    await alice.send({ roomId: RemoteRoomId('#main'), transactionId: t, text: 'after the restart' });
    // A retry of the same send (the outbox after a lost answer) is not sent twice.
    await alice.send({ roomId: RemoteRoomId('#main'), transactionId: t, text: 'after the restart' });
    await waitFor('message after restart at bob', () =>
      host.find('bob', 'message', (e) => e.text === 'after the restart'),
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(messagesAt('bob', (x) => x === 'after the restart')).toHaveLength(1);
  });

  it('reports a wrong server password as bad credentials and does not retry', async () => {
    await supervisor.start({
      accountId: 'mallory',
      adapterId: 'irc',
      options: ircOptions(server, 'mallory', { password: 'nope' }),
    });
    await waitFor('bad credentials', () => supervisor.status('mallory')?.state === 'bad_credentials');
    expect(supervisor.retryAt('mallory')).toBeUndefined();
    await supervisor.stop('mallory');
  });

  it('falls back to an alternative nick when the nick is taken', async () => {
    const squatter = await RawIrcClient.register(server.host, server.port, 'dave', {
      password: 'serverpass',
    });
    raws.push(squatter);
    await supervisor.start({
      accountId: 'dave',
      adapterId: 'irc',
      options: ircOptions(server, 'dave', { password: 'serverpass', altNicks: ['dave2'] }),
    });
    const d = (await connectedClient(supervisor, 'dave')) as IrcClient;
    expect(d.nick).toBe('dave2');
    await d.send({ roomId: RemoteRoomId('dave'), transactionId: nextTx(), text: 'to the squatter' });
    await squatter.waitFor(/:dave2!\S+ PRIVMSG dave :to the squatter/);
    await supervisor.stop('dave');
  });

  it('detects a hung server by ping timeout and reconnects once it answers again', async () => {
    await supervisor.start({
      accountId: 'pinger',
      adapterId: 'irc',
      options: ircOptions(server, 'pinger', { password: 'serverpass', pingTimeoutSeconds: 5 }),
    });
    const first = await connectedClient(supervisor, 'pinger');
    server.pause();
    try {
      await waitFor(
        'ping timeout',
        () =>
          host.statuses
            .get('pinger')
            ?.some((s) => s.state === 'transient_disconnect' && s.code === 'ping_timeout'),
        20_000,
      );
    } finally {
      server.resume();
    }
    await waitFor(
      'pinger reconnected',
      () => supervisor.status('pinger')?.state === 'connected' && supervisor.client('pinger') !== first,
      30_000,
    );
    await supervisor.stop('pinger');
  });
});
