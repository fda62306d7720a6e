import { escapeHtml, safeHref } from '../sdk/formatting';

/**
 * How a bridge writes a relayed message on each target network. Placeholders: `{nick}` (the sender's
 * display name), `{text}` (the message), `{network}` (the network it came from), `{bridge}` (the bridge's
 * name). Keys are adapter ids; `default` is for every other network.
 */
export interface RelayTemplates {
  [network: string]: string | undefined;
  default?: string;
}

/** IRC gets the `<nick> text` its users know; elsewhere the display name is a prefix. */
export const DEFAULT_RELAY_TEMPLATES: Readonly<RelayTemplates> = {
  irc: '<{nick}> {text}',
  default: '{nick}: {text}',
};

/**
 * Longest relayed text, in characters, per target network (`default` for the rest): a 64 KiB paste on
 * Matrix would otherwise become some 160 IRC lines, paced out by the flood limits for minutes. A bridge
 * option (`maxLength`) overrides it.
 */
export const DEFAULT_RELAY_MAX_LENGTH: Readonly<Record<string, number>> = {
  irc: 1200,
  sip: 1200,
  default: 16_000,
};

/** Networks whose messages carry no formatting markup: the relay is plain text there. */
const PLAIN_NETWORKS = new Set(['irc', 'sip']);

export interface RelaySource {
  nick: string;
  text: string;
  /** The source message's sanitised HTML, when it had formatting. */
  html?: string | null;
  kind: 'text' | 'notice' | 'emote';
  /** Adapter id of the network it was said on. */
  network: string;
  bridgeName?: string | null;
  /**
   * Files: each is its `label` (e.g. "[image: cat.png]", set by the media relay) then its `url` (a link;
   * empty for none). Without a label only the URL is shown.
   */
  attachments?: readonly { name: string; url: string; label?: string }[] | null;
  /** The copy replaces an earlier one (an edit on a network without native edits). */
  correction?: boolean;
}

export interface RelayText {
  text: string;
  /** HTML for networks that render it (the sender's name in bold), absent for plain networks. */
  html?: string;
}

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(nick|text|network|bridge)\}/g, (_, k: string) => values[k] ?? '');
}

/** The relayed copy's text (and HTML) for a target network. Pure, so every rule is table-tested. */
export function renderRelay(
  source: RelaySource,
  targetNetwork: string,
  templates: RelayTemplates = {},
  maxLength?: number,
): RelayText {
  const limit = maxLength ?? DEFAULT_RELAY_MAX_LENGTH[targetNetwork] ?? DEFAULT_RELAY_MAX_LENGTH.default!;
  const full = renderFull(source, targetNetwork, templates);
  const chars = [...full.text];
  if (chars.length <= limit) return full;
  // Cut on a character (not inside a surrogate pair) and say so; the HTML is dropped rather than cut
  // inside a tag: the plain text is what the target shows.
  const note = ` … [${chars.length - limit} more characters not relayed]`;
  return {
    text:
      chars
        .slice(0, Math.max(0, limit - [...note].length))
        .join('')
        .trimEnd() + note,
  };
}

function linkHtml(u: string): string {
  const href = safeHref(u);
  return href ? `<a href="${escapeHtml(href)}">${escapeHtml(u)}</a>` : escapeHtml(u);
}

function renderFull(source: RelaySource, targetNetwork: string, templates: RelayTemplates): RelayText {
  const template =
    templates[targetNetwork] ??
    DEFAULT_RELAY_TEMPLATES[targetNetwork] ??
    templates.default ??
    DEFAULT_RELAY_TEMPLATES.default!;
  const files = source.attachments ?? [];
  const body = [source.text, ...files.flatMap((a) => [a.label ?? '', a.url])]
    .filter((s) => s.length > 0)
    .join(' ');
  // An action reads "* nick waves" everywhere; the template is for speech.
  // A display name is one line: a line break in it would start a relayed line that looks like someone
  // else speaking ("evil\n<admin> …" on IRC).
  const nick = source.nick.replace(/[\r\n\0]+/g, ' ');
  const values = { nick, text: body, network: source.network, bridge: source.bridgeName ?? '' };
  const text = source.kind === 'emote' ? `* ${nick} ${body}` : fill(template, values);
  if (PLAIN_NETWORKS.has(targetNetwork)) return { text };
  const htmlBody = [
    source.html ?? escapeHtml(source.text),
    // Attachment URLs come from strangers: only http(s), mailto and xmpp become links (never javascript:
    // or data:); any other stays visible as text.
    ...files.flatMap((a) => [a.label ? escapeHtml(a.label) : '', a.url ? linkHtml(a.url) : '']),
  ]
    .filter((s) => s.length > 0)
    .join(' ');
  const nickHtml = `<strong>${escapeHtml(nick)}</strong>`;
  const html =
    source.kind === 'emote'
      ? `* ${nickHtml} ${htmlBody}`
      : fill(escapeHtml(template).replace('{nick}', '\u0000N\u0000'), {
          nick: '',
          text: htmlBody,
          network: escapeHtml(source.network),
          bridge: escapeHtml(source.bridgeName ?? ''),
        }).replace('\u0000N\u0000', nickHtml);
  return { text, html };
}
