import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RawIrcClient } from '../irc/raw-irc-client';
import {
  addAccount,
  BRIDGE_ADAPTERS,
  BRIDGE_QUEUE,
  ircRelayOptions,
  joinConversation,
  relayMessagesInMuc,
  startXmppPeople,
  xmppRelayOptions,
  type XmppPeople,
} from '../support/bridge-env';
import { ADMIN_PASSWORD, Api, eventually, startGatewayProcess } from '../support/gateway';
import { startInspircd, type InspircdServer } from '../support/inspircd';
import type { ManagedProcess } from '../support/managed-process';
import { freePort } from '../support/ports';
import { startProsody, type ProsodyServer } from '../support/prosody';

/** Longer than a membership burst's quiet window (1 s). */
const QUIET_PERIOD_MS = 2500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The burst: the first join is announced at once, the next three are held while it goes on. */
const BURST = ['pat', 'quinn', 'rhea', 'sam'];

/**
 * Membership notices held in a burst survive the gateway being killed with SIGKILL (ADR 0013): each change
 * is in `membership_holds` before ingest is done with it, so after a restart on the same data folder the
 * held joins are announced in the MUC — once each, and the join announced before the kill not again.
 */
describe('membership notices across kill -9', () => {
  let irc: InspircdServer;
  let xmpp: ProsodyServer;
  let dir: string;
  let proc: ManagedProcess | undefined;
  let ian: RawIrcClient | undefined;
  const actors: RawIrcClient[] = [];
  let people: XmppPeople<'x'> | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sb-members-kill9-'));
    [irc, xmpp] = await Promise.all([startInspircd(), startProsody()]);
    await xmpp.registerUser('relay', 'relay-password');
    await xmpp.registerUser('xena', 'xena-password');
  }, 60_000);

  afterAll(async () => {
    await proc?.stop();
    for (const c of [ian, ...actors]) await c?.close();
    await people?.stop();
    await irc?.stop();
    await xmpp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const startGateway = (port: number): Promise<ManagedProcess> =>
    startGatewayProcess(dir, {
      server: { port },
      adapters: BRIDGE_ADAPTERS,
      queue: BRIDGE_QUEUE,
      log: { level: 'warn', format: 'json' },
    });

  /** The names in `membership_holds` right now (read beside the running gateway; WAL allows it). */
  const held = (): string[] => {
    const db = new Database(path.join(dir, 'data', 'switchboard.sqlite'), { readonly: true });
    try {
      return (
        db.prepare('SELECT change FROM membership_holds ORDER BY notedAt').all() as { change: string }[]
      ).map((r) => (JSON.parse(r.change) as { name: string }).name);
    } finally {
      db.close();
    }
  };

  it('announces the joins held at a SIGKILL once each after the restart', async () => {
    const muc = `holds@${xmpp.mucDomain}`;
    ian = await RawIrcClient.register(irc.host, irc.port, 'ian');
    ian.send('JOIN #holds');
    people = await startXmppPeople(xmpp, { x: 'xena' });
    await people.clients.x.joinRoom(`${muc}/xena`);
    for (const nick of ['early', ...BURST])
      actors.push(await RawIrcClient.register(irc.host, irc.port, nick));

    const port = await freePort();
    proc = await startGateway(port);
    const api = await new Api(`http://127.0.0.1:${port}`).login('admin', ADMIN_PASSWORD);
    const convs = [
      await joinConversation(api, await addAccount(api, 'irc', ircRelayOptions(irc)), '#holds'),
      await joinConversation(api, await addAccount(api, 'xmpp', xmppRelayOptions(xmpp)), `${muc}/relay`),
    ];
    const bridge = await api.call('POST', '/api/v1/bridges', {
      conversations: convs,
      options: { relayMembership: true },
    });
    expect(bridge.status).toBe(201);
    const notices = () =>
      relayMessagesInMuc(people!, 'x', muc)
        .map((e) => e.text)
        .filter((t) => t.startsWith('* '));
    const mentions = (name: string) => notices().filter((t) => new RegExp(`\\b${name}\\b`).test(t)).length;

    // The relay is in both rooms once a join is announced; then a quiet spell, so the burst starts afresh.
    actors[0]!.send('JOIN #holds');
    await eventually(async () => mentions('early') === 1, 'the first join on XMPP', 30_000);
    await sleep(QUIET_PERIOD_MS);

    // The burst: joins closer together than the quiet window; killed once the last three are held.
    for (let i = 0; i < BURST.length; i++) {
      actors[i + 1]!.send('JOIN #holds');
      if (i < BURST.length - 1) await sleep(150);
      else await eventually(async () => held().length === BURST.length - 1, 'the burst held', 10_000);
    }
    await proc.kill9();
    const atKill = held();
    expect(atKill).toEqual(BURST.slice(1));
    proc = await startGateway(port);

    await eventually(
      async () => BURST.every((n) => mentions(n) >= 1),
      'every join of the burst on XMPP',
      30_000,
    );
    await sleep(QUIET_PERIOD_MS);
    for (const name of ['early', ...BURST])
      expect({ name, times: mentions(name) }).toEqual({ name, times: 1 });
    expect(held()).toEqual([]);
  });
});
