/**
 * The one place an outbound IRC line is built. Every command the adapter sends (PRIVMSG, NOTICE, TOPIC,
 * NICK, JOIN, PART, KICK, AWAY, MONITOR, CTCP …) goes through `serializeLine`, so a CR, LF or NUL in
 * user-supplied text can never end the line early and start a command of its own (the class of bug
 * behind CVE-2022-29166 and CVE-2023-38690). irc-framework's own `say`/`notice` split lines but its
 * `raw` passes anything through, so the adapter never hands it a parameter it did not check here.
 */

/** RFC 1459 / modern IRC: a line is at most 512 bytes including the trailing CR LF. */
export const IRC_LINE_MAX_BYTES = 512;
/** Client tags have their own budget (IRCv3 message-tags: 4094 bytes for the tag part). */
export const IRC_TAGS_MAX_BYTES = 4094;

const FORBIDDEN = /[\r\n\0]/;
const COMMAND = /^(?:[A-Za-z]+|\d{3})$/;

export class IrcLineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IrcLineError';
  }
}

/** Free text that may not break a line: CR, LF and runs of them become one space; NUL is removed. */
export function flattenText(text: string): string {
  return text.replace(/\0/g, '').replace(/[\r\n]+/g, ' ');
}

/**
 * A middle parameter (a target, a nick, a channel, a mode): refused, never repaired, when it holds a
 * space, CR, LF or NUL, starts with ':' or is empty, because a changed target is a different action.
 */
export function checkMiddle(param: string, what = 'parameter'): string {
  if (param === '') throw new IrcLineError(`the ${what} is empty`);
  if (FORBIDDEN.test(param)) throw new IrcLineError(`the ${what} contains CR, LF or NUL`);
  if (param.includes(' ')) throw new IrcLineError(`the ${what} contains a space`);
  if (param.startsWith(':')) throw new IrcLineError(`the ${what} starts with ':'`);
  return param;
}

function escapeTagValue(v: string): string {
  return v.replace(/[\\; \r\n\0]/g, (c) =>
    c === '\\'
      ? '\\\\'
      : c === ';'
        ? '\\:'
        : c === ' '
          ? '\\s'
          : c === '\r'
            ? '\\r'
            : c === '\n'
              ? '\\n'
              : '',
  );
}

const TAG_KEY = /^\+?(?:[A-Za-z0-9.-]+\/)?[A-Za-z0-9-]+$/;

/**
 * One wire line (without CR LF): `@tags COMMAND middle… :trailing`. `trailing` is free text: it may hold
 * spaces, but a CR, LF or NUL in it is refused (callers flatten or split text before). The line must fit
 * 512 bytes with its CR LF (tags apart), or it is refused: the caller splits message text beforehand.
 */
export function serializeLine(
  command: string,
  middle: readonly string[],
  trailing?: string,
  tags?: Readonly<Record<string, string | true>>,
): string {
  if (!COMMAND.test(command)) throw new IrcLineError(`bad IRC command ${JSON.stringify(command)}`);
  const parts = [command.toUpperCase(), ...middle.map((p, i) => checkMiddle(p, `parameter ${i + 1}`))];
  if (trailing !== undefined) {
    if (FORBIDDEN.test(trailing)) throw new IrcLineError('the text contains CR, LF or NUL');
    parts.push(`:${trailing}`);
  }
  const body = parts.join(' ');
  if (Buffer.byteLength(body, 'utf8') + 2 > IRC_LINE_MAX_BYTES)
    throw new IrcLineError(`the line is longer than ${IRC_LINE_MAX_BYTES} bytes`);
  if (!tags || Object.keys(tags).length === 0) return body;
  const tagText = Object.entries(tags)
    .map(([k, v]) => {
      if (!TAG_KEY.test(k)) throw new IrcLineError(`bad tag name ${JSON.stringify(k)}`);
      return v === true || v === '' ? k : `${k}=${escapeTagValue(v)}`;
    })
    .join(';');
  if (Buffer.byteLength(tagText, 'utf8') > IRC_TAGS_MAX_BYTES)
    throw new IrcLineError('the tags are too long');
  return `@${tagText} ${body}`;
}

/**
 * The atoms text may be cut between: whole code points, and a mIRC colour code with its digits kept
 * together (cutting `\x0304` after `\x03` would turn the digits into text).
 */
function atoms(text: string): string[] {
  return (
    // eslint-disable-next-line no-control-regex -- control characters are what is matched
    text.match(/\x03(?:\d{1,2}(?:,\d{1,2})?)?|\x04(?:[0-9A-Fa-f]{6}(?:,[0-9A-Fa-f]{6})?)?|[\s\S]/gu) ?? []
  );
}

/**
 * Cuts message text into pieces of at most `maxBytes` UTF-8 bytes each, never inside a character (or a
 * colour code), preferring to cut after a space in the last quarter of a piece. Concatenating the pieces
 * gives the text back exactly. `\n` (and CR LF) start a new piece; other CR and NUL are removed, so no
 * piece can carry a line break.
 */
export function splitText(text: string, maxBytes: number): string[] {
  if (!Number.isInteger(maxBytes) || maxBytes < 8) throw new IrcLineError('the byte budget is too small');
  const out: string[] = [];
  for (const line of text.replace(/\0/g, '').split(/\r\n|\n/)) {
    const clean = line.replace(/\r/g, '');
    if (clean === '') continue;
    let piece = '';
    let bytes = 0;
    let lastSpace = -1; // index in `piece` just after the last space
    for (const a of atoms(clean)) {
      const n = Buffer.byteLength(a, 'utf8');
      if (bytes + n > maxBytes) {
        if (lastSpace > 0 && lastSpace >= (piece.length * 3) / 4) {
          out.push(piece.slice(0, lastSpace));
          piece = piece.slice(lastSpace);
        } else {
          out.push(piece);
          piece = '';
        }
        bytes = Buffer.byteLength(piece, 'utf8');
        lastSpace = -1;
      }
      piece += a;
      bytes += n;
      if (a === ' ') lastSpace = piece.length;
    }
    if (piece !== '') out.push(piece);
  }
  return out;
}

/**
 * The bytes left for text in `:nick!user@host PRIVMSG target :text\r\n` as the server relays it to the
 * recipients: the prefix the sender cannot see in full is budgeted at its longest.
 */
export function textBudget(
  command: string,
  target: string,
  self: { nick: string; user?: string; host?: string },
  limits: { userLen?: number; hostLen?: number } = {},
): number {
  const user = self.user ? Buffer.byteLength(self.user) : (limits.userLen ?? 10) + 1; // + a ~ for no ident
  const host = self.host ? Buffer.byteLength(self.host) : (limits.hostLen ?? 63);
  const prefix = 1 + Buffer.byteLength(self.nick) + 1 + user + 1 + host + 1; // ':' nick '!' user '@' host ' '
  const rest = Buffer.byteLength(command) + 1 + Buffer.byteLength(target) + 2; // ' :' before the text
  return IRC_LINE_MAX_BYTES - 2 - prefix - rest;
}
