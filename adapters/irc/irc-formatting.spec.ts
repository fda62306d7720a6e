import type { FormattedBody } from '@switchboard/sdk';
import {
  balanceStyles,
  fromMirc,
  hasMircCodes,
  STYLE_CARRY_BYTES,
  stripMirc,
  toMirc,
} from './irc-formatting';

describe('mIRC formatting', () => {
  it('reads bold, italic, underline, strike and monospace into the model', () => {
    expect(fromMirc('a \x02bold \x1dboth\x1d\x02 \x1funder\x1f \x1es\x1e \x11code\x11')).toEqual({
      blocks: [
        {
          type: 'paragraph',
          children: [
            { type: 'text', text: 'a ' },
            {
              type: 'bold',
              children: [
                { type: 'text', text: 'bold ' },
                { type: 'italic', children: [{ type: 'text', text: 'both' }] },
              ],
            },
            { type: 'text', text: ' ' },
            { type: 'underline', children: [{ type: 'text', text: 'under' }] },
            { type: 'text', text: ' ' },
            { type: 'strike', children: [{ type: 'text', text: 's' }] },
            { type: 'text', text: ' ' },
            { type: 'code', text: 'code' },
          ],
        },
      ],
    });
  });

  it('drops colours and reverse, and reset ends every style', () => {
    expect(stripMirc('\x0304,12red\x03 \x04ff0000hex \x16rev')).toBe('red hex rev');
    expect(fromMirc('\x02\x1dx\x0fy')).toEqual({
      blocks: [
        {
          type: 'paragraph',
          children: [
            { type: 'bold', children: [{ type: 'italic', children: [{ type: 'text', text: 'x' }] }] },
            { type: 'text', text: 'y' },
          ],
        },
      ],
    });
    expect(hasMircCodes('plain')).toBe(false);
    expect(hasMircCodes('\x02b')).toBe(true);
  });

  it('round-trips the model through mIRC codes', () => {
    const body: FormattedBody = {
      blocks: [
        {
          type: 'paragraph',
          children: [
            { type: 'text', text: 'x ' },
            {
              type: 'bold',
              children: [
                { type: 'text', text: 'b ' },
                { type: 'italic', children: [{ type: 'text', text: 'bi' }] },
              ],
            },
            { type: 'underline', children: [{ type: 'text', text: 'u' }] },
            { type: 'strike', children: [{ type: 'text', text: 's' }] },
            { type: 'code', text: 'c' },
          ],
        },
      ],
    };
    const mirc = toMirc(body);
    expect(mirc).toBe('x \x02b \x1dbi\x02\x1d\x1fu\x1f\x1es\x1e\x11c\x11');
    expect(fromMirc(mirc)).toEqual(body);
  });

  it('writes links, mentions, quotes and pre blocks as text, closing styles at each line end', () => {
    const body: FormattedBody = {
      blocks: [
        {
          type: 'paragraph',
          children: [
            {
              type: 'bold',
              children: [{ type: 'text', text: 'a' }, { type: 'linebreak' }, { type: 'text', text: 'b' }],
            },
            { type: 'link', href: 'https://example.org/', children: [{ type: 'text', text: 'site' }] },
          ],
        },
        { type: 'quote', children: [{ type: 'paragraph', children: [{ type: 'text', text: 'q' }] }] },
        { type: 'pre', text: 'l1\nl2' },
      ],
    };
    expect(toMirc(body)).toBe('\x02a\x02\n\x02b\x02site <https://example.org/>\n> q\n\x11l1\x11\n\x11l2\x11');
    expect(
      toMirc({ blocks: [{ type: 'paragraph', children: [{ type: 'text', text: 'in\x02jected' }] }] }),
    ).toBe('injected');
  });
});

describe('balanceStyles', () => {
  it('closes styles at the end of a piece and reopens them at the start of the next', () => {
    expect(balanceStyles(['a \x02bold \x1dboth', ' still\x1d bold\x02 plain'])).toEqual([
      'a \x02bold \x1dboth\x02\x1d',
      '\x02\x1d still\x1d bold\x02 plain',
    ]);
    expect(balanceStyles(['\x0304red', ' more\x03 done'])).toEqual(['\x0304red\x03', '\x0304 more\x03 done']);
    for (const piece of balanceStyles(['\x02\x1d\x1f\x1e\x11\x0304,12x', 'y']))
      expect(Buffer.byteLength(piece) - 1).toBeLessThanOrEqual(STYLE_CARRY_BYTES + 1);
  });

  it('leaves plain pieces alone', () => {
    expect(balanceStyles(['a', 'b'])).toEqual(['a', 'b']);
  });
});
