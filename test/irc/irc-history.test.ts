import { RemoteRoomId, TransactionId, isRoomsCapable } from '@switchboard/sdk';
import type { AccountSupervisor } from '../../src/registry';
import { type RecordingHost, waitFor } from '../registry/registry-harness';
import { startInspircd, type InspircdServer } from '../support/inspircd';
import { connectedClient, ircOptions, startIrcRegistry } from './irc-harness';
import { RawIrcClient } from './raw-irc-client';

describe('the IRC adapter and channel history replayed on join (InspIRCd +H)', () => {
  let server: InspircdServer;
  let supervisor: AccountSupervisor;
  let host: RecordingHost;
  let stop: () => Promise<void>;
  let talker: RawIrcClient;

  beforeAll(async () => {
    server = await startInspircd({ channelHistory: true });
    const r = await startIrcRegistry();
    supervisor = r.supervisor;
    host = r.host;
    stop = async () => {
      await supervisor.stopAll();
      await r.registry.disposeAll();
    };
    talker = await RawIrcClient.register(server.host, server.port, 'talker');
  });

  afterAll(async () => {
    await stop?.();
    await talker?.close();
    await server?.stop();
  });

  it('marks replayed lines as backfill with their original ids, and never repeats one', async () => {
    talker.send('JOIN #hist');
    await talker.waitFor(/ 366 talker #hist /);
    talker.send('PRIVMSG #hist :said before anyone came');
    await supervisor.start({ accountId: 'late', adapterId: 'irc', options: ircOptions(server, 'late') });
    const late = await connectedClient(supervisor, 'late');
    if (!isRoomsCapable(late)) throw new Error('unreachable');
    await late.joinRoom('#hist');
    const replayed = await waitFor('the replayed line', () =>
      host.find('late', 'message', (e) => e.text === 'said before anyone came'),
    );
    expect(replayed).toMatchObject({ roomId: '#hist', backfill: true, sender: { displayName: 'talker' } });

    // Leave and come back: the same history is replayed again, and dropped as already seen.
    await late.leaveRoom(RemoteRoomId('#hist'));
    await late.joinRoom('#hist');
    await late.send({ roomId: RemoteRoomId('#hist'), transactionId: TransactionId('h1'), text: 'marker' });
    await waitFor('the marker echo', () => host.find('late', 'message', (e) => e.text === 'marker'));
    const copies = host
      .eventsOf('late')
      .filter((e) => e.type === 'message' && e.text === 'said before anyone came');
    expect(copies).toHaveLength(1);
  });
});
