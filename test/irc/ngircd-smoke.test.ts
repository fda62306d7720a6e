import { RemoteRoomId, TransactionId } from '@switchboard/sdk';
import type { AccountSupervisor } from '../../src/registry';
import { type RecordingHost, waitFor } from '../registry/registry-harness';
import { startNgircd, type NgircdServer } from '../support/ngircd';
import { connectedClient, startIrcRegistry } from './irc-harness';

describe('the IRC adapter against ngIRCd (smoke test: no IRCv3 tags, no MONITOR)', () => {
  let server: NgircdServer;
  let supervisor: AccountSupervisor;
  let host: RecordingHost;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    server = await startNgircd();
    const r = await startIrcRegistry();
    supervisor = r.supervisor;
    host = r.host;
    stop = async () => {
      await supervisor.stopAll();
      await r.registry.disposeAll();
    };
  });

  afterAll(async () => {
    await stop?.();
    await server?.stop();
  });

  it('connects two accounts, carries a DM and a channel message, and sees a watched nick online', async () => {
    const opts = (nick: string, extra: Record<string, unknown> = {}) => ({
      host: server.host,
      port: server.port,
      tls: false,
      nick,
      floodIntervalMs: 100,
      isonIntervalSeconds: 5,
      ...extra,
    });
    await supervisor.start({
      accountId: 'ana',
      adapterId: 'irc',
      options: opts('ana', { channels: ['#smoke'], watch: ['ben'] }),
    });
    const ana = await connectedClient(supervisor, 'ana');
    await supervisor.start({
      accountId: 'ben',
      adapterId: 'irc',
      options: opts('ben', { channels: ['#smoke'] }),
    });
    const ben = await connectedClient(supervisor, 'ben');

    const sent = await ana.send({
      roomId: RemoteRoomId('ben'),
      transactionId: TransactionId('s1'),
      text: 'hello ben',
    });
    expect(sent.messageIds).toHaveLength(1);
    const dm = await waitFor('the DM at ben', () =>
      host.find('ben', 'message', (e) => e.text === 'hello ben'),
    );
    expect(dm.roomId).toBe('ana');
    expect(dm.messageId).toMatch(/^h:/); // no msgid on ngIRCd: a derived, stable id

    await waitFor('ben joined #smoke at ana', () =>
      host.find('ana', 'room.member', (e) => e.roomId === '#smoke' && e.displayName === 'ben'),
    );
    await ben.send({ roomId: RemoteRoomId('#smoke'), transactionId: TransactionId('s2'), text: 'hi room' });
    await waitFor('the channel message at ana', () =>
      host.find('ana', 'message', (e) => e.roomId === '#smoke' && e.text === 'hi room'),
    );
    await waitFor(
      'ben online at ana',
      () =>
        host.find(
          'ana',
          'presence',
          (e) => e.userId === `ben!${server.host}` && e.presence.state === 'available',
        ),
      15_000,
    );
  });
});
