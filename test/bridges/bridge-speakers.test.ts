import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import {
  BridgeSpeakers,
  SPEAKER_WINDOW_MS,
  SPEAKERS_PER_CONVERSATION,
} from '../../src/bridges/bridge-speakers';
import { insertRow } from '../../src/common/db';
import { openDatabase } from '../../src/storage/database';
import { Account, Conversation, Endpoint, Message, User } from '../../src/storage/entities';

/**
 * The names a bridged mention can mean, read from a real (in-memory SQLite) messages table: who counts
 * (native senders, recently, under their latest name) and who never does (the user's own messages, copies).
 */
describe('BridgeSpeakers', () => {
  let ds: DataSource;
  const now = Date.now();
  const ids = { user: randomUUID(), account: randomUUID(), conv: randomUUID() };
  const endpoints = new Map<string, string>();

  async function endpoint(address: string): Promise<string> {
    const known = endpoints.get(address);
    if (known) return known;
    const id = randomUUID();
    await ds.getRepository(Endpoint).insert({
      id,
      ownerId: ids.user,
      accountId: ids.account,
      personId: null,
      network: 'matrix',
      address,
      displayName: null,
      presenceState: 'unknown',
      presenceStatus: null,
      presenceSince: null,
      capabilities: {},
      hints: {},
      lastActiveAt: null,
    });
    endpoints.set(address, id);
    return id;
  }

  function message(o: Partial<Message> & { sentAt: number }): Message {
    return {
      id: randomUUID(),
      ownerId: ids.user,
      conversationId: ids.conv,
      senderEndpointId: null,
      senderName: 'x',
      self: false,
      kind: 'text',
      text: 'hi',
      html: null,
      replyToId: null,
      editedAt: null,
      deleted: false,
      attachments: null,
      status: 'delivered',
      failReason: null,
      clientId: null,
      transactionId: randomUUID(),
      origin: null,
      ...o,
    };
  }
  async function said(address: string, name: string, sentAt: number, extra: Partial<Message> = {}) {
    const msg = message({ senderEndpointId: await endpoint(address), senderName: name, sentAt, ...extra });
    await insertRow(ds.manager, Message, msg);
    return msg;
  }
  const names = async (s: BridgeSpeakers) =>
    (await s.of(ds.manager, [ids.conv], () => 'matrix')).map((x) => `${x.userId}=${x.name}`).sort();

  beforeAll(async () => {
    ds = await openDatabase({ kind: 'sqlite', path: ':memory:' }, { migrate: true });
    await ds.getRepository(User).insert({
      id: ids.user,
      username: 'owner',
      passwordHash: 'x',
      isAdmin: false,
      createdAt: now,
    });
    await ds.getRepository(Account).insert({
      id: ids.account,
      ownerId: ids.user,
      adapterId: 'matrix',
      label: null,
      options: {},
      secrets: null,
      enabled: true,
      state: 'connected',
      stateMessage: null,
      createdAt: now,
      updatedAt: now,
    });
    await ds.getRepository(Conversation).insert({
      id: ids.conv,
      ownerId: ids.user,
      accountId: ids.account,
      remoteId: '!room:hs',
      kind: 'group',
      title: null,
      topic: null,
      peerEndpointId: null,
      unread: 0,
      lastMessageAt: null,
      createdAt: now,
    });
    await said('@mia:hs', 'Mia (old name)', now - 5000);
    await said('@mia:hs', 'Mia', now - 4000);
    await said('@old:hs', 'Old', now - SPEAKER_WINDOW_MS - 1000);
    // The user's own message and a bridge copy are never speakers.
    await said('@relay:hs', 'relay', now - 3000, { self: true });
    await said('@copy:hs', 'copied', now - 3000, {
      origin: { bridgeId: 'b', conversationId: 'c', messageId: 'm' },
    });
  });

  afterAll(async () => {
    await ds?.destroy();
  });

  it('reads recent native senders from the messages table, under the name they last used', async () => {
    expect(await names(new BridgeSpeakers())).toEqual(['@mia:hs=Mia']);
  });

  it('learns a new speaker and a new name from the messages it relays', async () => {
    const s = new BridgeSpeakers();
    expect(await names(s)).toEqual(['@mia:hs=Mia']);
    await s.saw(ds.manager, await said('@ann:hs', 'Ann', now - 1000));
    await s.saw(ds.manager, await said('@mia:hs', 'Mia M.', now - 500));
    // Replayed history does not bring back an older name.
    await s.saw(ds.manager, await said('@mia:hs', 'Mia (old name)', now - 6000));
    await s.saw(ds.manager, await said('@relay:hs', 'relay', now, { self: true }));
    expect(await names(s)).toEqual(['@ann:hs=Ann', '@mia:hs=Mia M.']);
    // And a fresh instance (a restart) reads the same from the table.
    expect(await names(new BridgeSpeakers())).toEqual(['@ann:hs=Ann', '@mia:hs=Mia M.']);
  });

  it('keeps the most recent speakers of a conversation only', async () => {
    const s = new BridgeSpeakers();
    await names(s);
    for (let i = 0; i < SPEAKERS_PER_CONVERSATION + 5; i++)
      await s.saw(ds.manager, await said(`@p${i}:hs`, `p${i}`, now + i));
    const list = await names(s);
    expect(list).toHaveLength(SPEAKERS_PER_CONVERSATION);
    expect(list).toContain(`@p${SPEAKERS_PER_CONVERSATION + 4}:hs=p${SPEAKERS_PER_CONVERSATION + 4}`);
    expect(list).not.toContain('@mia:hs=Mia M.');
  });
});
