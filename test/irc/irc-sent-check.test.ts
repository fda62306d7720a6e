import {
  isSentCheckCapable,
  type NetworkClient,
  type OutboundMessage,
  RemoteRoomId,
  type SendResult,
  type SentCheckCapable,
  TransactionId,
} from '@switchboard/sdk';
import type { AccountSupervisor } from '../../src/registry';
import { type RecordingHost, waitFor } from '../registry/registry-harness';
import { startInspircd, type InspircdServer } from '../support/inspircd';
import { connectedClient, ircOptions, startIrcRegistry } from './irc-harness';
import { RawIrcClient } from './raw-irc-client';

/**
 * After a crash the gateway's new IRC client rejoins its channels; InspIRCd's +H replay then shows which of
 * the lines the old client wrote got through (SentCheckCapable.findOwnSend).
 */
describe('the IRC adapter tells from the +H replay whether its own line got through (InspIRCd)', () => {
  let server: InspircdServer;
  let supervisor: AccountSupervisor;
  let host: RecordingHost;
  let stop: () => Promise<void>;
  let keeper: RawIrcClient;

  const msg = (
    text: string,
    tx: string,
    room = '#sc',
    extra: Partial<OutboundMessage> = {},
  ): OutboundMessage => ({
    roomId: RemoteRoomId(room),
    transactionId: TransactionId(tx),
    text,
    ...extra,
  });
  const sentCheck = (c: NetworkClient): SentCheckCapable => {
    if (!isSentCheckCapable(c)) throw new Error('the IRC client should be SentCheckCapable');
    return c;
  };

  // Written by the first client before its "crash", each with the time just before the write.
  const sent = new Map<string, { message: OutboundMessage; notBefore: string; result: SendResult }>();
  const long = Array.from({ length: 160 }, (_, i) => `piece${i}`).join(' ');

  beforeAll(async () => {
    server = await startInspircd({ channelHistory: true });
    const r = await startIrcRegistry();
    supervisor = r.supervisor;
    host = r.host;
    stop = async () => {
      await supervisor.stopAll();
      await r.registry.disposeAll();
    };
    // Someone stays in the channels, so they (and #sc's history) outlive the gateway's client.
    keeper = await RawIrcClient.register(server.host, server.port, 'keeper');
    keeper.send('JOIN #sc,#plain');
    keeper.send('MODE #plain -H');
    await keeper.waitFor(/ MODE #plain :?-H/);

    const options = ircOptions(server, 'gw', { channels: ['#sc', '#plain'] });
    await supervisor.start({ accountId: 'before', adapterId: 'irc', options });
    const before = await connectedClient(supervisor, 'before');
    const send = async (key: string, message: OutboundMessage): Promise<void> => {
      const notBefore = new Date().toISOString();
      sent.set(key, { message, notBefore, result: await before.send(message) });
    };
    await send('one', msg('said before the crash', 'tx-one'));
    await send('twinA', msg('same words', 'tx-twin-a'));
    await send('long', msg(long, 'tx-long', '#sc', { kind: 'emote' }));
    await send(
      'styled',
      msg('bold words', 'tx-styled', '#sc', {
        formatted: {
          blocks: [
            {
              type: 'paragraph',
              children: [{ type: 'bold', children: [{ type: 'text', text: 'bold words' }] }],
            },
          ],
        },
      }),
    );
    await send('plain', msg('said where nothing is replayed', 'tx-plain', '#plain'));
    expect(sent.get('long')!.result.messageIds.length).toBeGreaterThan(1);
    for (const s of sent.values()) expect(s.result.confirmed).toBe(true);

    // The crash: that client is gone; a new one for the same account (same nick) starts and rejoins.
    await supervisor.stop('before');
    await supervisor.start({ accountId: 'after', adapterId: 'irc', options });
  });

  afterAll(async () => {
    await stop?.();
    await keeper?.close();
    await server?.stop();
  });

  it('finds a line written before the crash, by the ids the new client ingests for its replay', async () => {
    // Asked as soon as the new client is connected, before its rejoin is through: it waits for the replay.
    const after = sentCheck(await connectedClient(supervisor, 'after'));
    const { message, notBefore, result } = sent.get('one')!;
    const ids = await after.findOwnSend(message, notBefore);
    const ingested = await waitFor('the replayed line', () =>
      host.find('after', 'message', (e) => e.text === message.text),
    );
    expect(ingested).toMatchObject({ backfill: true, sender: { self: true } });
    expect(ids).toEqual([ingested.messageId]);
    expect(ids).toEqual(result.messageIds);
  });

  it('finds nothing for a message that was never sent, or sent before notBefore', async () => {
    const after = sentCheck(await connectedClient(supervisor, 'after'));
    const { notBefore } = sent.get('one')!;
    expect(await after.findOwnSend(msg('never written', 'tx-never'), notBefore)).toBeUndefined();
    // A direct message has no replay.
    expect(
      await after.findOwnSend(msg('said before the crash', 'tx-dm', 'keeper'), notBefore),
    ).toBeUndefined();
    const later = new Date(Date.now() + 5000).toISOString();
    expect(await after.findOwnSend(msg('same words', 'tx-late'), later)).toBeUndefined();
  });

  it('tells two messages with the same text apart: only one copy is in the replay', async () => {
    const after = sentCheck(await connectedClient(supervisor, 'after'));
    const { notBefore, result } = sent.get('twinA')!;
    expect(await after.findOwnSend(msg('same words', 'tx-twin-a'), notBefore)).toEqual(result.messageIds);
    expect(await after.findOwnSend(msg('same words', 'tx-twin-b'), notBefore)).toBeUndefined();
  });

  it('finds every line of a message split over several lines, and formatted text', async () => {
    const after = sentCheck(await connectedClient(supervisor, 'after'));
    const { message, notBefore, result } = sent.get('long')!;
    const ids = await after.findOwnSend(message, notBefore);
    expect(ids).toEqual(result.messageIds);
    // mIRC formatting is rendered as send() rendered it.
    const styled = sent.get('styled')!;
    expect(await after.findOwnSend(styled.message, styled.notBefore)).toEqual(styled.result.messageIds);
    // As a plain text it is other lines (no room kept for the ACTION wrapper, another command).
    expect(await after.findOwnSend({ ...message, kind: 'text' }, notBefore)).toBeUndefined();
  });

  it('answers undefined for a channel without +H, although the line got through', async () => {
    const after = sentCheck(await connectedClient(supervisor, 'after'));
    const { message, notBefore } = sent.get('plain')!;
    // The new client did join #plain (its members came), and the server replayed nothing there.
    await waitFor('the rejoin of #plain', () =>
      host.find('after', 'room.member', (e) => e.roomId === '#plain' && e.displayName === 'gw'),
    );
    expect(await after.findOwnSend(message, notBefore)).toBeUndefined();
    expect(host.find('after', 'message', (e) => e.roomId === '#plain')).toBeUndefined();
  });
});
