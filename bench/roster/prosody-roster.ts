import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** prosody's datamanager file-name encoding: every non-alphanumeric byte as %xx (lower-case hex). */
const encode = (s: string): string =>
  s.replace(/[^A-Za-z0-9]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

const lua = (s: string): string => JSON.stringify(s); // JSON strings of plain ASCII are valid Lua literals

export interface RosterItem {
  jid: string;
  name?: string;
  subscription: 'both' | 'to' | 'from' | 'none';
}

/**
 * Writes a user's roster straight into prosody's `internal` storage (data/<host>/roster/<user>.dat), in the
 * format its datamanager writes. This is how the benchmark preloads thousands of roster items: prosody has
 * no bulk roster import, and pushing 6,500 items one IQ at a time would measure the setup, not the gateway.
 * The user must not be online while the file is written (prosody caches rosters of online users only).
 */
export function writeProsodyRoster(dataDir: string, host: string, user: string, items: RosterItem[]): void {
  const dir = path.join(dataDir, encode(host), 'roster');
  mkdirSync(dir, { recursive: true });
  const lines = ['return {', '\t[false] = { ["version"] = 1; ["pending"] = {}; };'];
  for (const i of items)
    lines.push(
      `\t[${lua(i.jid)}] = { ["subscription"] = ${lua(i.subscription)}; ["groups"] = {};` +
        `${i.name ? ` ["name"] = ${lua(i.name)};` : ''} };`,
    );
  lines.push('};', '');
  writeFileSync(path.join(dir, `${encode(user)}.dat`), lines.join('\n'));
}
