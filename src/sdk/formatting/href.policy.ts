import { RemoteUserId } from '../ids';

/**
 * Which link targets survive conversion. An allow-list, not a block-list: anything that is not plainly
 * http(s), mailto or xmpp (javascript:, data:, vbscript:, relative and protocol-relative URLs, schemes
 * hidden behind entities or control characters) loses its link and keeps its text.
 */
export const ALLOWED_HREF_SCHEMES = ['http', 'https', 'mailto', 'xmpp'] as const;
export type AllowedHrefScheme = (typeof ALLOWED_HREF_SCHEMES)[number];

/** Longer hrefs are refused: no real link needs more, and they bloat every copy of the message. */
export const MAX_HREF_LENGTH = 8192;

/** Builds the href of a mention's link; `undefined` renders the mention as its plain label. */
export type MentionHrefBuilder = (userId: RemoteUserId) => string | undefined;
/** Recognises a mention link; returns the user it names, or `undefined` for an ordinary link. */
export type MentionHrefParser = (href: string) => RemoteUserId | undefined;

function isC0OrSpace(c: number): boolean {
  return c <= 0x20;
}

/**
 * The href as it will be written, or `undefined` when it is not allowed. Cleans the way the URL
 * standard does before judging (strip leading/trailing C0 controls and spaces, remove tabs and newlines
 * anywhere), so that what is checked is exactly what a browser would follow: "java\tscript:" is
 * javascript: to a browser, and is refused here.
 */
export function safeHref(raw: unknown): string | undefined {
  if (typeof raw !== 'string') return undefined;
  let start = 0;
  let end = raw.length;
  while (start < end && isC0OrSpace(raw.charCodeAt(start))) start++;
  while (end > start && isC0OrSpace(raw.charCodeAt(end - 1))) end--;
  let href = '';
  for (let i = start; i < end; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x09 || c === 0x0a || c === 0x0d) continue;
    // Other controls and inner spaces: not a URL anyone typed; refuse rather than guess.
    if (c <= 0x20 || (c >= 0x7f && c <= 0x9f)) return undefined;
    href += raw[i];
    if (href.length > MAX_HREF_LENGTH) return undefined;
  }
  const colon = href.indexOf(':');
  if (colon <= 0) return undefined;
  const scheme = href.slice(0, colon).toLowerCase();
  const rest = href.slice(colon + 1);
  switch (scheme) {
    case 'http':
    case 'https':
      // An authority is required: "https:foo" and "https:///x" are not links to anywhere.
      return /^\/\/[^/?#\\]/.test(rest) ? href : undefined;
    case 'mailto':
    case 'xmpp':
      return rest.length > 0 ? href : undefined;
    default:
      return undefined;
  }
}

/** A Matrix user id: `@localpart:server` (server may carry a port). */
const MATRIX_USER_ID = /^@[^\s:/]+:[^\s/]+$/;
const MATRIX_TO_PREFIX = 'https://matrix.to/#/';

/**
 * The default mention href: a matrix.to permalink for Matrix user ids; other ids have no portable
 * link, so their mentions render as their label.
 */
export const matrixToMentionHref: MentionHrefBuilder = (userId) => {
  if (!MATRIX_USER_ID.test(userId)) return undefined;
  try {
    // Keep `@` and `:` readable, as Matrix clients write them; encode everything else.
    return MATRIX_TO_PREFIX + encodeURIComponent(userId).replace(/%40/g, '@').replace(/%3A/gi, ':');
  } catch {
    return undefined; // a lone surrogate cannot be percent-encoded
  }
};

/** The default mention parser: a matrix.to permalink to a user (not a room or an event). */
export const matrixToMentionParser: MentionHrefParser = (href) => {
  if (href.length <= MATRIX_TO_PREFIX.length) return undefined;
  if (href.slice(0, MATRIX_TO_PREFIX.length).toLowerCase() !== MATRIX_TO_PREFIX) return undefined;
  let id = href.slice(MATRIX_TO_PREFIX.length);
  const query = id.indexOf('?');
  if (query >= 0) id = id.slice(0, query);
  try {
    id = decodeURIComponent(id);
  } catch {
    return undefined;
  }
  return MATRIX_USER_ID.test(id) ? RemoteUserId(id) : undefined;
};
