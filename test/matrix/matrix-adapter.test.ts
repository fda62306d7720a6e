import {
  AccountId,
  type ClientContext,
  fromPlainText,
  type RemoteEvent,
  RemoteMessageId,
  RemoteRoomId,
  RemoteUserId,
  toPlainText,
  TransactionId,
} from '@switchboard/sdk';
import matrixAdapter from '../../adapters/matrix';
import { ENCRYPTED_NOTICE } from '../../adapters/matrix/matrix-inbound.mapper';
import type { MatrixNetworkClient } from '../../adapters/matrix/matrix.client';
import { silentLogger, waitFor } from '../registry/registry-harness';
import { startMatrixHomeserver, type MatrixHomeserver } from '../support/matrix-homeserver';
import { as, C, enc } from '../matrix-homeserver/matrix-http';

/** One account's client with a recording context, as the gateway would host it. */
class Account {
  readonly events: RemoteEvent[] = [];
  readonly store = new Map<string, unknown>();
  client!: MatrixNetworkClient;
  private abort = new AbortController();

  constructor(
    private readonly hs: MatrixHomeserver,
    readonly user: string,
    readonly password: string,
  ) {}

  async start(): Promise<MatrixNetworkClient> {
    this.abort = new AbortController();
    const ctx: ClientContext = {
      accountId: AccountId(`acc-${this.user}`),
      logger: silentLogger,
      emit: (e) => {
        this.events.push(e);
        return Promise.resolve();
      },
      state: {
        get: <T>(k: string) => Promise.resolve(this.store.get(k) as T | undefined),
        set: (k, v) => Promise.resolve(void this.store.set(k, structuredClone(v))),
        delete: (k) => Promise.resolve(void this.store.delete(k)),
      },
      signal: this.abort.signal,
    };
    const options = await validate({
      homeserverUrl: this.hs.url,
      userId: this.user,
      password: this.password,
      syncTimeoutMs: 2000,
    });
    this.client = matrixAdapter.createClient(options, ctx) as MatrixNetworkClient;
    await this.client.connect();
    return this.client;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.client.disconnect();
  }

  get userId(): string {
    return `@${this.user}:hs.test`;
  }

  find<T extends RemoteEvent['type']>(
    type: T,
    pred: (e: Extract<RemoteEvent, { type: T }>) => boolean = () => true,
  ) {
    return this.events.find(
      (e): e is Extract<RemoteEvent, { type: T }> =>
        e.type === type && pred(e as Extract<RemoteEvent, { type: T }>),
    );
  }

  all<T extends RemoteEvent['type']>(type: T): Extract<RemoteEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<RemoteEvent, { type: T }> => e.type === type);
  }
}

async function validate(raw: unknown) {
  const r = await matrixAdapter.optionsSchema['~standard'].validate(raw);
  if (r.issues) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

describe('matrix adapter against the test homeserver', () => {
  let hs: MatrixHomeserver;
  let alice: Account;
  let bob: Account;

  beforeAll(async () => {
    hs = await startMatrixHomeserver({ serverName: 'hs.test', maxEventSize: 4 * 1024 * 1024 });
    await hs.registerUser('alice', 'a-pw', { displayname: 'Alice' });
    await hs.registerUser('bob', 'b-pw', { displayname: 'Bob' });
    alice = new Account(hs, 'alice', 'a-pw');
    bob = new Account(hs, 'bob', 'b-pw');
    await alice.start();
    await bob.start();
  });
  afterAll(async () => {
    await alice?.stop();
    await bob?.stop();
    await hs.stop();
  });

  it('connects, and a wrong password is bad_credentials', async () => {
    expect(alice.client.status.state).toBe('connected');
    const wrong = new Account(hs, 'alice', 'nope');
    await wrong.start();
    expect(wrong.client.status).toMatchObject({ state: 'bad_credentials', code: 'login_refused' });
    await wrong.stop();
  });

  it('DM both ways, formatted round trip, edits, redactions, replies, reactions, typing, receipts', async () => {
    const dm = await alice.client.openDirect(RemoteUserId(bob.userId));
    expect(dm.kind).toBe('direct');
    await waitFor('bob invited', () =>
      bob.find('room.member', (e) => e.roomId === dm.roomId && e.membership === 'invite'),
    );
    await bob.client.joinRoom(dm.roomId);

    const formatted = {
      blocks: [
        {
          type: 'paragraph' as const,
          children: [
            { type: 'bold' as const, children: [{ type: 'text' as const, text: 'hi' }] },
            { type: 'text' as const, text: ' bob' },
          ],
        },
      ],
    };
    const sent = await alice.client.send({
      roomId: dm.roomId,
      transactionId: TransactionId('tx-a1'),
      text: 'hi bob',
      formatted,
    });
    expect(sent.confirmed).toBe(true);
    const atBob = await waitFor('message at bob', () =>
      bob.find('message', (e) => e.messageId === sent.messageIds[0]),
    );
    expect(atBob).toMatchObject({
      sender: { userId: alice.userId, displayName: 'Alice' },
      kind: 'text',
      text: 'hi bob',
    });
    expect(atBob.formatted).toEqual(formatted);
    // The sender's own echo carries the transaction id.
    await waitFor('echo at alice', () =>
      alice.find('message', (e) => e.transactionId === 'tx-a1' && e.sender.self === true),
    );

    const reply = await bob.client.send({
      roomId: dm.roomId,
      transactionId: TransactionId('tx-b1'),
      text: 'hello alice',
      kind: 'emote',
      replyTo: sent.messageIds[0]!,
    });
    const atAlice = await waitFor('reply at alice', () =>
      alice.find('message', (e) => e.messageId === reply.messageIds[0]),
    );
    expect(atAlice).toMatchObject({ kind: 'emote', text: 'hello alice', replyTo: sent.messageIds[0] });

    await alice.client.editMessage(
      dm.roomId,
      sent.messageIds[0]!,
      'hi bob!',
      fromPlainText('hi bob!'),
      TransactionId('tx-a2'),
    );
    const edit = await waitFor('edit at bob', () =>
      bob.find('message.edit', (e) => e.messageId === sent.messageIds[0]),
    );
    expect(edit.text).toBe('hi bob!');
    expect(edit.formatted && toPlainText(edit.formatted)).toBe('hi bob!');

    await bob.client.react(dm.roomId, sent.messageIds[0]!, '👍', TransactionId('tx-b2'));
    await waitFor('reaction at alice', () =>
      alice.find('reaction', (e) => e.key === '👍' && e.messageId === sent.messageIds[0]),
    );

    await alice.client.redactMessage(dm.roomId, sent.messageIds[0]!, 'oops');
    const red = await waitFor('redaction at bob', () =>
      bob.find('message.redact', (e) => e.messageId === sent.messageIds[0]),
    );
    expect(red.reason).toBe('oops');

    await bob.client.setTyping(dm.roomId, true);
    await waitFor('typing at alice', () => alice.find('typing', (e) => e.userId === bob.userId && e.typing));
    await bob.client.setTyping(dm.roomId, false);
    await waitFor('typing stop at alice', () =>
      alice.find('typing', (e) => e.userId === bob.userId && !e.typing),
    );
    await bob.client.markRead(dm.roomId, reply.messageIds[0]!);
    await waitFor('receipt at alice', () =>
      alice.find('receipt', (e) => e.userId === bob.userId && e.messageId === reply.messageIds[0]),
    );

    await bob.client.setPresence({ state: 'away', status: 'at lunch' });
    await waitFor('presence at alice', () =>
      alice.find(
        'presence',
        (e) => e.userId === bob.userId && e.presence.state === 'away' && e.presence.status === 'at lunch',
      ),
    );
    // Both sides know the room as a DM with the other (m.direct, and is_direct on the invite).
    expect(alice.find('room.upsert', (e) => e.roomId === dm.roomId && e.kind === 'direct')?.peer).toBe(
      bob.userId,
    );
    expect(bob.find('room.upsert', (e) => e.roomId === dm.roomId && e.kind === 'direct')?.peer).toBe(
      alice.userId,
    );
    expect(atBob.roomKind).toBe('direct');
  });

  it('sanitises a hostile formatted_body and survives a 1 MiB one', async () => {
    const roomId = RemoteRoomId(
      (await alice.client.joinRoom((await createPublicRoom(hs, 'hostile')).roomId)).roomId,
    );
    await bob.client.joinRoom(roomId);
    const raw = as(hs, await hs.loginUser('bob', 'b-pw'));
    const bodies = [
      '<img src=x onerror=alert(1)>hi',
      '<a href="javascript:alert(1)">click</a>',
      '<b>'.repeat(5000) + 'deep' + '</b>'.repeat(5000),
      '<i>' + 'x'.repeat(1024 * 1024) + '</i>',
    ];
    const ids: string[] = [];
    for (const [i, html] of bodies.entries()) {
      const r = await raw.put(`${C}/rooms/${enc(roomId)}/send/m.room.message/hostile${i}`, {
        msgtype: 'm.text',
        body: 'plain',
        format: 'org.matrix.custom.html',
        formatted_body: html,
      });
      expect(r.status).toBe(200);
      ids.push(r.body.event_id);
    }
    const got = await waitFor('hostile messages at alice', () => {
      const ms = ids.map((id) => alice.find('message', (e) => e.messageId === id));
      return ms.every(Boolean) ? ms : undefined;
    });
    const json = JSON.stringify(got);
    expect(json).not.toMatch(/onerror|javascript:|<script/i);
    expect(got[3]!.formatted?.truncated).toBe(true);
  });

  it('an encrypted event becomes a clear notice', async () => {
    const { roomId } = await createPublicRoom(hs, 'secret');
    await alice.client.joinRoom(roomId);
    const raw = as(hs, await hs.loginUser('bob', 'b-pw'));
    await raw.post(`${C}/join/${enc(roomId)}`);
    const r = await raw.put(`${C}/rooms/${enc(roomId)}/send/m.room.encrypted/enc1`, {
      algorithm: 'm.megolm.v1.aes-sha2',
      ciphertext: 'AwgAEn...',
      session_id: 's',
      device_id: 'D',
      sender_key: 'k',
    });
    const n = await waitFor('notice', () => alice.find('message', (e) => e.messageId === r.body.event_id));
    expect(n).toMatchObject({ kind: 'notice', text: ENCRYPTED_NOTICE });
  });

  it('follows a room upgrade only when both rooms agree (CVE-2025-59160)', async () => {
    const dm = await alice.client.openDirect(RemoteUserId(bob.userId));
    // Mallory's room claims to continue Alice's DM with Bob; the DM has no tombstone pointing at it.
    const mallory = as(hs, await hs.registerUser('mallory', 'pw'));
    const fake = await mallory.createRoom({
      preset: 'private_chat',
      invite: [alice.userId],
      creation_content: { predecessor: { room_id: dm.roomId, event_id: '$whatever' } },
    });
    await waitFor('invite to the fake room', () =>
      alice.find('room.member', (e) => e.roomId === fake && e.membership === 'invite'),
    );
    await alice.client.joinRoom(fake);
    // A genuine upgrade by Alice (from another of her clients): new room naming the DM, then the tombstone.
    const other = as(hs, await hs.loginUser('alice', 'a-pw'));
    const real = await other.createRoom({
      preset: 'trusted_private_chat',
      invite: [bob.userId],
      creation_content: { predecessor: { room_id: dm.roomId, event_id: '$last' } },
    });
    const tomb = await other.put(`${C}/rooms/${enc(dm.roomId)}/state/m.room.tombstone/`, {
      body: 'upgraded',
      replacement_room: real,
    });
    expect(tomb.status).toBe(200);
    const upgraded = await waitFor('the real successor is the DM', () =>
      alice.find('room.upsert', (e) => e.roomId === real && e.kind === 'direct'),
    );
    expect(upgraded.peer).toBe(bob.userId);
    expect(alice.find('room.upsert', (e) => e.roomId === fake && e.kind === 'direct')).toBeUndefined();
    const rooms = await alice.client.listRooms();
    expect(rooms.find((r) => r.roomId === fake)?.kind).toBe('group');
    expect(rooms.find((r) => r.roomId === real)?.kind).toBe('direct');
  });

  it('the buddy list is the DM peers, with display names', async () => {
    await alice.client.addContact(RemoteUserId(bob.userId));
    const contacts = await alice.client.listContacts();
    expect(contacts).toContainEqual({ userId: bob.userId, displayName: 'Bob' });
    const carol = await hs.registerUser('carol', 'pw', { displayname: 'Carol' });
    await alice.client.addContact(RemoteUserId(carol.userId));
    expect((await alice.client.listContacts()).map((c) => c.userId)).toContain(carol.userId);
    await alice.client.removeContact(RemoteUserId(carol.userId));
    // A sync computed before the removal may still be in flight; the next one carries the new m.direct.
    let ids: string[] = [];
    for (let i = 0; i < 200; i++) {
      ids = (await alice.client.listContacts()).map((c) => c.userId);
      if (!ids.includes(carol.userId)) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(ids).not.toContain(carol.userId);
    expect(ids).toContain(bob.userId);
    const direct = await as(hs, await hs.loginUser('alice', 'a-pw')).get(
      `${C}/user/${enc(alice.userId)}/account_data/m.direct`,
    );
    expect(Object.keys(direct.body)).toContain(bob.userId);
    expect(Object.keys(direct.body)).not.toContain(carol.userId);
    expect(alice.find('contact.remove', (e) => e.userId === carol.userId)).toBeDefined();
  });

  it('a send retried after a dropped response is stored once', async () => {
    const dm = await alice.client.openDirect(RemoteUserId(bob.userId));
    hs.faults.dropNextResponse('send');
    const msg = { roomId: dm.roomId, transactionId: TransactionId('tx-drop'), text: 'exactly once' };
    const first = await alice.client.send(msg).catch((e: unknown) => e);
    expect(first).toMatchObject({ name: 'SendError', retryable: true });
    const second = await alice.client.send(msg);
    await waitFor('delivered at bob', () => bob.find('message', (e) => e.messageId === second.messageIds[0]));
    const hist = await as(hs, await hs.loginUser('bob', 'b-pw')).get(
      `${C}/rooms/${enc(dm.roomId)}/messages?dir=b&limit=100`,
    );
    expect(hist.body.chunk.filter((e: any) => e.content?.body === 'exactly once')).toHaveLength(1);
  });

  it('a restarted client resumes from its stored sync token: no duplicate, nothing missed', async () => {
    const dm = await alice.client.openDirect(RemoteUserId(bob.userId));
    const before = await alice.client.send({
      roomId: dm.roomId,
      transactionId: TransactionId('tx-r1'),
      text: 'before restart',
    });
    await waitFor('before at bob', () => bob.find('message', (e) => e.messageId === before.messageIds[0]));
    const deviceBefore = (bob.store.get('session') as { deviceId: string }).deviceId;
    await bob.stop();
    const during: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await alice.client.send({
        roomId: dm.roomId,
        transactionId: TransactionId(`tx-r-during-${i}`),
        text: `during ${i}`,
      });
      during.push(r.messageIds[0]!);
    }
    await bob.start();
    expect(bob.client.status.state).toBe('connected');
    expect((bob.store.get('session') as { deviceId: string }).deviceId).toBe(deviceBefore);
    const after = await alice.client.send({
      roomId: dm.roomId,
      transactionId: TransactionId('tx-r2'),
      text: 'after restart',
    });
    await waitFor('after at bob', () => bob.find('message', (e) => e.messageId === after.messageIds[0]));
    const ids = bob.all('message').map((e) => e.messageId);
    for (const id of [before.messageIds[0]!, ...during, after.messageIds[0]!]) {
      expect(ids.filter((x) => x === id)).toHaveLength(1);
    }
    expect(ids.indexOf(RemoteMessageId(during[0]!))).toBeLessThan(
      ids.indexOf(RemoteMessageId(after.messageIds[0]!)),
    );
  });
});

async function createPublicRoom(hs: MatrixHomeserver, alias: string): Promise<{ roomId: RemoteRoomId }> {
  const owner = as(hs, await hs.registerUser(`owner-${alias}`, 'pw'));
  return { roomId: RemoteRoomId(await owner.createRoom({ preset: 'public_chat' })) };
}
