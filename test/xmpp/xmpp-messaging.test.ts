import { RemoteMessageId, RemoteRoomId, RemoteUserId, TransactionId } from '@switchboard/sdk';
import { waitFor } from '../registry/registry-harness';
import { startProsody, type ProsodyServer } from '../support/prosody';
import { accountOptions, connectedClient, startXmppGateway } from './xmpp-harness';

/**
 * Two (and a third, second-resource) accounts on a real prosody, driven through the registry and the
 * account supervisor; every assertion is on what the adapter emitted to the gateway.
 */
describe('xmpp adapter: roster, presence, chat and rooms against a real prosody', () => {
  let server: ProsodyServer;
  let gw: Awaited<ReturnType<typeof startXmppGateway>>;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    server = await startProsody();
    await server.registerUser('alice', 'alice-pw');
    await server.registerUser('bob', 'bob-pw');
    alice = `alice@${server.domain}`;
    bob = `bob@${server.domain}`;
    gw = await startXmppGateway();
    await gw.supervisor.start({
      accountId: 'a',
      adapterId: 'xmpp',
      options: accountOptions(server, 'alice', 'alice-pw'),
    });
    await gw.supervisor.start({
      accountId: 'b',
      adapterId: 'xmpp',
      options: accountOptions(server, 'bob', 'bob-pw', { resource: 'laptop' }),
    });
    await connectedClient(gw.supervisor, 'a');
    await connectedClient(gw.supervisor, 'b');
  });
  afterAll(async () => {
    await gw?.stop();
    await server?.stop();
  });

  const A = () => gw.supervisor.client('a') as unknown as import('../../adapters/xmpp').XmppClient;
  const B = () => gw.supervisor.client('b') as unknown as import('../../adapters/xmpp').XmppClient;

  it('carries a subscription request and its approval both ways, and the roster follows', async () => {
    await A().addContact(RemoteUserId(bob), { message: 'hi, it is alice' });
    const req = await waitFor('bob sees the request', () =>
      gw.host.find('b', 'contact.request', (e) => e.userId === alice),
    );
    expect(req.message).toBe('hi, it is alice');
    await waitFor('bob in alice roster', () => gw.host.find('a', 'contact.upsert', (e) => e.userId === bob));

    await B().answerContactRequest(RemoteUserId(alice), true);
    // Accepting asks for alice's presence in return; alice added bob herself, so her adapter approves
    // that at once instead of asking her again.
    await waitFor('alice in bob roster', () =>
      gw.host.find('b', 'contact.upsert', (e) => e.userId === alice),
    );
    // Both subscribed: each sees the other online.
    await waitFor('alice sees bob online', () =>
      gw.host.find('a', 'presence', (e) => e.userId === bob && e.presence.state === 'available'),
    );
    await waitFor('bob sees alice online', () =>
      gw.host.find('b', 'presence', (e) => e.userId === alice && e.presence.state === 'available'),
    );
    expect((await A().listContacts()).map((c) => c.userId)).toEqual([bob]);
    expect(gw.host.find('a', 'contact.request', (e) => e.userId === bob)).toBeUndefined();
  });

  it('maps show and status text, and aggregates two resources of one contact', async () => {
    await B().setPresence({ state: 'away', status: 'at lunch' });
    await waitFor('alice sees bob away with the status', () =>
      gw.host.find(
        'a',
        'presence',
        (e) =>
          e.userId === bob &&
          e.presence.state === 'away' &&
          e.presence.status === 'at lunch' &&
          e.resource === 'laptop',
      ),
    );

    // A second resource of bob, available: the best show wins.
    await gw.supervisor.start({
      accountId: 'b2',
      adapterId: 'xmpp',
      options: accountOptions(server, 'bob', 'bob-pw', { resource: 'phone' }),
    });
    await connectedClient(gw.supervisor, 'b2');
    await waitFor('alice sees bob available via the phone', () =>
      gw.host.find(
        'a',
        'presence',
        (e) => e.userId === bob && e.presence.state === 'available' && e.resource === 'phone',
      ),
    );
    const phone = gw.supervisor.client('b2') as unknown as import('../../adapters/xmpp').XmppClient;
    await phone.setPresence({ state: 'busy', status: 'driving' });
    // away (laptop) beats dnd (phone).
    await waitFor('alice sees bob away again', () => {
      const last = gw.host
        .eventsOf('a')
        .filter((e) => e.type === 'presence' && e.userId === bob)
        .at(-1);
      return last?.type === 'presence' && last.presence.state === 'away' && last.resource === 'laptop'
        ? last
        : undefined;
    });
    await gw.supervisor.stop('b2');
    await B().setPresence({ state: 'busy', status: 'in a meeting' });
    await waitFor('alice sees bob busy', () =>
      gw.host.find(
        'a',
        'presence',
        (e) => e.userId === bob && e.presence.state === 'busy' && e.presence.status === 'in a meeting',
      ),
    );
  });

  it('carries DMs both ways with stable ids, receipts, read markers and typing', async () => {
    await A().setTyping(RemoteRoomId(bob), true);
    await waitFor('bob sees alice typing', () =>
      gw.host.find('b', 'typing', (e) => e.userId === alice && e.typing),
    );

    const sent = await A().send({
      roomId: RemoteRoomId(bob),
      transactionId: TransactionId('tx-a1'),
      text: 'hello bob',
    });
    expect(sent).toEqual({ messageIds: ['tx-a1'], confirmed: true });
    const got = await waitFor('bob gets the DM', () =>
      gw.host.find('b', 'message', (e) => e.text === 'hello bob'),
    );
    expect(got).toMatchObject({
      roomId: alice,
      roomKind: 'direct',
      messageId: 'tx-a1',
      sender: { userId: alice },
      kind: 'text',
    });
    expect(got.sender.self).toBeUndefined();
    // bob's adapter acknowledged it (XEP-0184) once the gateway had it.
    await waitFor('alice gets a delivery receipt', () =>
      gw.host.find(
        'a',
        'receipt',
        (e) => e.messageId === 'tx-a1' && e.kind === 'delivered' && e.roomId === bob,
      ),
    );
    await B().markRead(RemoteRoomId(alice), RemoteMessageId('tx-a1'));
    await waitFor('alice gets a read marker', () =>
      gw.host.find('a', 'receipt', (e) => e.messageId === 'tx-a1' && e.kind === 'read'),
    );

    await B().send({
      roomId: RemoteRoomId(alice),
      transactionId: TransactionId('tx-b1'),
      text: 'hi alice',
      kind: 'emote',
    });
    await waitFor('alice gets the answer', () =>
      gw.host.find(
        'a',
        'message',
        (e) => e.messageId === 'tx-b1' && e.text === 'hi alice' && e.kind === 'emote' && e.roomId === bob,
      ),
    );
  });

  it('maps corrections, replies and retractions', async () => {
    await A().editMessage(
      RemoteRoomId(bob),
      RemoteMessageId('tx-a1'),
      'hello, bob',
      undefined,
      TransactionId('tx-a2'),
    );
    await waitFor('bob sees the edit', () =>
      gw.host.find(
        'b',
        'message.edit',
        (e) => e.messageId === 'tx-a1' && e.text === 'hello, bob' && e.editId === 'tx-a2',
      ),
    );

    await B().send({
      roomId: RemoteRoomId(alice),
      transactionId: TransactionId('tx-b2'),
      text: 'replying to you',
      replyTo: RemoteMessageId('tx-a1'),
    });
    await waitFor('alice sees the reply', () =>
      gw.host.find(
        'a',
        'message',
        (e) => e.messageId === 'tx-b2' && e.replyTo === 'tx-a1' && e.text === 'replying to you',
      ),
    );

    await A().redactMessage(RemoteRoomId(bob), RemoteMessageId('tx-a1'), 'typo');
    await waitFor('bob sees the retraction', () =>
      gw.host.find(
        'b',
        'message.redact',
        (e) => e.messageId === 'tx-a1' && e.roomId === alice && e.sender.userId === alice,
      ),
    );
    // Every message arrived once.
    expect(gw.host.eventsOf('b').filter((e) => e.type === 'message' && e.messageId === 'tx-a1')).toHaveLength(
      1,
    );
  });

  it('joins a MUC room, lists occupants, carries messages both ways and the subject', async () => {
    const room = `lobby@${server.mucDomain}`;
    const joinedA = await A().joinRoom(room);
    expect(joinedA).toEqual({ roomId: room, kind: 'group', title: room });
    await B().joinRoom(`${room}/bobby`);
    await waitFor('alice sees bobby join', () =>
      gw.host.find(
        'a',
        'room.member',
        (e) => e.roomId === room && e.userId === `${room}/bobby` && e.membership === 'join',
      ),
    );
    expect(A().occupants(RemoteRoomId(room))).toEqual(['alice', 'bobby']);
    expect(B().occupants(RemoteRoomId(room))).toEqual(['alice', 'bobby']);
    expect((await B().listRooms()).map((r) => r.roomId)).toEqual([room]);

    await A().send({ roomId: RemoteRoomId(room), transactionId: TransactionId('tx-m1'), text: 'hello room' });
    const atB = await waitFor('bob gets the room message', () =>
      gw.host.find('b', 'message', (e) => e.roomId === room && e.text === 'hello room'),
    );
    expect(atB).toMatchObject({
      roomKind: 'group',
      messageId: 'tx-m1',
      sender: { userId: `${room}/alice`, displayName: 'alice' },
    });
    // The room reflects alice's own message back: marked as hers, with the transaction id.
    await waitFor('alice gets her reflection', () =>
      gw.host.find(
        'a',
        'message',
        (e) =>
          e.roomId === room &&
          e.messageId === 'tx-m1' &&
          e.sender.self === true &&
          e.transactionId === 'tx-m1',
      ),
    );
    await B().send({
      roomId: RemoteRoomId(room),
      transactionId: TransactionId('tx-m2'),
      text: 'hi all',
      replyTo: RemoteMessageId('tx-m1'),
    });
    await waitFor("alice gets bob's room reply", () =>
      gw.host.find(
        'a',
        'message',
        (e) =>
          e.roomId === room &&
          e.text === 'hi all' &&
          e.replyTo === 'tx-m1' &&
          e.sender.userId === `${room}/bobby`,
      ),
    );

    await A().setTopic(RemoteRoomId(room), 'plans for friday');
    await waitFor('bob sees the subject', () =>
      gw.host.find('b', 'room.upsert', (e) => e.roomId === room && e.topic === 'plans for friday'),
    );

    await A().redactMessage(RemoteRoomId(room), RemoteMessageId('tx-m1'));
    await waitFor('bob sees the room retraction', () =>
      gw.host.find('b', 'message.redact', (e) => e.roomId === room && e.messageId === 'tx-m1'),
    );

    await B().leaveRoom(RemoteRoomId(room));
    await waitFor('alice sees bobby leave', () =>
      gw.host.find(
        'a',
        'room.member',
        (e) => e.roomId === room && e.userId === `${room}/bobby` && e.membership === 'leave',
      ),
    );
    await waitFor('bob left', () => gw.host.find('b', 'room.left', (e) => e.roomId === room));
    expect(await B().listRooms()).toEqual([]);
  });

  it('denies a subscription request, and removes a contact from the roster', async () => {
    await server.registerUser('mallory', 'mallory-pw');
    await gw.supervisor.start({
      accountId: 'm',
      adapterId: 'xmpp',
      options: accountOptions(server, 'mallory', 'mallory-pw'),
    });
    const m = await connectedClient(gw.supervisor, 'm');
    const mallory = `mallory@${server.domain}`;
    await m.addContact(RemoteUserId(alice));
    await waitFor('alice sees the request', () =>
      gw.host.find('a', 'contact.request', (e) => e.userId === mallory),
    );
    await A().answerContactRequest(RemoteUserId(mallory), false);
    // mallory's roster keeps alice, but without a subscription: no presence of alice reaches mallory.
    await waitFor('mallory has alice in the roster', () =>
      gw.host.find('m', 'contact.upsert', (e) => e.userId === alice),
    );
    await A().setPresence({ state: 'away', status: 'not for mallory' });
    await waitFor('bob sees it', () =>
      gw.host.find('b', 'presence', (e) => e.userId === alice && e.presence.status === 'not for mallory'),
    );
    // (The server tells mallory "offline" when the request is denied, and nothing more.)
    expect(
      gw.host.find('m', 'presence', (e) => e.userId === alice && e.presence.state !== 'offline'),
    ).toBeUndefined();
    await gw.supervisor.stop('m');

    await A().removeContact(RemoteUserId(bob));
    await waitFor('bob leaves alice roster', () =>
      gw.host.find('a', 'contact.remove', (e) => e.userId === bob),
    );
    expect((await A().listContacts()).map((c) => c.userId)).not.toContain(bob);
  });
});
