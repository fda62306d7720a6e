import {
  FORMATTING_MAX_DEPTH,
  FORMATTING_MAX_DEPTH_CEILING,
  HTML_DEFAULT_MAX_BYTES,
  resolveMaxBytes,
  resolveMaxDepth,
  truncateUtf8,
  utf8Length,
} from './formatting.limits';

const encoder = new TextEncoder();

describe('utf8Length', () => {
  it.each(['', 'abc', 'é', '€', '😀', 'a😀b€é', '\ud800', 'x\udc00y'])('matches TextEncoder for %j', (s) => {
    expect(utf8Length(s)).toBe(encoder.encode(s).length);
  });
});

describe('truncateUtf8', () => {
  it('leaves short input alone', () => {
    expect(truncateUtf8('hello', 5)).toEqual({ text: 'hello', truncated: false });
    expect(truncateUtf8('€€', 6)).toEqual({ text: '€€', truncated: false });
  });

  it('cuts between code points, never inside a surrogate pair or a multi-byte character', () => {
    expect(truncateUtf8('a😀', 4)).toEqual({ text: 'a', truncated: true });
    expect(truncateUtf8('a😀', 5)).toEqual({ text: 'a😀', truncated: false });
    expect(truncateUtf8('€€', 5)).toEqual({ text: '€', truncated: true });
    expect(truncateUtf8('ééé', 5)).toEqual({ text: 'éé', truncated: true });
  });

  it('keeps every prefix within the byte budget and as long as possible', () => {
    const s = 'aé€😀'.repeat(50);
    for (let max = 1; max < 200; max += 7) {
      const { text, truncated } = truncateUtf8(s, max);
      const bytes = encoder.encode(text).length;
      expect(bytes).toBeLessThanOrEqual(max);
      expect(truncated).toBe(true);
      expect(s.startsWith(text)).toBe(true);
      // The next code point would not have fitted.
      const next = String.fromCodePoint(s.codePointAt(text.length)!);
      expect(bytes + encoder.encode(next).length).toBeGreaterThan(max);
    }
  });
});

describe('limit options', () => {
  it('defaults', () => {
    expect(resolveMaxDepth(undefined)).toBe(FORMATTING_MAX_DEPTH);
    expect(resolveMaxBytes(undefined)).toBe(HTML_DEFAULT_MAX_BYTES);
    expect(HTML_DEFAULT_MAX_BYTES).toBe(262144);
  });

  it('refuses nonsense with a clear RangeError', () => {
    expect(() => resolveMaxDepth(0)).toThrow(RangeError);
    expect(() => resolveMaxDepth(FORMATTING_MAX_DEPTH_CEILING + 1)).toThrow(/maxDepth must be an integer/);
    expect(() => resolveMaxDepth(1.5)).toThrow(RangeError);
    expect(() => resolveMaxBytes(-1)).toThrow(/maxBytes must be a positive integer/);
    expect(() => resolveMaxBytes(Number.NaN)).toThrow(RangeError);
  });
});
