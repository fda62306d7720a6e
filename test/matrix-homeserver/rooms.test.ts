import { startMatrixHomeserver, type MatrixHomeserver } from '../support/matrix-homeserver';
import { as, type As, C, call, enc, reachable, txn } from './matrix-http';

// Rooms, membership rules, sending with transaction ids, state, history and redaction, over real HTTP.
describe('matrix test homeserver: rooms and messages', () => {
  let hs: MatrixHomeserver;
  let alice: As;
  let bob: As;
  let carol: As;

  beforeAll(async () => {
    hs = await startMatrixHomeserver({ serverName: 'hs.test' });
    alice = as(hs, await hs.registerUser('alice', 'pw', { displayname: 'Alice' }));
    bob = as(hs, await hs.registerUser('bob', 'pw'));
    carol = as(hs, await hs.registerUser('carol', 'pw'));
  });
  afterAll(async () => {
    await hs.stop();
  });

  const room = (id: string) => `${C}/rooms/${enc(id)}`;

  it('createRoom applies preset, name, topic, initial_state, alias and invites in spec order', async () => {
    const roomId = await alice.createRoom({
      preset: 'trusted_private_chat',
      is_direct: true,
      invite: [bob.userId],
      name: 'Lunch',
      topic: 'where to eat',
      room_alias_name: 'lunch',
      room_version: '11',
      initial_state: [
        { type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } },
      ],
    });
    expect(roomId).toMatch(/^!.+:hs\.test$/);
    const state = await alice.get(`${room(roomId)}/state`);
    expect(state.status).toBe(200);
    const types = state.body.map((e: any) => `${e.type}|${e.state_key}`);
    expect(types).toEqual(
      expect.arrayContaining([
        'm.room.create|',
        `m.room.member|${alice.userId}`,
        'm.room.power_levels|',
        'm.room.canonical_alias|',
        'm.room.join_rules|',
        'm.room.history_visibility|',
        'm.room.encryption|',
        'm.room.name|',
        'm.room.topic|',
        `m.room.member|${bob.userId}`,
      ]),
    );
    const create = await alice.get(`${room(roomId)}/state/m.room.create/`);
    expect(create.body.room_version).toBe('11');
    const jr = await alice.get(`${room(roomId)}/state/m.room.join_rules`);
    expect(jr.body).toEqual({ join_rule: 'invite' });
    const pl = await alice.get(`${room(roomId)}/state/m.room.power_levels`);
    expect(pl.body.users).toEqual({ [alice.userId]: 100, [bob.userId]: 100 });
    const inv = await alice.get(`${room(roomId)}/state/m.room.member/${enc(bob.userId)}`);
    expect(inv.body).toMatchObject({ membership: 'invite', is_direct: true });
    const me = await alice.get(`${room(roomId)}/state/m.room.member/${enc(alice.userId)}`);
    expect(me.body).toEqual({ membership: 'join', displayname: 'Alice' });
    const none = await alice.get(`${room(roomId)}/state/m.room.avatar`);
    expect(none.status).toBe(404);
    expect(none.body.errcode).toBe('M_NOT_FOUND');

    const dir = await call(hs, 'GET', `${C}/directory/room/${enc('#lunch:hs.test')}`);
    expect(dir.body).toEqual({ room_id: roomId, servers: ['hs.test'] });
    const dup = await alice.post(`${C}/createRoom`, { room_alias_name: 'lunch' });
    expect(dup.body.errcode).toBe('M_ROOM_IN_USE');
  });

  it('enforces membership: invite-only rooms, sending only when joined, leave, kick', async () => {
    const roomId = await alice.createRoom({ preset: 'private_chat' });
    const notInvited = await carol.post(`${C}/join/${enc(roomId)}`);
    expect(notInvited.status).toBe(403);
    expect(notInvited.body.errcode).toBe('M_FORBIDDEN');
    const notJoined = await bob.put(`${room(roomId)}/send/m.room.message/${txn()}`, {
      msgtype: 'm.text',
      body: 'x',
    });
    expect(notJoined.status).toBe(403);
    expect(notJoined.body.errcode).toBe('M_FORBIDDEN');
    const cantRead = await bob.get(`${room(roomId)}/messages?dir=b`);
    expect(cantRead.body.errcode).toBe('M_FORBIDDEN');

    expect((await alice.post(`${room(roomId)}/invite`, { user_id: bob.userId })).status).toBe(200);
    const twice = await alice.post(`${room(roomId)}/invite`, { user_id: '@nobody:hs.test' });
    expect(twice.body.errcode).toBe('M_NOT_FOUND');
    await bob.join(roomId);
    await bob.send(roomId, 'hi');
    const joined = await bob.get(`${C}/joined_rooms`);
    expect(joined.body.joined_rooms).toContain(roomId);
    const members = await bob.get(`${room(roomId)}/joined_members`);
    expect(Object.keys(members.body.joined).sort()).toEqual([alice.userId, bob.userId].sort());

    // Bob (power 0) may not kick Alice (power 100); Alice may kick Bob.
    const up = await bob.post(`${room(roomId)}/kick`, { user_id: alice.userId });
    expect(up.body.errcode).toBe('M_FORBIDDEN');
    expect((await alice.post(`${room(roomId)}/kick`, { user_id: bob.userId, reason: 'bye' })).status).toBe(
      200,
    );
    const after = await bob.put(`${room(roomId)}/send/m.room.message/${txn()}`, {
      msgtype: 'm.text',
      body: 'x',
    });
    expect(after.body.errcode).toBe('M_FORBIDDEN');
    // History up to the kick stays readable for Bob; later events do not.
    const secret = await alice.send(roomId, 'after kick');
    const hist = await bob.get(`${room(roomId)}/messages?dir=b&limit=50`);
    expect(hist.status).toBe(200);
    const ids = hist.body.chunk.map((e: any) => e.event_id);
    expect(ids).not.toContain(secret);
    expect(hist.body.chunk[0]).toMatchObject({
      type: 'm.room.member',
      state_key: bob.userId,
      content: { membership: 'leave', reason: 'bye' },
    });

    // Public rooms are joinable by alias; leave works and is then final for sending.
    const pub = await alice.createRoom({ preset: 'public_chat', room_alias_name: 'town' });
    await carol.join('#town:hs.test');
    expect((await carol.post(`${room(pub)}/leave`, {})).status).toBe(200);
    const gone = await carol.put(`${room(pub)}/send/m.room.message/${txn()}`, {
      msgtype: 'm.text',
      body: 'x',
    });
    expect(gone.body.errcode).toBe('M_FORBIDDEN');
    const nowhere = await carol.post(`${C}/join/${enc('!missing:hs.test')}`);
    expect(nowhere.status).toBe(404);
  });

  it('a txnId is idempotent per device, and a retry after a dropped response stores the event once', async () => {
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    const path = `${room(roomId)}/send/m.room.message/fixed-txn`;
    const a = await alice.put(path, { msgtype: 'm.text', body: 'one' });
    const b = await alice.put(path, { msgtype: 'm.text', body: 'one' });
    expect(b.body.event_id).toBe(a.body.event_id);

    // The same txnId from another device of the same user is another transaction.
    const other = as(hs, await hs.loginUser('alice', 'pw'));
    const c = await other.put(path, { msgtype: 'm.text', body: 'one' });
    expect(c.body.event_id).not.toBe(a.body.event_id);

    hs.faults.dropNextResponse('send');
    const dropped = await alice
      .put(`${room(roomId)}/send/m.room.message/retry-me`, { msgtype: 'm.text', body: 'once' })
      .then(
        () => 'answered',
        () => 'dropped',
      );
    expect(dropped).toBe('dropped');
    const retried = await alice.put(`${room(roomId)}/send/m.room.message/retry-me`, {
      msgtype: 'm.text',
      body: 'once',
    });
    expect(retried.status).toBe(200);

    const hist = await alice.get(`${room(roomId)}/messages?dir=b&limit=100`);
    const bodies = hist.body.chunk
      .filter((e: any) => e.type === 'm.room.message')
      .map((e: any) => e.content.body);
    expect(bodies.filter((x: string) => x === 'once')).toHaveLength(1);
    expect(bodies.filter((x: string) => x === 'one')).toHaveLength(2);
    const mine = hist.body.chunk.find((e: any) => e.event_id === retried.body.event_id);
    expect(mine.unsigned.transaction_id).toBe('retry-me');
    // Other devices never see the sender's transaction id.
    const seen = await other.get(`${room(roomId)}/event/${enc(retried.body.event_id)}`);
    expect(seen.body.unsigned.transaction_id).toBeUndefined();
    expect(seen.body).toMatchObject({ room_id: roomId, sender: alice.userId, type: 'm.room.message' });
    expect(typeof seen.body.origin_server_ts).toBe('number');
    expect(seen.body.event_id).toMatch(/^\$/);
  });

  it('a restart keeps rooms and tokens but forgets transaction ids, like a real server', async () => {
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    const first = await alice.send(roomId, 'before', 'restart-txn');
    await hs.restart();
    // Pooled keep-alive sockets were cut by the restart; a client retries on a fresh one, as real ones do.
    await reachable(hs, alice.accessToken);
    const again = await alice.send(roomId, 'before', 'restart-txn');
    expect(again).not.toBe(first);
    const hist = await alice.get(`${room(roomId)}/messages?dir=b`);
    expect(hist.body.chunk.filter((e: any) => e.content.body === 'before')).toHaveLength(2);
  });

  it('state events: put, get, power levels, and member events only through membership endpoints', async () => {
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    await bob.join(roomId);
    const put = await alice.put(`${room(roomId)}/state/m.room.topic`, { topic: 'new' });
    expect(put.body.event_id).toMatch(/^\$/);
    expect((await bob.get(`${room(roomId)}/state/m.room.topic/`)).body).toEqual({ topic: 'new' });
    const denied = await bob.put(`${room(roomId)}/state/m.room.name/`, { name: 'mine' });
    expect(denied.status).toBe(403);
    expect(denied.body.errcode).toBe('M_FORBIDDEN');
    const custom = await alice.put(`${room(roomId)}/state/org.example.thing/key1`, { n: 1 });
    expect(custom.status).toBe(200);
    expect((await bob.get(`${room(roomId)}/state/org.example.thing/key1`)).body).toEqual({ n: 1 });
    const member = await alice.put(`${room(roomId)}/state/m.room.member/${enc(bob.userId)}`, {
      membership: 'leave',
    });
    expect(member.body.errcode).toBe('M_FORBIDDEN');
    const create = await alice.put(`${room(roomId)}/state/m.room.create/`, { room_version: '1' });
    expect(create.body.errcode).toBe('M_FORBIDDEN');
  });

  it('/messages pages backwards and forwards with from, to, dir and limit', async () => {
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    const sent: string[] = [];
    for (let i = 0; i < 25; i++) sent.push(await alice.send(roomId, `m${i}`));

    const pages: string[] = [];
    let from: string | undefined;
    for (let guard = 0; guard < 20; guard++) {
      const q = `dir=b&limit=7${from ? `&from=${from}` : ''}`;
      const r = await alice.get(`${room(roomId)}/messages?${q}`);
      expect(r.status).toBe(200);
      expect(r.body.start).toBeDefined();
      for (const e of r.body.chunk) if (e.type === 'm.room.message') pages.push(e.event_id);
      if (!r.body.end) break;
      from = r.body.end;
    }
    expect(pages).toEqual([...sent].reverse());

    const fwd: string[] = [];
    let f: string | undefined;
    for (let guard = 0; guard < 20; guard++) {
      const r = await alice.get(`${room(roomId)}/messages?dir=f&limit=10${f ? `&from=${f}` : ''}`);
      for (const e of r.body.chunk) if (e.type === 'm.room.message') fwd.push(e.event_id);
      if (!r.body.end) break;
      f = r.body.end;
    }
    expect(fwd).toEqual(sent);

    const bad = await alice.get(`${room(roomId)}/messages?dir=x`);
    expect(bad.body.errcode).toBe('M_INVALID_PARAM');
  });

  it('redacts: strips content, records redacted_because, and checks permission', async () => {
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    await bob.join(roomId);
    const ev = await bob.send(roomId, 'oops');
    const aliceMsg = await alice.send(roomId, 'mine');
    const denied = await bob.put(`${room(roomId)}/redact/${enc(aliceMsg)}/${txn()}`, {});
    expect(denied.body.errcode).toBe('M_FORBIDDEN');
    const t = txn();
    const r = await bob.put(`${room(roomId)}/redact/${enc(ev)}/${t}`, { reason: 'typo' });
    expect(r.status).toBe(200);
    const r2 = await bob.put(`${room(roomId)}/redact/${enc(ev)}/${t}`, { reason: 'typo' });
    expect(r2.body.event_id).toBe(r.body.event_id);
    const got = await alice.get(`${room(roomId)}/event/${enc(ev)}`);
    expect(got.body.content).toEqual({});
    expect(got.body.unsigned.redacted_because).toMatchObject({
      type: 'm.room.redaction',
      redacts: ev,
      content: { reason: 'typo' },
    });
    // A moderator (power 100) may redact others' events.
    expect((await alice.put(`${room(roomId)}/redact/${enc(aliceMsg)}/${txn()}`, {})).status).toBe(200);
    const missing = await alice.put(`${room(roomId)}/redact/${enc('$nope')}/${txn()}`, {});
    expect(missing.body.errcode).toBe('M_NOT_FOUND');
  });

  it('refuses events over the size limit with M_TOO_LARGE', async () => {
    const roomId = await alice.createRoom({});
    const big = await alice.put(`${room(roomId)}/send/m.room.message/${txn()}`, {
      msgtype: 'm.text',
      body: 'x'.repeat(70000),
    });
    expect(big.status).toBe(413);
    expect(big.body.errcode).toBe('M_TOO_LARGE');
  });
});
