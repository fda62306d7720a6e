/**
 * mIRC formatting codes ⇄ the SDK's FormattedBody. IRC has toggles, the model has a tree: inbound,
 * each run of text gets the wrappers of the styles active over it; outbound, the tree is walked and
 * the toggles needed to go from one run's styles to the next are written. Colours and reverse have no
 * place in the model and are dropped inbound (the plain text keeps the words).
 */
import { type BlockNode, type FormattedBody, type InlineNode, safeHref, toPlainText } from '@switchboard/sdk';

export const MIRC = {
  bold: '\x02',
  italic: '\x1d',
  underline: '\x1f',
  strike: '\x1e',
  monospace: '\x11',
  color: '\x03',
  hexColor: '\x04',
  reverse: '\x16',
  reset: '\x0f',
} as const;

type Style = 'bold' | 'italic' | 'underline' | 'strike';
const STYLES: readonly Style[] = ['bold', 'italic', 'underline', 'strike'];
const STYLE_CODE: Record<Style, string> = {
  bold: MIRC.bold,
  italic: MIRC.italic,
  underline: MIRC.underline,
  strike: MIRC.strike,
};

interface Run {
  text: string;
  styles: ReadonlySet<Style>;
  code: boolean;
}

const CODES =
  // eslint-disable-next-line no-control-regex -- mIRC codes are control characters
  /\x02|\x1d|\x1f|\x1e|\x11|\x16|\x0f|\x03(?:\d{1,2}(?:,\d{1,2})?)?|\x04(?:[0-9A-Fa-f]{6}(?:,[0-9A-Fa-f]{6})?)?/g;

/** True when the text carries any mIRC formatting or colour code. */
export function hasMircCodes(text: string): boolean {
  return new RegExp(CODES.source).test(text);
}

/** The text with every formatting and colour code removed. */
export function stripMirc(text: string): string {
  return text.replace(CODES, '');
}

function parseRuns(text: string): Run[] {
  const runs: Run[] = [];
  const styles = new Set<Style>();
  let code = false;
  let last = 0;
  const push = (s: string): void => {
    if (s !== '') runs.push({ text: s, styles: new Set(styles), code });
  };
  for (const m of text.matchAll(new RegExp(CODES.source, 'g'))) {
    push(text.slice(last, m.index));
    last = m.index + m[0].length;
    const c = m[0][0];
    const style = STYLES.find((s) => STYLE_CODE[s] === c);
    if (style) {
      if (styles.has(style)) styles.delete(style);
      else styles.add(style);
    } else if (c === MIRC.monospace) code = !code;
    else if (c === MIRC.reset) {
      styles.clear();
      code = false;
    }
  }
  push(text.slice(last));
  return runs;
}

function wrap(run: Run): InlineNode {
  let node: InlineNode = run.code ? { type: 'code', text: run.text } : { type: 'text', text: run.text };
  for (const s of [...STYLES].reverse()) if (run.styles.has(s)) node = { type: s, children: [node] };
  return node;
}

/** Adjacent nodes of the same wrapper merge, so `\x02a\x1db\x1d\x02` is one bold node holding both. */
function merge(nodes: InlineNode[]): InlineNode[] {
  const out: InlineNode[] = [];
  for (const n of nodes) {
    const prev = out[out.length - 1];
    if (prev && prev.type === n.type && 'children' in prev && 'children' in n && prev.type !== 'link') {
      out[out.length - 1] = { ...prev, children: merge([...prev.children, ...n.children]) };
    } else if (prev && prev.type === 'text' && n.type === 'text') {
      out[out.length - 1] = { type: 'text', text: prev.text + n.text };
    } else out.push(n);
  }
  return out;
}

/** One IRC line (or several joined by `\n`) with mIRC codes → a FormattedBody of one paragraph. */
export function fromMirc(text: string): FormattedBody {
  const children: InlineNode[] = [];
  text.split('\n').forEach((line, i) => {
    if (i > 0) children.push({ type: 'linebreak' });
    children.push(...merge(parseRuns(line).map(wrap)));
  });
  return children.length === 0 ? { blocks: [] } : { blocks: [{ type: 'paragraph', children }] };
}

interface Writer {
  out: string;
  active: Set<Style>;
  code: boolean;
}

function setState(w: Writer, want: ReadonlySet<Style>, code: boolean): void {
  for (const s of STYLES) if (w.active.has(s) !== want.has(s)) w.out += STYLE_CODE[s];
  if (w.code !== code) w.out += MIRC.monospace;
  w.active = new Set(want);
  w.code = code;
}

function writeInline(w: Writer, nodes: readonly InlineNode[], styles: ReadonlySet<Style>): void {
  for (const n of nodes) {
    switch (n.type) {
      case 'text':
        if (n.text === '') break;
        setState(w, styles, false);
        w.out += stripMirc(n.text);
        break;
      case 'code':
        setState(w, styles, true);
        w.out += stripMirc(n.text);
        break;
      case 'linebreak':
        setState(w, new Set(), false);
        w.out += '\n';
        break;
      case 'mention':
        setState(w, styles, false);
        w.out += stripMirc(n.label || n.userId);
        break;
      case 'bold':
      case 'italic':
      case 'underline':
      case 'strike':
        writeInline(w, n.children, new Set([...styles, n.type]));
        break;
      case 'link': {
        writeInline(w, n.children, styles);
        const label = toPlainText({ blocks: [{ type: 'paragraph', children: n.children }] });
        const href = safeHref(n.href);
        if (href !== undefined && label !== href) {
          setState(w, styles, false);
          w.out += label === '' ? href : ` <${href}>`;
        }
        break;
      }
      default:
        break;
    }
  }
}

function writeBlocks(w: Writer, blocks: readonly BlockNode[], quote: string): void {
  blocks.forEach((b, i) => {
    if (i > 0) {
      setState(w, new Set(), false);
      w.out += '\n';
    }
    if (b.type === 'paragraph') {
      if (quote) w.out += quote;
      const start = w.out.length;
      writeInline(w, b.children, new Set());
      // Lines inside a quoted paragraph keep the quote marker.
      if (quote) w.out = w.out.slice(0, start) + w.out.slice(start).replace(/\n/g, `\n${quote}`);
    } else if (b.type === 'pre') {
      const lines = b.text.split('\n');
      lines.forEach((line, j) => {
        if (j > 0) w.out += '\n';
        w.out += quote;
        if (line !== '') {
          setState(w, new Set(), true);
          w.out += stripMirc(line);
          setState(w, new Set(), false);
        }
      });
    } else writeBlocks(w, b.children, `${quote}> `);
  });
}

/**
 * A FormattedBody → IRC text with mIRC codes; `\n` separates lines (the sender turns each into its own
 * PRIVMSG). Every style opened is closed at the end of each line, so a split never leaks a style.
 */
export function toMirc(body: FormattedBody): string {
  const w: Writer = { out: '', active: new Set(), code: false };
  writeBlocks(w, body.blocks, '');
  setState(w, new Set(), false);
  return w.out;
}

/** Bytes `balanceStyles` may add to a piece: every toggle reopened and closed, and a colour reopened. */
export const STYLE_CARRY_BYTES = 2 * 5 + 6;

/**
 * Makes each piece of a split formatted text stand alone: a style (or colour) open at the end of a piece
 * is closed there and reopened at the start of the next, so a client that shows each line on its own
 * (and the receiving adapter, which parses each line alone) sees the styles the sender meant.
 */
export function balanceStyles(pieces: readonly string[]): string[] {
  const active = new Set<string>();
  let color = '';
  return pieces.map((piece) => {
    const reopen = [...active].join('') + color;
    for (const m of piece.matchAll(new RegExp(CODES.source, 'g'))) {
      const c = m[0];
      if (c === MIRC.reset) {
        active.clear();
        color = '';
      } else if (c[0] === MIRC.color || c[0] === MIRC.hexColor) color = c.length > 1 ? c : '';
      else if (active.has(c)) active.delete(c);
      else active.add(c);
    }
    const close = [...active].join('') + (color ? MIRC.color : '');
    return reopen + piece + close;
  });
}
