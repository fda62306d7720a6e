import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  isEditCapable,
  isPresenceCapable,
  isRoomsCapable,
  RemoteMessageId,
  RemoteRoomId,
  TransactionId,
} from '@switchboard/sdk';
import { AccountSupervisor, AdapterBootError, AdapterRegistry, loadAdapters } from '../../src/registry';
import { type FakeClient, fakeHub } from '../fixtures/fake-adapter';
import { RecordingHost, silentLogger, waitFor } from './registry-harness';

const repoRoot = path.resolve(__dirname, '../..');
const fakePath = 'test/fixtures/fake-adapter';

describe('the registry, end to end with the fake in-memory adapter', () => {
  let host: RecordingHost;
  let supervisor: AccountSupervisor;
  let registry: AdapterRegistry;
  const network = `net-${process.pid}`;

  beforeAll(async () => {
    const loaded = await loadAdapters([{ id: 'fake', path: fakePath }], {
      logger: silentLogger,
      baseDir: repoRoot,
    });
    registry = new AdapterRegistry(loaded);
    host = new RecordingHost();
    // A short first step keeps the test quick; the schedule itself is checked by the unit spec.
    supervisor = new AccountSupervisor(registry, host, { policy: { initialDelayMs: 50, maxDelayMs: 200 } });
  });

  afterAll(async () => {
    await supervisor.stopAll();
    await registry.disposeAll();
    fakeHub.reset();
  });

  const connected = (id: string) => () => supervisor.status(id)?.state === 'connected';

  it('lists the adapter loaded by path', () => {
    expect(registry.list()).toEqual([
      expect.objectContaining({
        id: 'fake',
        version: '0.0.0-test',
        sdk: '^1.0.0',
        capabilities: expect.objectContaining({ presence: true, rooms: true, edit: true }),
        source: { kind: 'path', location: path.join(repoRoot, fakePath) },
      }),
    ]);
  });

  it('connects two accounts, carries a DM, presence, a room message and an edit', async () => {
    const alice = {
      accountId: 'acc-alice',
      adapterId: 'fake',
      options: { network, user: 'alice', password: 'a-pass' },
    };
    const bob = {
      accountId: 'acc-bob',
      adapterId: 'fake',
      options: { network, user: 'bob', password: 'b-pass' },
    };
    await supervisor.start(alice);
    await supervisor.start(bob);
    await waitFor('alice connected', connected('acc-alice'));
    await waitFor('bob connected', connected('acc-bob'));
    expect(host.statuses.get('acc-bob')?.map((s) => s.state)).toEqual(['connecting', 'connected']);

    const a = supervisor.client('acc-alice')!;
    expect([isPresenceCapable(a), isRoomsCapable(a), isEditCapable(a)]).toEqual([true, true, true]);

    const sent = await a.send({
      roomId: RemoteRoomId('bob'),
      transactionId: TransactionId('tx-1'),
      text: 'hello bob',
    });
    expect(sent.confirmed).toBe(true);
    const dm = await waitFor('the DM at bob', () =>
      host.find('acc-bob', 'message', (e) => e.text === 'hello bob'),
    );
    expect(dm).toMatchObject({
      roomId: 'alice',
      roomKind: 'direct',
      sender: { userId: 'alice' },
      messageId: sent.messageIds[0],
    });
    // The sender's echo carries the transaction id, so the gateway can match it to its send.
    await waitFor('the echo at alice', () =>
      host.find('acc-alice', 'message', (e) => e.transactionId === 'tx-1' && e.sender.self === true),
    );
    // A retry of the same send is not delivered twice.
    await a.send({ roomId: RemoteRoomId('bob'), transactionId: TransactionId('tx-1'), text: 'hello bob' });

    if (!isPresenceCapable(a)) throw new Error('unreachable');
    await a.setPresence({ state: 'away', status: 'lunch' });
    await waitFor('alice away at bob', () =>
      host.find('acc-bob', 'presence', (e) => e.userId === 'alice' && e.presence.state === 'away'),
    );

    const b = supervisor.client('acc-bob')!;
    if (!isRoomsCapable(a) || !isRoomsCapable(b) || !isEditCapable(a)) throw new Error('unreachable');
    await a.joinRoom('#lobby');
    await b.joinRoom('lobby');
    await waitFor('bob joined, seen by alice', () =>
      host.find('acc-alice', 'room.member', (e) => e.userId === 'bob' && e.membership === 'join'),
    );
    await b.send({ roomId: RemoteRoomId('#lobby'), transactionId: TransactionId('tx-2'), text: 'hi room' });
    await waitFor('the room message at alice', () =>
      host.find(
        'acc-alice',
        'message',
        (e) => e.roomId === '#lobby' && e.text === 'hi room' && e.roomKind === 'group',
      ),
    );
    expect((await a.listRooms()).map((r) => r.roomId)).toEqual(['#lobby']);

    await a.editMessage(
      RemoteRoomId('bob'),
      RemoteMessageId(sent.messageIds[0]!),
      'hello, bob',
      undefined,
      TransactionId('tx-3'),
    );
    await waitFor('the edit at bob', () =>
      host.find(
        'acc-bob',
        'message.edit',
        (e) => e.messageId === sent.messageIds[0] && e.text === 'hello, bob',
      ),
    );
    expect(
      host.eventsOf('acc-bob').filter((e) => e.type === 'message' && e.text === 'hello bob'),
    ).toHaveLength(1);
  });

  it('reconnects a dropped account, and what arrived meanwhile is delivered after', async () => {
    const before = supervisor.client('acc-bob') as FakeClient;
    before.simulateDrop('peer reset');
    await waitFor('bob transient', () =>
      host.statuses
        .get('acc-bob')
        ?.some((s) => s.state === 'transient_disconnect' && s.message === 'peer reset'),
    );
    await waitFor('alice sees bob offline', () =>
      host.find('acc-alice', 'presence', (e) => e.userId === 'bob' && e.presence.state === 'offline'),
    );
    // Sent while bob is away: the network keeps it until bob's gateway accepted it.
    await supervisor.client('acc-alice')!.send({
      roomId: RemoteRoomId('bob'),
      transactionId: TransactionId('tx-4'),
      text: 'while you were out',
    });

    await waitFor('bob reconnected', () => connected('acc-bob')() && supervisor.client('acc-bob') !== before);
    expect(supervisor.client('acc-bob')).not.toBe(before);
    await waitFor('the queued DM at bob', () =>
      host.find('acc-bob', 'message', (e) => e.text === 'while you were out'),
    );
    const states = host.statuses.get('acc-bob')!.map((s) => s.state);
    expect(states.slice(-3)).toEqual(['transient_disconnect', 'connecting', 'connected']);
  });

  it('reports a wrong password as bad credentials and does not retry it', async () => {
    await supervisor.start({
      accountId: 'acc-mallory',
      adapterId: 'fake',
      options: { network, user: 'bob', password: 'nope' },
    });
    await waitFor('bad credentials', () => supervisor.status('acc-mallory')?.state === 'bad_credentials');
    expect(supervisor.status('acc-mallory')).toMatchObject({ code: 'bad_password' });
    expect(supervisor.retryAt('acc-mallory')).toBeUndefined();
    expect(supervisor.client('acc-mallory')).toBeUndefined();
    // bob's own session was not disturbed by the failed login.
    expect(supervisor.status('acc-bob')?.state).toBe('connected');
    await supervisor.stop('acc-mallory');
  });

  it('keeps retrying while the network is down, and connects when it is back', async () => {
    const net = fakeHub.network(`${network}-flaky`);
    net.down = true;
    await supervisor.start({
      accountId: 'acc-carol',
      adapterId: 'fake',
      options: { network: net.name, user: 'carol', password: 'c' },
    });
    await waitFor('three failed attempts', () =>
      (host.statuses.get('acc-carol') ?? []).filter((s) => s.code === 'unreachable').length >= 3
        ? true
        : undefined,
    );
    net.down = false;
    await waitFor('carol connected', connected('acc-carol'));
    await supervisor.stop('acc-carol');
    expect(net.session('carol')).toBeUndefined();
  });

  it('refuses invalid account options, naming the field', async () => {
    const r = await registry.validateAccountOptions('fake', { network, user: 'Bad Name', password: '' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues.map((i) => i.path).sort()).toEqual(['password', 'user']);
    expect(registry.splitSecrets('fake', { network, user: 'x', password: 'p' })).toEqual({
      public: { network, user: 'x' },
      secrets: { password: 'p' },
    });
  });
});

describe('folder adapters', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sb-adapters-'));
    mkdirSync(path.join(dir, 'fake'));
    // A folder adapter whose index re-exports the fixture: resolved as adapters/<id>.
    writeFileSync(
      path.join(dir, 'fake', 'index.js'),
      `module.exports = require(${JSON.stringify(path.join(repoRoot, fakePath))});\n`,
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads adapters/<id> and refuses a missing folder by name', async () => {
    const loaded = await loadAdapters([{ id: 'fake' }], { logger: silentLogger, adaptersDir: dir });
    expect(loaded[0]?.source).toEqual({ kind: 'folder', location: path.join(dir, 'fake') });

    const err = await loadAdapters([{ id: 'fake' }, { id: 'ghost' }, { id: 'off', enabled: false }], {
      logger: silentLogger,
      adaptersDir: dir,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdapterBootError);
    const boot = err as AdapterBootError;
    expect(boot.failures.map((f) => f.adapterId)).toEqual(['ghost']);
    expect(boot.message).toContain(`adapter "ghost" (folder ${path.join(dir, 'ghost')}) has no folder`);
  });

  it('refuses a manifest whose id differs from the config id', async () => {
    const err = (await loadAdapters([{ id: 'other', path: path.join(dir, 'fake') }], {
      logger: silentLogger,
    }).catch((e: unknown) => e)) as AdapterBootError;
    expect(err.failures[0]?.reason).toBe(
      'declares id "fake" but config names it "other"; the two must match',
    );
  });
});
