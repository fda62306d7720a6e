import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Parser } from 'htmlparser2';

/**
 * The hostile-input corpus: one JSON file per case (format in README.md). A payload describes bytes:
 * a JSON string (its UTF-8; JSON escapes give CR, LF, NUL), `{hex}` for raw bytes, `{repeat, times}` and
 * `{concat}` to build big or deep inputs without storing them, `{gzip}` to compress one. Inside JSON values, `{"$text": payload}`
 * stands for the payload as a string.
 */
export type Payload =
  string | { hex: string } | { repeat: Payload; times: number } | { concat: Payload[] } | { gzip: Payload };

export interface CorpusCase<I = Record<string, unknown>, E = Record<string, unknown>> {
  /** The file name without `.json`. */
  name: string;
  file: string;
  description: string;
  input: I;
  expect: E;
}

const MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;

function parts(p: Payload, out: Buffer[], budget: { left: number }): void {
  if (typeof p === 'string') {
    const b = Buffer.from(p, 'utf8');
    budget.left -= b.length;
    if (budget.left < 0) throw new Error(`a corpus payload is larger than ${MAX_PAYLOAD_BYTES} bytes`);
    out.push(b);
  } else if ('hex' in p) {
    const b = Buffer.from(p.hex.replace(/\s+/g, ''), 'hex');
    budget.left -= b.length;
    out.push(b);
  } else if ('repeat' in p) {
    const one: Buffer[] = [];
    parts(p.repeat, one, { left: MAX_PAYLOAD_BYTES });
    const unit = Buffer.concat(one);
    budget.left -= unit.length * p.times;
    if (budget.left < 0) throw new Error(`a corpus payload is larger than ${MAX_PAYLOAD_BYTES} bytes`);
    out.push(Buffer.alloc(unit.length * p.times, unit));
  } else if ('concat' in p) {
    for (const q of p.concat) parts(q, out, budget);
  } else if ('gzip' in p) {
    out.push(gzipSync(payloadBytes(p.gzip), { level: 9 }));
  } else {
    throw new Error(`not a corpus payload: ${JSON.stringify(p).slice(0, 100)}`);
  }
}

/** The bytes a payload describes. */
export function payloadBytes(p: Payload): Buffer {
  const out: Buffer[] = [];
  parts(p, out, { left: MAX_PAYLOAD_BYTES });
  return Buffer.concat(out);
}

/** A JSON value with every `{"$text": payload}` replaced by the payload's text (invalid UTF-8 becomes U+FFFD). */
export function expandJson(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(expandJson);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === '$text') return payloadBytes(o.$text as Payload).toString('utf8');
    return Object.fromEntries(keys.map((k) => [k, expandJson(o[k])]));
  }
  return v;
}

/** Every case of one network's folder, sorted by file name. */
export function loadCases<I = Record<string, unknown>, E = Record<string, unknown>>(
  folder: string,
): CorpusCase<I, E>[] {
  const dir = path.join(__dirname, folder);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  if (files.length === 0) throw new Error(`no corpus cases in ${dir}`);
  return files.map((f) => {
    const file = path.join(dir, f);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new Error(`${file}: not valid JSON: ${String(e)}`);
    }
    const c = raw as Partial<CorpusCase<I, E>>;
    for (const k of ['description', 'input', 'expect'] as const)
      if (c[k] === undefined) throw new Error(`${file}: the case has no "${k}"`);
    return {
      name: f.replace(/\.json$/, ''),
      file,
      description: c.description!,
      input: c.input!,
      expect: c.expect!,
    };
  });
}

/** Resident set size of a process (this one by default), in bytes, from /proc. */
export function rssBytes(pid: number | 'self' = 'self'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/**
 * How much the gateway's memory may grow over a whole corpus run. Generous on purpose: it catches a
 * buffer that keeps every hostile byte (tens or hundreds of MiB), not allocator noise.
 */
export const RSS_GROWTH_BOUND = 256 * 1024 * 1024;

/** Elements that run or embed active content wherever the html is rendered. */
const ACTIVE_ELEMENTS = new Set([
  'script',
  'iframe',
  'object',
  'embed',
  'style',
  'link',
  'meta',
  'base',
  'form',
  'svg',
  'math',
]);

/**
 * What would be unsafe to render in `html`, parsed as a browser would (entity-escaped text is text):
 * active elements, event-handler attributes, and script URLs. Empty when the html is safe.
 */
export function unsafeHtml(html: string): string[] {
  const problems: string[] = [];
  const parser = new Parser(
    {
      onopentag(name, attrs) {
        if (ACTIVE_ELEMENTS.has(name)) problems.push(`<${name}>`);
        for (const [k, v] of Object.entries(attrs)) {
          if (/^on/i.test(k)) problems.push(`${name}[${k}]`);
          // Browsers ignore control characters and spaces inside a URL scheme.
          if (/^(javascript|vbscript|data):/i.test(v.replace(/[\0-\x20]/g, '')))
            problems.push(`${name}[${k}=${v.slice(0, 40)}]`);
        }
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  parser.end();
  return problems;
}
