import { RemoteMessageId } from '@switchboard/sdk';
import { findOwnRun, type OwnLine, parseServerLine, ReplayTracker } from './irc-sent-check';

const T0 = Date.parse('2026-01-01T12:00:00.000Z');
const line = (id: string, text: string, at = T0, kind: OwnLine['kind'] = 'text'): OwnLine => ({
  id: RemoteMessageId(id),
  at,
  kind,
  text,
});
const none = (): boolean => false;

describe('findOwnRun', () => {
  const lines = [
    line('a', 'one'),
    line('b', 'two'),
    line('c', 'three'),
    line('d', 'two'),
    line('e', 'three'),
  ];

  it('finds every piece in order, one after the other, and returns the first such run', () => {
    expect(findOwnRun(lines, { kind: 'text', pieces: ['two', 'three'] }, T0, none)).toEqual(['b', 'c']);
    expect(findOwnRun(lines, { kind: 'text', pieces: ['one', 'three'] }, T0, none)).toBeUndefined();
    expect(findOwnRun(lines, { kind: 'text', pieces: ['three', 'two', 'one'] }, T0, none)).toBeUndefined();
  });

  it('skips claimed lines, so a second message with the same text finds the next copy or nothing', () => {
    const claimed = new Set(['b']);
    const isClaimed = (id: string): boolean => claimed.has(id);
    expect(findOwnRun(lines, { kind: 'text', pieces: ['two', 'three'] }, T0, isClaimed)).toEqual(['d', 'e']);
    claimed.add('d');
    expect(findOwnRun(lines, { kind: 'text', pieces: ['two'] }, T0, isClaimed)).toBeUndefined();
  });

  it('allows one second of slack for whole-second server time, no more', () => {
    const l = [line('x', 'hi', T0)];
    // Written at 12:00:00.700 after notBefore 12:00:00.500, replayed as 12:00:00.000.
    expect(findOwnRun(l, { kind: 'text', pieces: ['hi'] }, T0 + 500, none)).toEqual(['x']);
    expect(findOwnRun(l, { kind: 'text', pieces: ['hi'] }, T0 + 1000, none)).toEqual(['x']);
    expect(findOwnRun(l, { kind: 'text', pieces: ['hi'] }, T0 + 1001, none)).toBeUndefined();
  });

  it('never matches a line without server time, another kind, or an empty message', () => {
    expect(findOwnRun([line('x', 'hi', NaN)], { kind: 'text', pieces: ['hi'] }, 0, none)).toBeUndefined();
    expect(
      findOwnRun([line('x', 'hi', T0, 'emote')], { kind: 'text', pieces: ['hi'] }, T0, none),
    ).toBeUndefined();
    expect(findOwnRun([line('x', 'hi', T0, 'emote')], { kind: 'emote', pieces: ['hi'] }, T0, none)).toEqual([
      'x',
    ]);
    expect(findOwnRun(lines, { kind: 'text', pieces: [] }, T0, none)).toBeUndefined();
  });
});

describe('ReplayTracker', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  /** JOIN, NAMES end, and the replay batch with our lines, as the client feeds them. */
  function replay(t: ReplayTracker, room: string, own: OwnLine[], batchId = '1'): void {
    t.serverLine();
    t.joined(room);
    t.serverLine();
    t.namesEnded(room);
    t.serverLine({ id: batchId, type: 'chathistory', room });
    for (const l of own) t.ownLine(room, batchId, l);
    t.serverLine();
    t.batchEnded(batchId);
  }

  it('after a wait that ran out, answers at once until the next JOIN (a backlog of probes waits once)', async () => {
    const t = new ReplayTracker();
    t.joined('#a'); // joining, but the replay never comes (say the JOIN line was missed)
    const wait = t.whenSettled('#a', 5000);
    jest.advanceTimersByTime(5000);
    await wait;
    expect(t.isSettled('#a')).toBe(false);
    t.giveUp('#a');
    expect(t.isSettled('#a')).toBe(true);
    t.giveUp('#b'); // never joined: settled with nothing
    expect(t.isSettled('#b')).toBe(true);
    t.joined('#a');
    expect(t.isSettled('#a')).toBe(false);
  });

  it('settles at the end of the replay batch, with our lines in it, and claims each line once', async () => {
    const t = new ReplayTracker();
    const settled = t.whenSettled('#r', 5000);
    replay(t, '#r', [line('a', 'same'), line('b', 'other')]);
    await settled;
    expect(t.isSettled('#r')).toBe(true);
    expect(t.claim('#r', { kind: 'text', pieces: ['same'] }, T0)).toEqual(['a']);
    expect(t.claim('#r', { kind: 'text', pieces: ['same'] }, T0)).toBeUndefined();
    // A later join replays the same lines: still claimed.
    replay(t, '#r', [line('a', 'same')], '2');
    expect(t.claim('#r', { kind: 'text', pieces: ['same'] }, T0)).toBeUndefined();
  });

  it('settles without a replay when the line after NAMES is not a chathistory batch for the room', () => {
    const t = new ReplayTracker();
    t.joined('#a');
    t.namesEnded('#a');
    t.serverLine({ id: '9', type: 'chathistory', room: '#other' });
    expect(t.isSettled('#a')).toBe(true);
    expect(t.claim('#a', { kind: 'text', pieces: ['x'] }, T0)).toBeUndefined();
  });

  it('settles without a replay when the server says nothing after NAMES', async () => {
    const t = new ReplayTracker({ quietMs: 1000 });
    t.joined('#a');
    t.namesEnded('#a');
    expect(t.isSettled('#a')).toBe(false);
    await jest.advanceTimersByTimeAsync(999);
    expect(t.isSettled('#a')).toBe(false);
    await jest.advanceTimersByTimeAsync(2); // the timer, then one turn of the event loop
    expect(t.isSettled('#a')).toBe(true);
  });

  it('still takes a replay that was waiting to be read when the quiet timer fired (a stalled event loop)', async () => {
    const t = new ReplayTracker({ quietMs: 1000 });
    t.joined('#a');
    t.namesEnded('#a');
    await jest.advanceTimersByTimeAsync(1000);
    t.serverLine({ id: '5', type: 'chathistory', room: '#a' });
    await jest.advanceTimersByTimeAsync(2);
    expect(t.isSettled('#a')).toBe(false);
    t.ownLine('#a', '5', line('a', 'x'));
    t.batchEnded('5');
    expect(t.claim('#a', { kind: 'text', pieces: ['x'] }, T0)).toEqual(['a']);
  });

  it('ignores lines outside the replay batch and keeps only the newest lines', () => {
    const t = new ReplayTracker({ maxLines: 2 });
    t.ownLine('#r', '1', line('early', 'x')); // before any join
    replay(t, '#r', [line('a', 'x'), line('b', 'y'), line('c', 'z')]);
    t.ownLine('#r', '1', line('late', 'x')); // after the batch ended
    expect(t.claim('#r', { kind: 'text', pieces: ['x'] }, T0)).toBeUndefined();
    expect(t.claim('#r', { kind: 'text', pieces: ['y', 'z'] }, T0)).toEqual(['b', 'c']);
  });

  it('bounds a wait, and releases waiters when the connection closes, the JOIN is refused or the room is left', async () => {
    const t = new ReplayTracker();
    let timedOut = false;
    void t.whenSettled('#never', 5000).then(() => (timedOut = true));
    await jest.advanceTimersByTimeAsync(4999);
    expect(timedOut).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(timedOut).toBe(true);

    t.joined('#x');
    let closed = false;
    void t.whenSettled('#x', 60_000).then(() => (closed = true));
    t.close();
    await jest.advanceTimersByTimeAsync(0);
    expect(closed).toBe(true);

    let refused = false;
    void t.whenSettled('#banned', 60_000).then(() => (refused = true));
    t.joinRefused('#banned');
    await jest.advanceTimersByTimeAsync(0);
    expect(refused).toBe(true);

    t.joined('#y');
    let left = false;
    void t.whenSettled('#y', 60_000).then(() => (left = true));
    t.left('#y');
    await jest.advanceTimersByTimeAsync(0);
    expect(left).toBe(true);
    expect(t.isSettled('#y')).toBe(false);
  });

  it('bounds the claimed ids it remembers', () => {
    const t = new ReplayTracker({ maxClaimed: 1 });
    replay(t, '#r', [line('a', 'x'), line('b', 'y')]);
    expect(t.claim('#r', { kind: 'text', pieces: ['x'] }, T0)).toEqual(['a']);
    expect(t.claim('#r', { kind: 'text', pieces: ['y'] }, T0)).toEqual(['b']);
    // 'a' was forgotten to keep one id: it can be claimed again.
    expect(t.claim('#r', { kind: 'text', pieces: ['x'] }, T0)).toEqual(['a']);
  });
});

describe('parseServerLine', () => {
  it('reads the command and parameters, skipping tags and source', () => {
    expect(parseServerLine('@time=x :irc.test BATCH +1 chathistory :#h')).toEqual({
      command: 'BATCH',
      params: ['+1', 'chathistory', '#h'],
    });
    expect(parseServerLine(':irc.test 366 me #h :End of /NAMES list.')).toEqual({
      command: '366',
      params: ['me', '#h', 'End of /NAMES list.'],
    });
    expect(parseServerLine('PING :abc\r')).toEqual({ command: 'PING', params: ['abc'] });
    expect(parseServerLine('')).toBeUndefined();
  });
});
