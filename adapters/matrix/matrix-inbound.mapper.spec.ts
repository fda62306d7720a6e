import { MatrixInboundMapper, newMapperState } from './matrix-inbound.mapper';

const ME = '@me:hs';
const ROOM = '!r:hs';

function syncWith(timeline: unknown[], extra: Record<string, unknown> = {}): unknown {
  return { next_batch: 's1', rooms: { join: { [ROOM]: { timeline: { events: timeline }, ...extra } } } };
}

const ev = (type: string, content: unknown, more: Record<string, unknown> = {}) => ({
  type,
  content,
  event_id: `$${type}${Math.random()}`,
  sender: '@them:hs',
  origin_server_ts: 1700000000000,
  ...more,
});

describe('MatrixInboundMapper', () => {
  it('parses call signalling into call.signal events', () => {
    const m = new MatrixInboundMapper(ME, newMapperState());
    const out = m.map(
      syncWith([
        ev('m.call.invite', {
          call_id: 'c1',
          version: '1',
          offer: { type: 'offer', sdp: 'v=0 offer' },
          lifetime: 60000,
        }),
        ev('m.call.candidates', {
          call_id: 'c1',
          candidates: [{ candidate: 'candidate:1', sdpMid: '0', sdpMLineIndex: 0 }, { bogus: 1 }],
        }),
        ev('m.call.answer', { call_id: 'c1', answer: { type: 'answer', sdp: 'v=0 answer' } }),
        ev('m.call.select_answer', { call_id: 'c1', selected_party_id: 'p' }),
        ev('m.call.hangup', { call_id: 'c1', reason: 'user_hangup' }),
        ev('m.call.reject', { call_id: 'c2' }),
        ev('m.call.hangup', { no_call_id: true }),
      ]),
    );
    const calls = out.filter((e) => e.type === 'call.signal');
    expect(calls.map((c) => c.type === 'call.signal' && c.signal)).toEqual([
      'invite',
      'candidates',
      'answer',
      'select_answer',
      'hangup',
      'reject',
    ]);
    expect(calls[0]).toMatchObject({ callId: 'c1', from: '@them:hs', roomId: ROOM, sdp: 'v=0 offer' });
    expect(calls[1]).toMatchObject({
      candidates: [{ candidate: 'candidate:1', sdpMid: '0', sdpMLineIndex: 0 }],
    });
    expect(calls[2]).toMatchObject({ sdp: 'v=0 answer' });
    expect(calls[4]).toMatchObject({ reason: 'user_hangup' });
  });

  it('strips reply fallbacks and sanitises formatted bodies', () => {
    const m = new MatrixInboundMapper(ME, newMapperState());
    const [msg] = m.map(
      syncWith([
        ev('m.room.message', {
          msgtype: 'm.text',
          body: '> <@a:hs> original\n\nthe reply',
          format: 'org.matrix.custom.html',
          formatted_body:
            '<mx-reply><blockquote>original</blockquote></mx-reply><a href="javascript:x()">the</a> <b onclick="x()">reply</b>',
          'm.relates_to': { 'm.in_reply_to': { event_id: '$orig' } },
        }),
      ]),
    );
    expect(msg).toMatchObject({ type: 'message', text: 'the reply', replyTo: '$orig' });
    const json = JSON.stringify(msg);
    expect(json).not.toContain('javascript');
    expect(json).not.toContain('onclick');
    expect(json).not.toContain('original');
  });

  it('ignores events that are already redacted and maps media to attachments', () => {
    const m = new MatrixInboundMapper(ME, newMapperState());
    const out = m.map(
      syncWith([
        ev('m.room.message', {}, { unsigned: { redacted_because: {} } }),
        ev('m.room.message', {
          msgtype: 'm.image',
          body: 'cat.png',
          url: 'mxc://hs/abc',
          info: { mimetype: 'image/png', size: 3 },
        }),
      ]),
    );
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({
      attachments: [{ name: 'cat.png', mimeType: 'image/png', size: 3, url: 'mxc://hs/abc' }],
    });
  });

  it('keeps only mxc:// media URLs (a javascript: or data: url is no attachment)', () => {
    const m = new MatrixInboundMapper(ME, newMapperState());
    const urls = ['javascript:alert(1)', 'data:text/html,<script>x</script>', 'https://evil.test/x'];
    const out = m.map(
      syncWith(urls.map((url) => ev('m.room.message', { msgtype: 'm.file', body: 'f', url }))),
    );
    expect(out).toHaveLength(3);
    for (const e of out) expect(e).not.toHaveProperty('attachments');
  });

  it('turns typing sets into start/stop edges across batches', () => {
    const m = new MatrixInboundMapper(ME, newMapperState());
    const typing = (ids: string[]) =>
      syncWith([], { ephemeral: { events: [{ type: 'm.typing', content: { user_ids: ids } }] } });
    expect(m.map(typing(['@a:hs']))).toMatchObject([{ type: 'typing', userId: '@a:hs', typing: true }]);
    expect(m.map(typing(['@a:hs']))).toEqual([]);
    expect(m.map(typing([]))).toMatchObject([{ type: 'typing', userId: '@a:hs', typing: false }]);
  });

  it('never throws on malformed input', () => {
    const m = new MatrixInboundMapper(ME, newMapperState());
    for (const bad of [
      null,
      1,
      'x',
      [],
      { rooms: 5 },
      { rooms: { join: { [ROOM]: { timeline: { events: [null, 3, { type: 7 }] } } } } },
    ]) {
      expect(() => m.map(bad)).not.toThrow();
    }
  });
});
