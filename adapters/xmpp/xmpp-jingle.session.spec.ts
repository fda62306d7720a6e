import { readFileSync } from 'node:fs';
import path from 'node:path';
import xml from '@xmpp/xml';
import * as sdpTransform from 'sdp-transform';
import { CallId, type RemoteEvent } from '@switchboard/sdk';
import { JingleCalls, NS_JMI } from './xmpp-jingle.session';

const OFFER = readFileSync(path.join(__dirname, 'fixtures', 'chromium-audio-offer.sdp'), 'utf8');
const ANSWER = readFileSync(path.join(__dirname, 'fixtures', 'werift-audio-offer.sdp'), 'utf8').replace(
  'a=setup:actpass',
  'a=setup:active',
);

type Signal = Extract<RemoteEvent, { type: 'call.signal' }>;

/** Two clients' Jingle layers joined by an in-memory server that routes by JID, recording every stanza. */
function pair() {
  const wire: string[] = [];
  const events: Record<'alice' | 'bob', Signal[]> = { alice: [], bob: [] };
  const jids = { alice: 'alice@example.test/gw', bob: 'bob@example.test/phone' } as const;
  const calls = {} as Record<'alice' | 'bob', JingleCalls>;
  const who = (to: string) => (to.split('/')[0] === 'alice@example.test' ? 'alice' : 'bob');
  for (const me of ['alice', 'bob'] as const) {
    calls[me] = new JingleCalls({
      self: () => jids[me],
      emit: (e) => void events[me].push(e as Signal),
      sendMessage: async (to, child) => {
        const stanza = xml('message', { from: jids[me], to }, child);
        wire.push(`${me}→ message ${child.name}`);
        await Promise.resolve();
        expect(calls[who(to)].handleMessage(stanza)).toBe(true);
      },
      sendIq: async (to, jingle) => {
        wire.push(`${me}→ iq ${jingle.attrs.action}`);
        await Promise.resolve();
        const r = calls[who(to)].handleJingle(jids[me], jingle);
        if (r !== true) throw new Error(r);
      },
    });
  }
  return { calls, events, wire, jids };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('Jingle calls between two clients (JMI, then the Jingle session)', () => {
  it('proposes to the bare JID, rings, carries offer and answer, and ends with success', async () => {
    const { calls, events, wire } = pair();
    await calls.alice.placeCall({ callId: CallId('c1'), to: 'bob@example.test', media: 'audio', sdp: OFFER });
    await settle();
    expect(wire.slice(0, 4)).toEqual([
      'alice→ message propose',
      'bob→ message proceed',
      'alice→ iq session-initiate',
      'bob→ iq session-info',
    ]);
    const invite = events.bob.find((e) => e.signal === 'invite')!;
    expect(invite).toMatchObject({ callId: 'c1', from: 'alice@example.test' });
    expect(sdpTransform.parse(invite.sdp!).media[0]!.iceUfrag).toBe(
      sdpTransform.parse(OFFER).media[0]!.iceUfrag,
    );
    expect(events.alice.map((e) => e.signal)).toEqual(['ringing']);

    await calls.bob.answerCall(CallId('c1'), ANSWER);
    const answer = events.alice.find((e) => e.signal === 'answer')!;
    expect(sdpTransform.parse(answer.sdp!).media[0]!.setup).toBe('active');

    await calls.bob.sendCandidates(CallId('c1'), [
      { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', sdpMid: '0' },
    ]);
    const cands = events.alice.find((e) => e.signal === 'candidates')!;
    expect(cands.candidates).toEqual([
      { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host generation 0', sdpMid: '0' },
    ]);

    await calls.alice.hangup(CallId('c1'), 'hangup');
    expect(wire.at(-1)).toBe('alice→ iq session-terminate');
    expect(events.bob.at(-1)).toMatchObject({ signal: 'hangup', reason: 'hangup' });
  });

  it.each([
    ['busy', 'busy'],
    ['rejected', 'rejected'],
    ['no_answer', 'no_answer'],
  ] as const)('a callee that turns the call down as %s ends it as %s at the caller', async (why, seen) => {
    const { calls, events } = pair();
    await calls.alice.placeCall({ callId: CallId('c2'), to: 'bob@example.test', media: 'audio', sdp: OFFER });
    await settle();
    await calls.bob.hangup(CallId('c2'), why);
    expect(events.alice.at(-1)).toMatchObject({ signal: 'reject', reason: seen });
  });

  it('a caller that gives up before the session retracts the proposal', async () => {
    const { calls, events, wire } = pair();
    // Bob's side never proceeds here: his device is offline, so the proposal stays pending.
    const lonely = new JingleCalls({
      self: () => 'alice@example.test/gw',
      emit: () => undefined,
      sendMessage: async (_to, child) => void wire.push(`alice→ message ${child.name}`),
      sendIq: async () => undefined,
    });
    await lonely.placeCall({ callId: CallId('c3'), to: 'bob@example.test', media: 'audio', sdp: OFFER });
    await lonely.hangup(CallId('c3'), 'no_answer');
    expect(wire).toEqual(['alice→ message propose', 'alice→ message retract']);
    expect(events.bob).toEqual([]);
    void calls;
  });

  it('a JMI reject ends the proposal as rejected; unknown sessions are item-not-found', async () => {
    const seen: Signal[] = [];
    const alice = new JingleCalls({
      self: () => 'alice@example.test/gw',
      emit: (e) => void seen.push(e as Signal),
      sendMessage: async () => undefined,
      sendIq: async () => undefined,
    });
    await alice.placeCall({ callId: CallId('c4'), to: 'bob@example.test', media: 'audio', sdp: OFFER });
    // One of bob's devices turns it down before any device proceeded.
    alice.handleMessage(
      xml('message', { from: 'bob@example.test/laptop' }, xml('reject', { xmlns: NS_JMI, id: 'c4' })),
    );
    expect(seen).toEqual([expect.objectContaining({ signal: 'reject', reason: 'rejected', callId: 'c4' })]);
    const { calls } = pair();
    expect(
      calls.bob.handleJingle(
        'mallory@example.test/x',
        xml('jingle', { action: 'session-accept', sid: 'nope' }),
      ),
    ).toBe('item-not-found');
    expect(calls.bob.handleMessage(xml('message', { from: 'x@y/z' }, xml('body', {}, 'hi')))).toBe(false);
  });

  it('calls a full JID directly with session-initiate (no JMI)', async () => {
    const { calls, events, wire, jids } = pair();
    await calls.alice.placeCall({ callId: CallId('c5'), to: jids.bob, media: 'audio', sdp: OFFER });
    expect(wire[0]).toBe('alice→ iq session-initiate');
    expect(events.bob[0]).toMatchObject({ signal: 'invite', callId: 'c5' });
  });
});
