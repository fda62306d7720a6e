import type { AccountState, Contact, PresenceState } from './api';

export const PRESENCE_LABEL: Record<PresenceState, string> = {
  available: 'Available',
  away: 'Away',
  busy: 'Busy',
  offline: 'Offline',
  unknown: 'Unknown',
};

/** The buddy list's sections, best first (the same order as presence aggregation). */
export const PRESENCE_ORDER: readonly PresenceState[] = ['available', 'away', 'busy', 'offline', 'unknown'];

export function groupByPresence(contacts: readonly Contact[]): { state: PresenceState; people: Contact[] }[] {
  return PRESENCE_ORDER.map((state) => ({
    state,
    people: contacts
      .filter((c) => (PRESENCE_ORDER.includes(c.presence.state) ? c.presence.state : 'unknown') === state)
      .sort((a, b) => a.displayName.localeCompare(b.displayName)),
  })).filter((g) => g.people.length > 0);
}

/** Account states in words for people, not enum values. */
export const ACCOUNT_STATE_WORDS: Record<AccountState, string> = {
  connecting: 'Connecting…',
  connected: 'Connected',
  transient_disconnect: 'Connection lost, retrying',
  bad_credentials: 'Wrong username or password',
  logged_out: 'Logged out by the network',
  error: 'Failed',
};

/**
 * Parses the account options field: a JSON object, or `key = value` lines whose values are read as JSON
 * when they can be (numbers, booleans, arrays) and as text otherwise.
 */
export function parseOptions(text: string): Record<string, unknown> {
  const trimmed = text.trim();
  if (!trimmed) return {};
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (e) {
      throw new Error(`The options are not valid JSON: ${(e as Error).message}`);
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new Error('The options must be a JSON object.');
    return parsed as Record<string, unknown>;
  }
  const out: Record<string, unknown> = {};
  for (const [i, raw] of trimmed.split('\n').entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`Line ${i + 1} is not "key = value": ${line}`);
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    try {
      out[key] = JSON.parse(value);
    } catch {
      out[key] = value;
    }
  }
  return out;
}

/** Example options per bundled adapter (API.md), shown as the placeholder of the options field. */
export const OPTION_HINTS: Record<string, string> = {
  irc: 'host = irc.libera.chat\nport = 6697\ntls = true\nnick = mynick\nchannels = ["#switchboard"]',
  xmpp: 'jid = me@example.org\npassword = secret\nservice = xmpps://example.org:5223',
  matrix: 'homeserverUrl = https://matrix.org\nuserId = @me:matrix.org\npassword = secret',
  sip: 'registrar = sip.example.org\nuri = sip:me@example.org\nusername = me\npassword = secret',
};
