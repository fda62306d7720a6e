import path from 'node:path';
import { isAttachmentsCapable, isRoomsCapable, RemoteUserId, TransactionId } from '@switchboard/sdk';
import { AccountSupervisor, AdapterRegistry, loadAdapters } from '../../src/registry';
import { RecordingHost, silentLogger, waitFor } from '../registry/registry-harness';
import { startMatrixHomeserver, type MatrixHomeserver } from '../support/matrix-homeserver';

const repoRoot = path.resolve(__dirname, '../..');

// The adapter as the gateway runs it: loaded by the registry from adapters/matrix, started and
// reconnected by the account supervisor, against the test homeserver over real HTTP.
describe('matrix adapter under the account supervisor', () => {
  let hs: MatrixHomeserver;
  let registry: AdapterRegistry;
  let host: RecordingHost;
  let supervisor: AccountSupervisor;

  beforeAll(async () => {
    hs = await startMatrixHomeserver({ serverName: 'hs.test' });
    await hs.registerUser('alice', 'a-pw');
    await hs.registerUser('bob', 'b-pw');
    registry = new AdapterRegistry(
      await loadAdapters([{ id: 'matrix', path: 'adapters/matrix' }], {
        logger: silentLogger,
        baseDir: repoRoot,
      }),
    );
    host = new RecordingHost();
    supervisor = new AccountSupervisor(registry, host, { policy: { initialDelayMs: 50, maxDelayMs: 200 } });
    for (const [user, password] of [
      ['alice', 'a-pw'],
      ['bob', 'b-pw'],
    ] as const) {
      await supervisor.start({
        accountId: `acc-${user}`,
        adapterId: 'matrix',
        options: { homeserverUrl: hs.url, userId: user, password, syncTimeoutMs: 1000 },
      });
    }
    await waitFor('both connected', () =>
      ['acc-alice', 'acc-bob'].every((a) => supervisor.status(a)?.state === 'connected'),
    );
  });
  afterAll(async () => {
    await supervisor?.stopAll();
    await registry?.disposeAll();
    await hs.stop();
  });

  it('sends an attachment and fetches it back byte for byte, within a size limit', async () => {
    const a = supervisor.client('acc-alice')!;
    const b = supervisor.client('acc-bob')!;
    if (!isRoomsCapable(a) || !isRoomsCapable(b) || !isAttachmentsCapable(a) || !isAttachmentsCapable(b))
      throw new Error('the matrix client should have rooms and attachments');
    const dm = await a.openDirect(RemoteUserId('@bob:hs.test'));
    await waitFor('invite at bob', () =>
      host.find('acc-bob', 'room.member', (e) => e.roomId === dm.roomId && e.membership === 'invite'),
    );
    await b.joinRoom(dm.roomId);
    const data = new Uint8Array(Array.from({ length: 5000 }, (_, i) => (i * 7) % 256));
    const id = await a.sendAttachment(
      dm.roomId,
      { name: 'photo.png', mimeType: 'image/png', data },
      TransactionId('tx-att'),
    );
    const msg = await waitFor('attachment at bob', () =>
      host.find('acc-bob', 'message', (e) => e.messageId === id),
    );
    const att = msg.attachments?.[0];
    expect(att).toMatchObject({ name: 'photo.png', mimeType: 'image/png', size: 5000 });
    const got = await b.fetchAttachment(att!, 1024 * 1024);
    expect(got.mimeType).toBe('image/png');
    expect(Buffer.from(got.data).equals(Buffer.from(data))).toBe(true);
    await expect(b.fetchAttachment(att!, 100)).rejects.toThrow(/limit/);
  });

  it('reconnects after the homeserver restarts and resumes without duplicates', async () => {
    const a = supervisor.client('acc-alice')!;
    if (!isRoomsCapable(a)) throw new Error('unreachable');
    const dm = await a.openDirect(RemoteUserId('@bob:hs.test'));
    const first = await a.send({ roomId: dm.roomId, transactionId: TransactionId('tx-1'), text: 'one' });
    await waitFor('one at bob', () =>
      host.find('acc-bob', 'message', (e) => e.messageId === first.messageIds[0]),
    );
    const statusesBefore = host.statuses.get('acc-bob')?.length ?? 0;

    await hs.restart({ downMs: 200 });
    // Bob's long-poll was cut: the adapter reports it and the supervisor brings up a new client.
    await waitFor('bob reported the drop', () =>
      host.statuses
        .get('acc-bob')
        ?.slice(statusesBefore)
        .some((s) => s.state === 'transient_disconnect'),
    );
    await waitFor('bob connected again', () => supervisor.status('acc-bob')?.state === 'connected', 30_000);
    await waitFor(
      'alice connected again',
      () => supervisor.status('acc-alice')?.state === 'connected',
      30_000,
    );

    const a2 = supervisor.client('acc-alice')!;
    const second = await a2.send({ roomId: dm.roomId, transactionId: TransactionId('tx-2'), text: 'two' });
    await waitFor('two at bob', () =>
      host.find('acc-bob', 'message', (e) => e.messageId === second.messageIds[0]),
    );
    const ids = host.eventsOf('acc-bob').flatMap((e) => (e.type === 'message' ? [e.messageId] : []));
    expect(ids.filter((x) => x === first.messageIds[0])).toHaveLength(1);
    expect(ids.filter((x) => x === second.messageIds[0])).toHaveLength(1);
  });

  it('reads back what a limited sync skipped: 250 messages while bob was away arrive complete and in order', async () => {
    const a = supervisor.client('acc-alice')!;
    if (!isRoomsCapable(a)) throw new Error('unreachable');
    const dm = await a.openDirect(RemoteUserId('@bob:hs.test'));
    await supervisor.stop('acc-bob');
    // More than one sync's timeline (100 events): the next sync comes back `limited`.
    for (let i = 0; i < 250; i++)
      await a.send({ roomId: dm.roomId, transactionId: TransactionId(`gap-${i}`), text: `gap ${i}` });
    await supervisor.start({
      accountId: 'acc-bob',
      adapterId: 'matrix',
      options: { homeserverUrl: hs.url, userId: 'bob', password: 'b-pw', syncTimeoutMs: 1000 },
    });
    const gap = () =>
      host
        .eventsOf('acc-bob')
        .flatMap((e) => (e.type === 'message' && e.text.startsWith('gap ') ? [e.text] : []));
    await waitFor('all 250 at bob', () => gap().length >= 250, 30_000);
    expect(gap()).toEqual(Array.from({ length: 250 }, (_, i) => `gap ${i}`));
  });
});
