import type { AdapterLogger } from '../sdk';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Keys whose values are never written to a log, whatever object they appear in. */
const SECRET_KEY = /pass(word)?|secret|token|authorization|cookie|^key$|apikey|api_key|credential/i;

export function maskSecrets(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, depth + 1));
  if (value instanceof Error) return { name: value.name, message: value.message };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = SECRET_KEY.test(k) && v !== undefined && v !== null ? '***' : maskSecrets(v, depth + 1);
  }
  return out;
}

export interface Logger extends AdapterLogger {
  child(bindings: Record<string, unknown>): Logger;
}

/**
 * A small structured logger: JSON lines (or a readable line on a terminal), secrets masked by key name.
 * Nest's own logger is routed through it (see nest-logger.ts) so there is one log stream.
 */
export function createLogger(
  opts: { level: LogLevel; format: 'json' | 'pretty' },
  bindings: Record<string, unknown> = {},
  write: (line: string) => void = (l) => process.stdout.write(l + '\n'),
): Logger {
  const min = ORDER[opts.level];
  const log = (level: LogLevel, message: string, fields?: Record<string, unknown>): void => {
    if (ORDER[level] < min) return;
    const masked = maskSecrets({ ...bindings, ...fields }) as Record<string, unknown>;
    if (opts.format === 'json') {
      write(JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...masked }));
    } else {
      const extra = Object.keys(masked).length ? ' ' + JSON.stringify(masked) : '';
      write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${message}${extra}`);
    }
  };
  return {
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    child: (b) => createLogger(opts, { ...bindings, ...b }, write),
  };
}
