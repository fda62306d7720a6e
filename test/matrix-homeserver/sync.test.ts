import { startMatrixHomeserver, type MatrixHomeserver } from '../support/matrix-homeserver';
import { as, type As, C, enc, timeline, txn } from './matrix-http';

// /sync: since tokens, long-polls, limited timelines, ephemeral events, account data, presence, and
// correctness under concurrent senders.
describe('matrix test homeserver: sync', () => {
  let hs: MatrixHomeserver;
  let alice: As;
  let bob: As;

  beforeAll(async () => {
    hs = await startMatrixHomeserver({ serverName: 'hs.test' });
    alice = as(hs, await hs.registerUser('alice', 'pw', { displayname: 'Alice' }));
    bob = as(hs, await hs.registerUser('bob', 'pw', { displayname: 'Bob' }));
  });
  afterAll(async () => {
    await hs.stop();
  });

  const room = (id: string) => `${C}/rooms/${enc(id)}`;

  /** Syncs from `since` until `pred` holds, gathering every response; long-polls so no busy loop. */
  async function syncUntil(
    u: As,
    since: string,
    pred: (responses: any[]) => boolean,
  ): Promise<{ responses: any[]; next: string }> {
    const responses: any[] = [];
    let next = since;
    for (let i = 0; i < 200 && !pred(responses); i++) {
      const s = await u.sync({ since: next, timeout: 5000 });
      responses.push(s);
      next = s.next_batch;
    }
    if (!pred(responses)) throw new Error('sync condition never held');
    return { responses, next };
  }

  it('initial sync returns state and timeline; since tokens resume without duplicates', async () => {
    const roomId = await alice.createRoom({ preset: 'public_chat', name: 'Room A' });
    await bob.join(roomId);
    await alice.send(roomId, 'first');
    const init = await bob.sync({ filter: JSON.stringify({ room: { timeline: { limit: 3 } } }) });
    expect(init.next_batch).toMatch(/^s\d+$/);
    const joined = init.rooms.join[roomId];
    expect(joined.timeline.events).toHaveLength(3);
    expect(joined.timeline.limited).toBe(true);
    expect(typeof joined.timeline.prev_batch).toBe('string');
    // State is the room's state at the start of the timeline: creation and power levels, and not the name,
    // which was set within the timeline's three events.
    const stateTypes = joined.state.events.map((e: any) => e.type);
    expect(stateTypes).toEqual(expect.arrayContaining(['m.room.create', 'm.room.power_levels']));
    expect(stateTypes).not.toContain('m.room.name');
    expect(joined.timeline.events[0]).toMatchObject({ type: 'm.room.name', content: { name: 'Room A' } });
    expect(joined.summary['m.joined_member_count']).toBe(2);
    // Sync events carry no room_id (ClientEventWithoutRoomID) but do carry ids and timestamps.
    const last = joined.timeline.events[2];
    expect(last).toMatchObject({ type: 'm.room.message', sender: alice.userId, content: { body: 'first' } });
    expect(last.room_id).toBeUndefined();

    // prev_batch continues backwards exactly where the timeline started.
    const back = await bob.get(`${room(roomId)}/messages?dir=b&from=${joined.timeline.prev_batch}&limit=100`);
    const before = back.body.chunk.map((e: any) => e.event_id);
    const inTimeline = joined.timeline.events.map((e: any) => e.event_id);
    expect(before.filter((id: string) => inTimeline.includes(id))).toEqual([]);
    expect(back.body.chunk.at(-1).type).toBe('m.room.create');

    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await alice.send(roomId, `n${i}`));
    const { responses, next } = await syncUntil(
      bob,
      init.next_batch,
      (rs) => rs.flatMap((s) => timeline(s, roomId)).filter((e) => e.type === 'm.room.message').length >= 5,
    );
    const got = responses.flatMap((s) => timeline(s, roomId)).map((e) => e.event_id);
    expect(got).toEqual(ids);
    // Nothing new: a zero-timeout sync from the latest token is empty.
    const empty = await bob.sync({ since: next, timeout: 0 });
    expect(empty.rooms.join[roomId]).toBeUndefined();
    expect(empty.next_batch).toBe(next);
  });

  it('a long-poll is woken by a new event and returns the sender own transaction id', async () => {
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    const base = await alice.sync({});
    const pending = alice.sync({ since: base.next_batch, timeout: 30000 });
    // Give the long-poll time to be parked before the event; correctness does not depend on it.
    await new Promise((r) => setTimeout(r, 50));
    const evId = await alice.send(roomId, 'wake', 'my-txn');
    const woke = await pending;
    const evs = timeline(woke, roomId);
    expect(evs.map((e) => e.event_id)).toEqual([evId]);
    expect(evs[0].unsigned.transaction_id).toBe('my-txn');
  });

  it('a long-poll with nothing to report returns after its timeout with the same token', async () => {
    const base = await alice.sync({});
    const s = await alice.sync({ since: base.next_batch, timeout: 200 });
    expect(s.next_batch).toBe(base.next_batch);
    expect(s.rooms.join).toEqual({});
  });

  it('invites, joins and leaves appear in rooms.invite, rooms.join and rooms.leave', async () => {
    const base = await bob.sync({});
    const roomId = await alice.createRoom({
      preset: 'private_chat',
      invite: [bob.userId],
      is_direct: true,
      name: 'DM',
    });
    const { responses, next } = await syncUntil(bob, base.next_batch, (rs) =>
      rs.some((s) => s.rooms.invite[roomId]),
    );
    const inv = responses.find((s) => s.rooms.invite[roomId]).rooms.invite[roomId];
    const me = inv.invite_state.events.find(
      (e: any) => e.type === 'm.room.member' && e.state_key === bob.userId,
    );
    expect(me.content).toMatchObject({ membership: 'invite', is_direct: true });
    expect(inv.invite_state.events.find((e: any) => e.type === 'm.room.name').content.name).toBe('DM');

    await bob.join(roomId);
    const j = await syncUntil(bob, next, (rs) => rs.some((s) => s.rooms.join[roomId]));
    const joinedEntry = j.responses.find((s) => s.rooms.join[roomId]).rooms.join[roomId];
    // A fresh join gets the room from scratch: state plus timeline ending in the join.
    const all = [...joinedEntry.state.events, ...joinedEntry.timeline.events];
    expect(all.some((e: any) => e.type === 'm.room.create')).toBe(true);
    expect(joinedEntry.timeline.events.at(-1)).toMatchObject({
      type: 'm.room.member',
      state_key: bob.userId,
    });

    await bob.post(`${room(roomId)}/leave`, {});
    const l = await syncUntil(bob, j.next, (rs) => rs.some((s) => s.rooms.leave[roomId]));
    const left = l.responses.find((s) => s.rooms.leave[roomId]).rooms.leave[roomId];
    expect(left.timeline.events.at(-1).content.membership).toBe('leave');
    // After leaving, the room's later events no longer reach Bob.
    await alice.send(roomId, 'after leave');
    const quiet = await bob.sync({ since: l.next, timeout: 100 });
    expect(quiet.rooms.join[roomId]).toBeUndefined();
    expect(quiet.rooms.leave[roomId]).toBeUndefined();
  });

  it('typing and receipts arrive as ephemeral events; private receipts only for their owner', async () => {
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    await bob.join(roomId);
    const ev = await alice.send(roomId, 'read me');
    const base = await alice.sync({});
    expect(
      (await bob.put(`${room(roomId)}/typing/${enc(bob.userId)}`, { typing: true, timeout: 30000 })).status,
    ).toBe(200);
    const forged = await bob.put(`${room(roomId)}/typing/${enc(alice.userId)}`, { typing: true });
    expect(forged.body.errcode).toBe('M_FORBIDDEN');
    const t = await syncUntil(alice, base.next_batch, (rs) =>
      rs.some((s) => s.rooms.join[roomId]?.ephemeral.events.some((e: any) => e.type === 'm.typing')),
    );
    const typing = t.responses
      .flatMap((s) => s.rooms.join[roomId]?.ephemeral.events ?? [])
      .find((e: any) => e.type === 'm.typing');
    expect(typing.content.user_ids).toEqual([bob.userId]);

    await bob.put(`${room(roomId)}/typing/${enc(bob.userId)}`, { typing: false });
    await bob.post(`${room(roomId)}/receipt/m.read/${enc(ev)}`, {});
    await bob.post(`${room(roomId)}/receipt/m.read.private/${enc(ev)}`, {});
    const r = await syncUntil(alice, t.next, (rs) =>
      rs.some((s) => s.rooms.join[roomId]?.ephemeral.events.some((e: any) => e.type === 'm.receipt')),
    );
    const eph = r.responses.flatMap((s) => s.rooms.join[roomId]?.ephemeral.events ?? []);
    expect(eph.filter((e: any) => e.type === 'm.typing').at(-1).content.user_ids).toEqual([]);
    const receipt = eph.find((e: any) => e.type === 'm.receipt');
    expect(receipt.content[ev]['m.read'][bob.userId].ts).toEqual(expect.any(Number));
    expect(receipt.content[ev]['m.read.private']).toBeUndefined();
    const own = await bob.sync({});
    const ownReceipt = own.rooms.join[roomId].ephemeral.events.find((e: any) => e.type === 'm.receipt');
    expect(ownReceipt.content[ev]['m.read.private'][bob.userId]).toBeDefined();

    const badType = await bob.post(`${room(roomId)}/receipt/m.nonsense/${enc(ev)}`, {});
    expect(badType.body.errcode).toBe('M_INVALID_PARAM');
    const markers = await bob.post(`${room(roomId)}/read_markers`, { 'm.fully_read': ev });
    expect(markers.status).toBe(200);
    const fr = await bob.get(`${C}/user/${enc(bob.userId)}/rooms/${enc(roomId)}/account_data/m.fully_read`);
    expect(fr.body).toEqual({ event_id: ev });
  });

  it('typing notices lapse after their timeout', async () => {
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    await bob.join(roomId);
    const base = await alice.sync({});
    await bob.put(`${room(roomId)}/typing/${enc(bob.userId)}`, { typing: true, timeout: 100 });
    const r = await syncUntil(alice, base.next_batch, (rs) => {
      const t = rs
        .flatMap((s) => s.rooms.join[roomId]?.ephemeral.events ?? [])
        .filter((e: any) => e.type === 'm.typing');
      return t.length > 0 && t.at(-1).content.user_ids.length === 0;
    });
    const seen = r.responses
      .flatMap((s) => s.rooms.join[roomId]?.ephemeral.events ?? [])
      .filter((e: any) => e.type === 'm.typing');
    expect(seen[0].content.user_ids).toEqual([bob.userId]);
  });

  it('account data (global m.direct and per room) is stored and synced', async () => {
    const roomId = await alice.createRoom({ preset: 'private_chat', is_direct: true, invite: [bob.userId] });
    const base = await alice.sync({});
    const put = await alice.put(`${C}/user/${enc(alice.userId)}/account_data/m.direct`, {
      [bob.userId]: [roomId],
    });
    expect(put.status).toBe(200);
    await alice.put(`${C}/user/${enc(alice.userId)}/rooms/${enc(roomId)}/account_data/m.tag`, {
      tags: { 'm.favourite': {} },
    });
    const got = await alice.get(`${C}/user/${enc(alice.userId)}/account_data/m.direct`);
    expect(got.body).toEqual({ [bob.userId]: [roomId] });
    const other = await bob.get(`${C}/user/${enc(alice.userId)}/account_data/m.direct`);
    expect(other.body.errcode).toBe('M_FORBIDDEN');
    const absent = await alice.get(`${C}/user/${enc(alice.userId)}/account_data/org.none`);
    expect(absent.body.errcode).toBe('M_NOT_FOUND');

    const r = await syncUntil(
      alice,
      base.next_batch,
      (rs) =>
        rs.some((s) => s.account_data.events.some((e: any) => e.type === 'm.direct')) &&
        rs.some((s) => s.rooms.join[roomId]?.account_data.events.some((e: any) => e.type === 'm.tag')),
    );
    const direct = r.responses.flatMap((s) => s.account_data.events).find((e: any) => e.type === 'm.direct');
    expect(direct.content).toEqual({ [bob.userId]: [roomId] });
  });

  it('presence with status_msg reaches users who share a room; profile changes update member events', async () => {
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    await bob.join(roomId);
    const base = await alice.sync({ set_presence: 'offline' });
    const set = await bob.put(`${C}/presence/${enc(bob.userId)}/status`, {
      presence: 'unavailable',
      status_msg: 'at lunch',
    });
    expect(set.status).toBe(200);
    const forged = await bob.put(`${C}/presence/${enc(alice.userId)}/status`, { presence: 'online' });
    expect(forged.body.errcode).toBe('M_FORBIDDEN');
    const invalid = await bob.put(`${C}/presence/${enc(bob.userId)}/status`, { presence: 'dancing' });
    expect(invalid.body.errcode).toBe('M_INVALID_PARAM');
    const status = await alice.get(`${C}/presence/${enc(bob.userId)}/status`);
    expect(status.body).toMatchObject({
      presence: 'unavailable',
      status_msg: 'at lunch',
      currently_active: false,
    });

    const r = await syncUntil(alice, base.next_batch, (rs) =>
      rs.some((s) =>
        s.presence.events.some((e: any) => e.sender === bob.userId && e.content.status_msg === 'at lunch'),
      ),
    );
    const p = r.responses.flatMap((s) => s.presence.events).find((e: any) => e.sender === bob.userId);
    expect(p).toMatchObject({
      type: 'm.presence',
      content: { presence: 'unavailable', status_msg: 'at lunch' },
    });
    expect(p.content.last_active_ago).toEqual(expect.any(Number));

    await bob.put(`${C}/profile/${enc(bob.userId)}/displayname`, { displayname: 'Bobby' });
    const prof = await alice.get(`${C}/profile/${enc(bob.userId)}`);
    expect(prof.body.displayname).toBe('Bobby');
    const m = await syncUntil(alice, r.next, (rs) =>
      rs.some((s) =>
        timeline(s, roomId).some((e) => e.type === 'm.room.member' && e.content.displayname === 'Bobby'),
      ),
    );
    const ev = m.responses.flatMap((s) => timeline(s, roomId)).find((e) => e.type === 'm.room.member');
    expect(ev.unsigned.prev_content.displayname).toBe('Bob');
    const forgedProfile = await alice.put(`${C}/profile/${enc(bob.userId)}/displayname`, {
      displayname: 'x',
    });
    expect(forgedProfile.body.errcode).toBe('M_FORBIDDEN');
  });

  it('under concurrent senders every syncing client sees every event exactly once, in one order', async () => {
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    const senders: As[] = [];
    for (let i = 0; i < 4; i++) {
      const u = as(hs, await hs.registerUser(`sender${i}`, 'pw'));
      await u.join(roomId);
      senders.push(u);
    }
    await bob.join(roomId);
    const readers = [alice, bob];
    const bases = await Promise.all(readers.map((u) => u.sync({})));
    const perSender = 15;
    const total = senders.length * perSender;

    const collect = async (u: As, since: string): Promise<string[]> => {
      const seen: string[] = [];
      let next = since;
      while (seen.length < total) {
        const s = await u.sync({
          since: next,
          timeout: 5000,
          filter: JSON.stringify({ room: { timeline: { limit: 1000 } } }),
        });
        const entry = s.rooms.join[roomId];
        if (entry) expect(entry.timeline.limited).toBe(false);
        for (const e of timeline(s, roomId)) if (e.type === 'm.room.message') seen.push(e.event_id);
        next = s.next_batch;
      }
      return seen;
    };
    const readersDone = readers.map((u, i) => collect(u, bases[i].next_batch));
    const sent = await Promise.all(
      senders.map(async (u) => {
        const ids: string[] = [];
        for (let k = 0; k < perSender; k++) {
          // Every send is also retried once with the same txnId: the retry must not add an event.
          const t = txn();
          const a = await u.send(roomId, `x${k}`, t);
          const b = await u.send(roomId, `x${k}`, t);
          expect(b).toBe(a);
          ids.push(a);
        }
        return ids;
      }),
    );
    const [seenA = [], seenB] = await Promise.all(readersDone);
    expect(seenA).toHaveLength(total);
    expect(new Set(seenA).size).toBe(total);
    expect(seenB).toEqual(seenA);
    expect(new Set(seenA)).toEqual(new Set(sent.flat()));
    // Each sender's own events keep their send order.
    for (const ids of sent) expect(seenA.filter((id) => ids.includes(id))).toEqual(ids);
    const hist = await alice.get(`${room(roomId)}/messages?dir=f&limit=1000`);
    const histIds = hist.body.chunk
      .filter((e: any) => e.type === 'm.room.message')
      .map((e: any) => e.event_id);
    expect(histIds).toEqual(seenA);
  });

  it('an aborted long-poll leaves the server healthy', async () => {
    const base = await alice.sync({});
    const ac = new AbortController();
    const p = alice.sync({ since: base.next_batch, timeout: 30000 }, ac.signal).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 30));
    ac.abort();
    expect(((await p) as Error).name).toBe('AbortError');
    const roomId = await alice.createRoom({});
    const s = await alice.sync({ since: base.next_batch, timeout: 1000 });
    expect(s.rooms.join[roomId]).toBeDefined();
  });
});
