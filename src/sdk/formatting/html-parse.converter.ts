import { Tokenizer, type TokenizerCallbacks } from 'htmlparser2';
import type { RemoteUserId } from '../ids';
import { callMentionParser, type MentionOptions } from './body.normalizer';
import { resolveMaxBytes, resolveMaxDepth, truncateUtf8 } from './formatting.limits';

/** Deepest list nesting shown by indentation; deeper items are indented as this one. */
const MAX_LIST_INDENT = 8;
import {
  collapseNewlineRuns,
  isBlankInline,
  isHtmlWhitespace,
  mentionLabel,
  normalizePreText,
  safeLanguage,
} from './formatting-tree.util';
import { matrixToMentionParser, safeHref, type MentionHrefParser } from './href.policy';
import { toHtml, type ToHtmlOptions } from './html-render.converter';
import type { BlockNode, FormattedBody, InlineNode } from './model';

export interface FromHtmlOptions extends Pick<MentionOptions, 'mentionFromHref'> {
  /** Input limit in UTF-8 bytes (default 256 KiB); longer input is cut and the body marked `truncated`. */
  maxBytes?: number;
  /** Nesting kept (quotes plus inline formatting); deeper tags lose their tag and keep their text. */
  maxDepth?: number;
}

export type SanitizeHtmlOptions = FromHtmlOptions & ToHtmlOptions;

/** Shown where a too-long input was cut. */
export const TRUNCATION_MARK = '…';

/**
 * Parses untrusted HTML (Matrix `formatted_body`, XHTML-IM, a client's composer) into the model.
 * Allow-list: b/strong, i/em, u/ins, s/del/strike, code, pre, a with an allowed href, blockquote, br,
 * p and other blocks (as paragraph breaks), lists (as bulleted lines), headings (as bold). Any other
 * tag loses the tag and keeps its text; the contents of script, style, head, title, iframe, object and
 * the like are dropped; no attribute survives except a vetted href and a code language. Never throws
 * on any string input.
 *
 * htmlparser2's tokenizer is driven directly, with the tree built here: its Parser keeps open
 * elements in an array it unshifts, which is quadratic in nesting depth (seconds for 256 KiB of
 * `<b>`); this builder is linear.
 */
export function fromHtml(html: string, opts: FromHtmlOptions = {}): FormattedBody {
  if (typeof html !== 'string') throw new TypeError('fromHtml: html must be a string');
  const { text, truncated } = truncateUtf8(html, resolveMaxBytes(opts.maxBytes));
  const builder = new ModelBuilder(text, truncated, resolveMaxDepth(opts.maxDepth), opts.mentionFromHref);
  const tokenizer = new Tokenizer({ xmlMode: false, decodeEntities: true }, builder);
  tokenizer.write(text);
  tokenizer.end();
  return builder.result();
}

/** Untrusted HTML in, safe HTML out: only what the model can say survives. */
export function sanitizeHtml(html: string, opts: SanitizeHtmlOptions = {}): string {
  return toHtml(fromHtml(html, opts), opts);
}

const VOID = new Set([
  'area',
  'base',
  'basefont',
  'br',
  'col',
  'command',
  'embed',
  'frame',
  'hr',
  'img',
  'input',
  'isindex',
  'keygen',
  'link',
  'meta',
  'param',
  'source',
  'track',
  'wbr',
]);

/** Elements whose contents are never shown: code, styling, documents in documents, reply fallbacks. */
const DROP = new Set([
  'script',
  'style',
  'head',
  'title',
  'iframe',
  'object',
  'applet',
  'embed',
  'noscript',
  'noembed',
  'noframes',
  'frameset',
  'template',
  'svg',
  'math',
  // Matrix reply fallback: a quote of the replied-to message that clients strip (the reply is a field).
  'mx-reply',
]);

type FormatType = 'bold' | 'italic' | 'underline' | 'strike';
const FORMATS: Record<string, FormatType> = {
  b: 'bold',
  strong: 'bold',
  i: 'italic',
  em: 'italic',
  u: 'underline',
  ins: 'underline',
  s: 'strike',
  del: 'strike',
  strike: 'strike',
};

/** Block elements: each start and end is a paragraph break. */
const BLOCKS = new Set([
  'p',
  'div',
  'section',
  'article',
  'aside',
  'header',
  'footer',
  'nav',
  'main',
  'address',
  'details',
  'summary',
  'dl',
  'dt',
  'dd',
  'figure',
  'figcaption',
  'table',
  'thead',
  'tbody',
  'tfoot',
  'tr',
  'caption',
  'form',
  'fieldset',
  'legend',
  'center',
  'hgroup',
  'body',
  'html',
]);
const HEADINGS = new Set(['h1', 'h2', 'h3', 'h4', 'h5', 'h6']);
/** Opening one of these ends an inline capture (code, mention) that was left open. */
const ENDS_INLINE_CAPTURE = new Set([...BLOCKS, ...HEADINGS, 'blockquote', 'pre', 'ul', 'ol', 'li']);
/** HTML's implied end tags that matter here (a subset of htmlparser2's table). */
const IMPLIED_CLOSE: Record<string, ReadonlySet<string>> = {
  li: new Set(['li']),
  dt: new Set(['dt', 'dd']),
  dd: new Set(['dt', 'dd']),
  tr: new Set(['tr', 'td', 'th']),
  td: new Set(['td', 'th']),
  th: new Set(['td', 'th']),
};
for (const name of ENDS_INLINE_CAPTURE) if (!(name in IMPLIED_CLOSE)) IMPLIED_CLOSE[name] = new Set(['p']);

const WANTED_ATTRIBUTES = new Set(['href', 'class', 'alt', 'start']);
const LANGUAGE_CLASS = /(?:^|\s)language-(\S+)/;

type Format = { type: FormatType } | { type: 'link'; href: string };
type Kind = 'plain' | 'drop' | 'format' | 'heading' | 'quote' | 'block' | 'list' | 'capture';
interface OpenElement {
  name: string;
  kind: Kind;
  format?: Format;
}
interface Capture {
  kind: 'code' | 'mention' | 'pre';
  element: OpenElement;
  text: string;
  userId?: RemoteUserId;
  language?: string;
  /** Still right after `<pre>`, where one leading newline is not content. */
  atPreStart: boolean;
}
interface PathStep {
  format: Format;
  children: InlineNode[];
}

function codePointToString(cp: number): string {
  return cp <= 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? '\ufffd' : String.fromCodePoint(cp);
}

class ModelBuilder implements TokenizerCallbacks {
  private readonly stack: OpenElement[] = [];
  private readonly openCounts = new Map<string, number>();
  private dropDepth = 0;
  private capture: Capture | null = null;
  private readonly containers: BlockNode[][] = [[]];
  private readonly formats: Format[] = [];
  private linkDepth = 0;
  private readonly lists: { ordered: boolean; next: number }[] = [];

  /** The paragraph being built and the formatting nodes currently open in it. */
  private paragraph: InlineNode[] | null = null;
  private path: PathStep[] = [];
  /** A collapsed line break waiting to become a space (with the formatting it was seen in). */
  private pendingSpace: Format[] | null = null;
  /** At the start of a line or list item, where a collapsed line break shows nothing. */
  private lineStart = true;
  private lastWasBreak = false;
  private breakBeforeNext = false;

  private text = '';
  private tag: { name: string; attributes: Map<string, string> } | null = null;
  private attributeName = '';
  private attributeValue = '';

  constructor(
    private readonly input: string,
    private readonly truncated: boolean,
    private readonly maxDepth: number,
    private readonly mentionFromHref: MentionHrefParser | undefined,
  ) {}

  result(): FormattedBody {
    const blocks = this.containers[0]!;
    return this.truncated ? { blocks, truncated: true } : { blocks };
  }

  // --- tokenizer callbacks -------------------------------------------------------------------------

  ontext(start: number, end: number): void {
    this.text += this.input.slice(start, end);
  }
  ontextentity(codePoint: number): void {
    this.text += codePointToString(codePoint);
  }
  onopentagname(start: number, end: number): void {
    this.flushText();
    this.tag = { name: this.input.slice(start, end).toLowerCase(), attributes: new Map() };
  }
  onattribname(start: number, end: number): void {
    this.attributeName = this.input.slice(start, end).toLowerCase();
    this.attributeValue = '';
  }
  onattribdata(start: number, end: number): void {
    if (WANTED_ATTRIBUTES.has(this.attributeName)) this.attributeValue += this.input.slice(start, end);
  }
  onattribentity(codePoint: number): void {
    if (WANTED_ATTRIBUTES.has(this.attributeName)) this.attributeValue += codePointToString(codePoint);
  }
  onattribend(): void {
    // The first of duplicate attributes wins, as in browsers.
    const attributes = this.tag?.attributes;
    if (attributes && WANTED_ATTRIBUTES.has(this.attributeName) && !attributes.has(this.attributeName)) {
      attributes.set(this.attributeName, this.attributeValue);
    }
    this.attributeValue = '';
  }
  onopentagend(): void {
    const tag = this.tag;
    this.tag = null;
    if (tag) this.open(tag.name, tag.attributes);
  }
  onselfclosingtag(): void {
    // HTML ignores the slash of `<b/>`: it opens a <b>. (In svg/math it closes, but those are dropped.)
    this.onopentagend();
  }
  onclosetag(start: number, end: number): void {
    this.flushText();
    this.close(this.input.slice(start, end).toLowerCase());
  }
  oncomment(): void {}
  oncdata(): void {}
  ondeclaration(): void {}
  onprocessinginstruction(): void {}
  onend(): void {
    this.flushText();
    if (this.truncated) this.addText(TRUNCATION_MARK);
    while (this.stack.length > 0) this.pop();
    this.flushParagraph();
  }

  // --- elements ------------------------------------------------------------------------------------

  private open(name: string, attributes: Map<string, string>): void {
    if (VOID.has(name)) {
      this.voidElement(name, attributes);
      return;
    }
    if (name === 'body' && (this.openCounts.get('head') ?? 0) > 0) this.close('head');
    if (this.dropDepth > 0) {
      this.push({ name, kind: 'plain' });
      return;
    }
    if (DROP.has(name)) {
      this.dropDepth++;
      this.push({ name, kind: 'drop' });
      return;
    }
    if (this.capture !== null && this.capture.kind !== 'pre' && ENDS_INLINE_CAPTURE.has(name)) {
      const element = this.capture.element;
      while (this.stack.length > 0) {
        if (this.pop() === element) break;
      }
    }
    const capture = this.capture;
    if (capture !== null) {
      capture.atPreStart = false;
      if (capture.kind === 'pre' && name === 'code' && capture.language === undefined) {
        capture.language = languageOf(attributes);
      }
      this.push({ name, kind: 'plain' });
      return;
    }
    const implied = IMPLIED_CLOSE[name];
    if (implied) {
      for (let top = this.top(); top !== undefined && implied.has(top.name); top = this.top()) this.pop();
    }

    const format = FORMATS[name];
    if (format !== undefined) {
      this.pushFormat(name, { type: format });
      return;
    }
    switch (name) {
      case 'a':
        this.openAnchor(attributes);
        return;
      case 'code':
        this.startCapture({ name, kind: 'capture' }, 'code');
        return;
      case 'pre':
        this.flushParagraph();
        this.startCapture({ name, kind: 'capture' }, 'pre', { language: languageOf(attributes) });
        return;
      case 'blockquote':
        this.flushParagraph();
        if (this.depth() < this.maxDepth) {
          this.containers.push([]);
          this.push({ name, kind: 'quote' });
        } else {
          this.push({ name, kind: 'block' });
        }
        return;
      case 'ul':
      case 'ol': {
        if (this.lists.length === 0) this.flushParagraph();
        const start = name === 'ol' ? Number.parseInt(attributes.get('start') ?? '1', 10) : 1;
        this.lists.push({ ordered: name === 'ol', next: Number.isSafeInteger(start) ? start : 1 });
        this.push({ name, kind: 'list' });
        return;
      }
      case 'li':
        this.openListItem();
        this.push({ name, kind: 'plain' });
        return;
      case 'td':
      case 'th':
        if (!this.lineStart && this.pendingSpace === null) this.pendingSpace = this.formats.slice();
        this.push({ name, kind: 'plain' });
        return;
      default:
        break;
    }
    if (HEADINGS.has(name)) {
      this.flushParagraph();
      if (this.depth() < this.maxDepth) {
        const bold: Format = { type: 'bold' };
        this.formats.push(bold);
        this.push({ name, kind: 'heading', format: bold });
      } else {
        this.push({ name, kind: 'block' });
      }
      return;
    }
    if (BLOCKS.has(name)) {
      this.flushParagraph();
      this.push({ name, kind: 'block' });
      return;
    }
    this.push({ name, kind: 'plain' }); // unknown: the tag goes, its text stays
  }

  private voidElement(name: string, attributes: Map<string, string>): void {
    if (this.dropDepth > 0) return;
    switch (name) {
      case 'br':
        if (this.capture === null) this.lineBreak();
        else {
          this.capture.text += this.capture.kind === 'pre' ? '\n' : ' ';
          this.capture.atPreStart = false;
        }
        return;
      case 'hr':
        if (this.capture === null) this.flushParagraph();
        return;
      case 'img': {
        // Custom emoji and inline images keep their alt text; the image itself is not ours to load.
        const alt = attributes.get('alt');
        if (alt !== undefined && alt !== '') this.addText(alt);
        return;
      }
      default:
        return;
    }
  }

  private openAnchor(attributes: Map<string, string>): void {
    const href = this.linkDepth > 0 ? undefined : safeHref(attributes.get('href'));
    if (href === undefined) {
      this.push({ name: 'a', kind: 'plain' }); // nested or refused link: its text stays
      return;
    }
    const userId = callMentionParser(this.mentionFromHref ?? matrixToMentionParser, href);
    if (userId !== undefined) this.startCapture({ name: 'a', kind: 'capture' }, 'mention', { userId });
    else this.pushFormat('a', { type: 'link', href });
  }

  private openListItem(): void {
    this.softBreak();
    const list = this.lists[this.lists.length - 1];
    const marker = list?.ordered ? `${list.next++}. ` : '• ';
    // Indentation is capped: n nested lists would otherwise render O(n²) characters (64 KiB of
    // `<ul><li>` became megabytes of spaces).
    const indent = Math.min(Math.max(0, this.lists.length - 1), MAX_LIST_INDENT);
    this.appendText('  '.repeat(indent) + marker);
    this.lineStart = true; // whitespace after the marker is layout, not content
  }

  private close(name: string): void {
    if (VOID.has(name)) {
      if (name === 'br') this.voidElement('br', new Map()); // `</br>` is a <br> in HTML
      return;
    }
    if ((this.openCounts.get(name) ?? 0) === 0) {
      // `</p>` with no <p> open still ends a paragraph in HTML.
      if (name === 'p' && this.dropDepth === 0 && this.capture === null) this.flushParagraph();
      return;
    }
    while (this.stack.length > 0) {
      if (this.pop().name === name) break;
    }
  }

  private push(element: OpenElement): void {
    this.stack.push(element);
    this.openCounts.set(element.name, (this.openCounts.get(element.name) ?? 0) + 1);
  }

  private top(): OpenElement | undefined {
    return this.stack[this.stack.length - 1];
  }

  /** Pops the innermost element and applies what its end means. */
  private pop(): OpenElement {
    const element = this.stack.pop()!;
    this.openCounts.set(element.name, (this.openCounts.get(element.name) ?? 1) - 1);
    switch (element.kind) {
      case 'plain':
        break;
      case 'drop':
        this.dropDepth--;
        break;
      case 'format':
        this.formats.pop();
        if (element.format?.type === 'link') this.linkDepth--;
        break;
      case 'heading':
        this.formats.pop();
        this.flushParagraph();
        break;
      case 'block':
        this.flushParagraph();
        break;
      case 'quote': {
        this.flushParagraph();
        const children = this.containers.pop()!;
        if (children.length > 0) this.container().push({ type: 'quote', children });
        break;
      }
      case 'list':
        this.lists.pop();
        if (this.lists.length === 0) this.flushParagraph();
        else this.breakBeforeNext = !this.lineStart;
        break;
      case 'capture':
        this.finishCapture();
        break;
    }
    return element;
  }

  /** Quotes plus formatting open now: the depth a new container would have in the model. */
  private depth(): number {
    return this.containers.length - 1 + this.formats.length;
  }

  private pushFormat(name: string, format: Format): void {
    if (this.depth() >= this.maxDepth) {
      this.push({ name, kind: 'plain' }); // too deep: the tag goes, its text stays
      return;
    }
    this.formats.push(format);
    if (format.type === 'link') this.linkDepth++;
    this.push({ name, kind: 'format', format });
  }

  private startCapture(
    element: OpenElement,
    kind: Capture['kind'],
    extra: { userId?: RemoteUserId; language?: string | undefined } = {},
  ): void {
    this.push(element);
    this.capture = { kind, element, text: '', atPreStart: kind === 'pre', ...extra };
  }

  private finishCapture(): void {
    const capture = this.capture;
    if (capture === null) return;
    this.capture = null;
    switch (capture.kind) {
      case 'code': {
        const text = collapseNewlineRuns(capture.text);
        if (text !== '') this.appendLeaf({ type: 'code', text });
        break;
      }
      case 'mention': {
        const userId = capture.userId!;
        this.appendLeaf({ type: 'mention', userId, label: mentionLabel(capture.text, userId) });
        break;
      }
      case 'pre': {
        const text = normalizePreText(capture.text);
        const language = safeLanguage(capture.language);
        if (text !== '') {
          this.container().push(
            language === undefined ? { type: 'pre', text } : { type: 'pre', text, language },
          );
        }
        break;
      }
    }
  }

  // --- text ----------------------------------------------------------------------------------------

  private flushText(): void {
    if (this.text === '') return;
    const text = this.text;
    this.text = '';
    this.addText(text);
  }

  private addText(text: string): void {
    if (this.dropDepth > 0) return;
    const capture = this.capture;
    if (capture !== null) {
      if (capture.atPreStart) {
        // HTML ignores one newline right after <pre>.
        if (text.startsWith('\r\n')) text = text.slice(2);
        else if (text.startsWith('\n') || text.startsWith('\r')) text = text.slice(1);
        capture.atPreStart = false;
      }
      capture.text += text;
      return;
    }
    // Runs of whitespace holding a line break are source layout: they show as one space, or nothing
    // at the start of a line. Other whitespace is kept as typed.
    let segment = 0;
    let i = 0;
    while (i < text.length) {
      if (!isHtmlWhitespace(text.charCodeAt(i))) {
        i++;
        continue;
      }
      let j = i;
      let lineBreak = false;
      for (; j < text.length && isHtmlWhitespace(text.charCodeAt(j)); j++) {
        const c = text.charCodeAt(j);
        if (c === 0x0a || c === 0x0d) lineBreak = true;
      }
      if (lineBreak) {
        if (i > segment) this.appendText(text.slice(segment, i));
        if (!this.lineStart && this.pendingSpace === null) this.pendingSpace = this.formats.slice();
        segment = j;
      }
      i = j;
    }
    if (segment < text.length) this.appendText(segment === 0 ? text : text.slice(segment));
  }

  private appendText(text: string): void {
    // Whitespace typed right after a collapsed line break already separates: the break adds nothing.
    if (this.pendingSpace !== null && isHtmlWhitespace(text.charCodeAt(0))) this.pendingSpace = null;
    this.appendLeaf({ type: 'text', text });
  }

  private lineBreak(): void {
    this.pendingSpace = null;
    this.breakBeforeNext = false;
    this.appendTo({ type: 'linebreak' }, this.formats);
  }

  /** A line break unless the current line is still empty (list items, nested list ends). */
  private softBreak(): void {
    if (this.paragraph !== null && this.paragraph.length > 0 && !this.lastWasBreak) this.lineBreak();
    this.breakBeforeNext = false;
  }

  private appendLeaf(leaf: InlineNode): void {
    if (this.breakBeforeNext) this.softBreak();
    const pending = this.pendingSpace;
    if (pending !== null) {
      this.pendingSpace = null;
      this.appendTo({ type: 'text', text: ' ' }, pending);
    }
    this.appendTo(leaf, this.formats);
  }

  /**
   * Appends a leaf inside the given formatting, reusing the formatting nodes already open in the
   * paragraph where they match and opening the rest. Formatting is thus rebuilt per paragraph, so
   * `<b>a<p>b</p></b>` gives two paragraphs, both bold, and mis-nested tags still make a tree.
   */
  private appendTo(leaf: InlineNode, formats: readonly Format[]): void {
    if (this.paragraph === null) {
      this.paragraph = [];
      this.path = [];
    }
    let shared = 0;
    while (
      shared < this.path.length &&
      shared < formats.length &&
      this.path[shared]!.format === formats[shared]
    ) {
      shared++;
    }
    this.path.length = shared;
    for (let d = shared; d < formats.length; d++) {
      const format = formats[d]!;
      const children: InlineNode[] = [];
      const parent = d === 0 ? this.paragraph : this.path[d - 1]!.children;
      parent.push(
        format.type === 'link'
          ? { type: 'link', href: format.href, children }
          : { type: format.type, children },
      );
      this.path.push({ format, children });
    }
    const target = this.path.length > 0 ? this.path[this.path.length - 1]!.children : this.paragraph;
    const last = target[target.length - 1];
    if (leaf.type === 'text' && last !== undefined && last.type === 'text') last.text += leaf.text;
    else target.push(leaf);
    this.lastWasBreak = leaf.type === 'linebreak';
    this.lineStart = this.lastWasBreak;
  }

  private container(): BlockNode[] {
    return this.containers[this.containers.length - 1]!;
  }

  private flushParagraph(): void {
    const paragraph = this.paragraph;
    if (paragraph !== null && !isBlankInline(paragraph))
      this.container().push({ type: 'paragraph', children: paragraph });
    this.paragraph = null;
    this.path = [];
    this.pendingSpace = null;
    this.lineStart = true;
    this.lastWasBreak = false;
    this.breakBeforeNext = false;
  }
}

function languageOf(attributes: Map<string, string>): string | undefined {
  const match = LANGUAGE_CLASS.exec(attributes.get('class') ?? '');
  return safeLanguage(match?.[1]);
}
