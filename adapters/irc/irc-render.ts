import { type OutboundMessage, SendError } from '@switchboard/sdk';
import { balanceStyles, hasMircCodes, STYLE_CARRY_BYTES, toMirc } from './irc-formatting';
import { nickOfUserId } from './irc-ids';
import { checkMiddle, splitText, textBudget } from './irc-line.serializer';

export type LineKind = 'text' | 'notice' | 'emote';

/** An outbound message as the lines `send` writes for it. */
export interface RenderedMessage {
  /** The channel or nick the lines go to, as the message named it. */
  target: string;
  command: 'PRIVMSG' | 'NOTICE';
  kind: LineKind;
  /** The text of each line (an emote without its CTCP ACTION wrapper), in order. */
  pieces: string[];
}

/** Who we are on the server: the prefix the server puts before our lines counts against the line limit. */
export interface SelfPrefix {
  nick: string;
  user?: string;
  host?: string;
}

/** The bytes a CTCP ACTION wrapper adds (`\x01ACTION ` and `\x01`). */
const ACTION_WRAPPER_BYTES = 9;

/** The target of a message, checked so that it cannot break the line. */
export function targetOf(message: OutboundMessage): string {
  try {
    return checkMiddle(nickOfUserId(message.roomId), 'target');
  } catch (e) {
    throw new SendError(e instanceof Error ? e.message : String(e), false, 'invalid_target');
  }
}

/**
 * Splits a message into the lines `send` writes: mIRC formatting, pieces that fit one line with our
 * prefix, styles carried over a split. `send` and the sent-check both use this, so they agree byte for byte.
 */
export function renderOutbound(message: OutboundMessage, self: SelfPrefix): RenderedMessage {
  const target = targetOf(message);
  const kind = message.kind ?? 'text';
  const command = kind === 'notice' ? 'NOTICE' : 'PRIVMSG';
  const text = message.formatted ? toMirc(message.formatted) : message.text;
  const budget = textBudget(command, target, self) - (kind === 'emote' ? ACTION_WRAPPER_BYTES : 0);
  // A formatted text is split with room to carry its styles over into the next piece.
  const pieces = hasMircCodes(text)
    ? balanceStyles(splitText(text, budget - STYLE_CARRY_BYTES))
    : splitText(text, budget);
  if (pieces.length === 0) throw new SendError('the message is empty', false, 'empty');
  return { target, command, kind, pieces };
}

/** The trailing parameter of one line: an emote is a CTCP ACTION. */
export function lineBody(kind: LineKind, piece: string): string {
  return kind === 'emote' ? `\x01ACTION ${piece}\x01` : piece;
}
