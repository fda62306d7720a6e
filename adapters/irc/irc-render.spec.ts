import { RemoteRoomId, SendError, TransactionId, type OutboundMessage } from '@switchboard/sdk';
import { lineBody, renderOutbound } from './irc-render';

const self = { nick: 'gw', user: 'gw', host: '127.0.0.1' };
const msg = (text: string, extra: Partial<OutboundMessage> = {}): OutboundMessage => ({
  roomId: RemoteRoomId('#room'),
  transactionId: TransactionId('t1'),
  text,
  ...extra,
});

describe('renderOutbound (the lines send writes)', () => {
  it('keeps a short text as one PRIVMSG line', () => {
    expect(renderOutbound(msg('hello'), self)).toEqual({
      target: '#room',
      command: 'PRIVMSG',
      kind: 'text',
      pieces: ['hello'],
    });
  });

  it('splits a long text so each line fits 512 bytes with our prefix, and the pieces give the text back', () => {
    const text = Array.from({ length: 120 }, (_, i) => `word${i}`).join(' ');
    const r = renderOutbound(msg(text), self);
    expect(r.pieces.length).toBeGreaterThan(1);
    expect(r.pieces.join('')).toBe(text);
    for (const p of r.pieces)
      expect(Buffer.byteLength(`:gw!gw@127.0.0.1 PRIVMSG #room :${p}\r\n`)).toBeLessThanOrEqual(512);
  });

  it('leaves room for the CTCP wrapper of an emote, and sends a notice as NOTICE', () => {
    const text = 'x'.repeat(1000);
    const emote = renderOutbound(msg(text, { kind: 'emote' }), self);
    for (const p of emote.pieces)
      expect(
        Buffer.byteLength(`:gw!gw@127.0.0.1 PRIVMSG #room :${lineBody('emote', p)}\r\n`),
      ).toBeLessThanOrEqual(512);
    expect(lineBody('emote', 'waves')).toBe('\x01ACTION waves\x01');
    expect(lineBody('text', 'hi')).toBe('hi');
    expect(renderOutbound(msg('n', { kind: 'notice' }), self).command).toBe('NOTICE');
  });

  it('renders formatting as mIRC codes', () => {
    const r = renderOutbound(
      msg('bold', {
        formatted: {
          blocks: [
            { type: 'paragraph', children: [{ type: 'bold', children: [{ type: 'text', text: 'bold' }] }] },
          ],
        },
      }),
      self,
    );
    expect(r.pieces.join('')).toContain('\x02');
  });

  it('refuses an empty text and a target that would break the line', () => {
    expect(() => renderOutbound(msg('\n'), self)).toThrow(SendError);
    expect(() => renderOutbound(msg('x', { roomId: RemoteRoomId('#a b') }), self)).toThrow(SendError);
  });
});
