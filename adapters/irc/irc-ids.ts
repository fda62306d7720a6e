/**
 * Ids for IRC (the rules are in the SDK's ids.ts): users are casefolded nicks qualified by the server
 * (`nick!irc.example.org`), rooms are casefolded channel names or, for a DM, the peer's casefolded nick,
 * and a message without a `msgid` tag gets a hash of what identifies it, so a replay gives the same id.
 */
import { createHash } from 'node:crypto';
import { RemoteMessageId, RemoteRoomId, RemoteUserId } from '@switchboard/sdk';

export type CaseMapping = 'ascii' | 'rfc1459' | 'strict-rfc1459';

/** Lowercase under the server's CASEMAPPING (rfc1459 also folds `[]\~` to `{}|^`). */
export function casefold(s: string, mapping: CaseMapping = 'rfc1459'): string {
  let out = s.replace(/[A-Z]/g, (c) => c.toLowerCase());
  if (mapping === 'ascii') return out;
  out = out.replace(/[[\]\\]/g, (c) => (c === '[' ? '{' : c === ']' ? '}' : '|'));
  return mapping === 'rfc1459' ? out.replace(/~/g, '^') : out;
}

export function isChannelName(target: string, chanTypes = '#&'): boolean {
  return target.length > 1 && chanTypes.includes(target[0]!);
}

export function userIdOf(nick: string, server: string, mapping?: CaseMapping): RemoteUserId {
  return RemoteUserId(`${casefold(nick, mapping)}!${server.toLowerCase()}`);
}

/** The nick in a user id (`nick!server`), or the value itself when it is a bare nick. */
export function nickOfUserId(userId: string): string {
  const i = userId.indexOf('!');
  return i < 0 ? userId : userId.slice(0, i);
}

export function roomIdOf(target: string, mapping?: CaseMapping): RemoteRoomId {
  return RemoteRoomId(casefold(target, mapping));
}

/**
 * A stable id for a message the server gave no msgid: the same sender, target, server time and text
 * always hash to the same id (so a backfill or a replay deduplicates), with the time at second precision
 * when the server gives none (a live message without server-time then still differs from the next one).
 */
export function derivedMessageId(parts: {
  sender: string;
  target: string;
  at: string;
  text: string;
}): RemoteMessageId {
  const h = createHash('sha256')
    .update([parts.sender, parts.target, parts.at, parts.text].join('\0'))
    .digest('base64url')
    .slice(0, 22);
  return RemoteMessageId(`h:${h}`);
}
