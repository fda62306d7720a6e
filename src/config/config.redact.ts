import { keyAt, schemaPathOf } from './config-keys';

export const REDACTED = '***';

/** Keys inside adapter, account and bridge options that hold secrets (their schemas are not known here). */
const SECRET_OPTION_KEY = /pass(word)?|secret|token|key/i;

export function isSecretOptionKey(name: string): boolean {
  return SECRET_OPTION_KEY.test(name);
}

/** `postgres://user:pw@host/db` → `postgres://user:***@host/db`; anything else unchanged. */
export function maskUrlCredentials(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^/?#@]*)@/i, (_all, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    if (colon >= 0) return `${scheme}${userinfo.slice(0, colon)}:${REDACTED}@`;
    // A lone user part may itself be a token (redis://token@host).
    return `${scheme}${REDACTED}@`;
  });
}

/**
 * A copy of a configuration (an AppConfig, or an object shaped like the file) that is safe to log or
 * print: keys marked sensitive in the schema become "***", URLs lose their passwords, and inside
 * options every key that looks like a secret (password, token, key …) is masked.
 */
export function redactConfig(cfg: unknown): unknown {
  return redact(cfg, [], false);
}

function redact(v: unknown, path: (string | number)[], inOptions: boolean): unknown {
  if (Array.isArray(v)) return v.map((x: unknown, i) => redact(x, [...path, i], inOptions));
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const childPath = [...path, k];
      if (inOptions) {
        out[k] =
          isSecretOptionKey(k) && x !== null && x !== undefined ? REDACTED : redact(x, childPath, true);
        continue;
      }
      const info = keyAt(schemaPathOf(childPath));
      if (info?.sensitive === 'secret' && x !== undefined && x !== null) out[k] = REDACTED;
      else out[k] = redact(x, childPath, k === 'options');
    }
    return out;
  }
  // Any URL anywhere may carry a password.
  return typeof v === 'string' ? maskUrlCredentials(v) : v;
}
