import {
  ClientEvent,
  createClient,
  type MatrixClient,
  type MatrixEvent,
  RoomEvent,
  SyncState,
} from 'matrix-js-sdk';
import { logger } from 'matrix-js-sdk/lib/logger';
import { startMatrixHomeserver, type MatrixHomeserver } from '../support/matrix-homeserver';
import { as, type As, C, enc, timeline } from './matrix-http';

// The reference client library against the test homeserver: if matrix-js-sdk can log in, sync, create a
// room and exchange messages with it, the server's shapes are close enough to the spec for the adapter.
describe('matrix test homeserver: matrix-js-sdk 37 smoke test', () => {
  let hs: MatrixHomeserver;
  let bob: As;
  let client: MatrixClient | undefined;

  beforeAll(async () => {
    (logger as unknown as { setLevel(level: string): void }).setLevel('silent');
    // matrix-js-sdk 37 arms a request-timeout timer per HTTP request (http-api/utils.ts timeoutSignal, up to
    // 110 s for a sync) and never clears it, and its capabilities poll can re-arm a 6 h timer after
    // stopClient(). Unref'd timers still fire while Jest runs but do not hold the process open afterwards.
    const realSetTimeout = global.setTimeout;
    jest.spyOn(global, 'setTimeout').mockImplementation((...args: Parameters<typeof setTimeout>) => {
      const t = realSetTimeout(...args);
      t.unref();
      return t;
    });
    // Its MatrixRTC manager logs this for every state event of a room the client has not stored yet (a
    // client-side ordering quirk, seen with any server); everything else still reaches the console.
    const realError = console.error.bind(console);
    jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      if (args.some((a) => typeof a === 'string' && a.includes('Got room state event for unknown room')))
        return;
      realError(...args);
    });
    hs = await startMatrixHomeserver({ serverName: 'hs.test' });
    await hs.registerUser('alice', 'pw', { displayname: 'Alice' });
    bob = as(hs, await hs.registerUser('bob', 'pw', { displayname: 'Bob' }));
  });
  afterAll(async () => {
    client?.stopClient();
    await hs.stop();
    jest.restoreAllMocks();
  });

  it('logs in, syncs, creates a room and exchanges messages', async () => {
    const anon = createClient({ baseUrl: hs.url });
    const login = await anon.loginRequest({
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: 'alice' },
      password: 'pw',
      device_id: 'SMOKEDEV',
    });
    expect(login.user_id).toBe('@alice:hs.test');
    expect(login.device_id).toBe('SMOKEDEV');

    const c = createClient({
      baseUrl: hs.url,
      accessToken: login.access_token,
      userId: login.user_id,
      deviceId: login.device_id,
    });
    client = c;
    const prepared = new Promise<void>((resolve, reject) => {
      c.on(ClientEvent.Sync, (state, _prev, data) => {
        if (state === SyncState.Prepared) resolve();
        if (state === SyncState.Error) reject(data?.error ?? new Error('sync error'));
      });
    });
    await c.startClient({ initialSyncLimit: 10 });
    await prepared;

    const { room_id: roomId } = await c.createRoom({ name: 'Smoke', invite: [bob.userId], is_direct: true });
    const bobsMessage = new Promise<MatrixEvent>((resolve) => {
      c.on(RoomEvent.Timeline, (ev, room) => {
        if (room?.roomId === roomId && ev.getSender() === bob.userId && ev.getType() === 'm.room.message')
          resolve(ev);
      });
    });

    const sent = await c.sendTextMessage(roomId, 'hello from js-sdk');
    expect(sent.event_id).toMatch(/^\$/);
    await bob.join(roomId);
    const bobsId = await bob.send(roomId, 'hello back');
    const got = await bobsMessage;
    expect(got.getId()).toBe(bobsId);
    expect(got.getContent()).toEqual({ msgtype: 'm.text', body: 'hello back' });

    // The SDK's room model agrees with the server: name, members, and our own message (sent once).
    const room = c.getRoom(roomId);
    expect(room?.name).toBe('Smoke');
    expect(
      room
        ?.getJoinedMembers()
        .map((m) => m.userId)
        .sort(),
    ).toEqual(['@alice:hs.test', bob.userId].sort());
    const bodies = room
      ?.getLiveTimeline()
      .getEvents()
      .filter((e) => e.getType() === 'm.room.message')
      .map((e) => e.getContent().body);
    expect(bodies).toEqual(['hello from js-sdk', 'hello back']);

    // And Bob, on plain HTTP, sees Alice's message with the id the SDK was given.
    const s = await bob.sync({});
    expect(timeline(s, roomId).some((e) => e.event_id === sent.event_id)).toBe(true);
    const members = await bob.get(`${C}/rooms/${enc(roomId)}/joined_members`);
    expect(members.body.joined['@alice:hs.test'].display_name).toBe('Alice');
  });
});
