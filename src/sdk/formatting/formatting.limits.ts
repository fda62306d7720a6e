/**
 * Limits shared by every converter. Message bodies come from strangers on other networks, so every
 * walk over them is bounded: nesting deeper than the limit is flattened to its text (never a stack
 * overflow) and HTML input longer than the byte limit is cut (never an out-of-memory).
 */

/** Nesting (quotes plus inline formatting) kept by the converters; deeper content keeps only its text. */
export const FORMATTING_MAX_DEPTH = 64;
/** The highest `maxDepth` a caller may ask for: the renderers recurse this deep at most. */
export const FORMATTING_MAX_DEPTH_CEILING = 256;
/** Default input limit of `fromHtml` (UTF-8 bytes): 256 KiB, above any network's message size. */
export const HTML_DEFAULT_MAX_BYTES = 256 * 1024;

export function resolveMaxDepth(value: number | undefined): number {
  if (value === undefined) return FORMATTING_MAX_DEPTH;
  if (!Number.isInteger(value) || value < 1 || value > FORMATTING_MAX_DEPTH_CEILING) {
    throw new RangeError(
      `maxDepth must be an integer from 1 to ${FORMATTING_MAX_DEPTH_CEILING}, got ${String(value)}`,
    );
  }
  return value;
}

export function resolveMaxBytes(value: number | undefined): number {
  if (value === undefined) return HTML_DEFAULT_MAX_BYTES;
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`maxBytes must be a positive integer, got ${String(value)}`);
  }
  return value;
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}
function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** UTF-8 length of a string (a lone surrogate counts as the 3 bytes of U+FFFD it is sent as). */
export function utf8Length(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (isHighSurrogate(c) && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * The longest prefix of `s` whose UTF-8 encoding fits in `maxBytes`, cut between code points (a
 * surrogate pair is never split).
 */
export function truncateUtf8(s: string, maxBytes: number): { text: string; truncated: boolean } {
  // Every UTF-16 unit encodes to at most 3 bytes: most inputs need no scan at all.
  if (s.length * 3 <= maxBytes) return { text: s, truncated: false };
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let n = 3;
    let units = 1;
    if (c < 0x80) n = 1;
    else if (c < 0x800) n = 2;
    else if (isHighSurrogate(c) && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1))) {
      n = 4;
      units = 2;
    }
    if (bytes + n > maxBytes) return { text: s.slice(0, i), truncated: true };
    bytes += n;
    i += units - 1;
  }
  return { text: s, truncated: false };
}
