import type { RemoteUserId } from '../ids';
import type { BlockNode, InlineNode } from './model';

/** The inline nodes that hold content rather than other nodes. */
export type InlineLeaf = Extract<InlineNode, { type: 'text' | 'code' | 'mention' | 'linebreak' }>;
export type InlineContainer = Exclude<InlineNode, InlineLeaf>;
/** The blocks that hold no other blocks. */
export type LeafBlock = Exclude<BlockNode, { type: 'quote' }>;

export function isInlineLeaf(node: InlineNode): node is InlineLeaf {
  return node.type === 'text' || node.type === 'code' || node.type === 'mention' || node.type === 'linebreak';
}

/**
 * The leaves of an inline tree in document order, containers dropped. Iterative on purpose: this is
 * what the converters fall back to beyond their depth limit, so it must not recurse.
 */
export function flattenInlineLeaves(nodes: readonly InlineNode[]): InlineLeaf[] {
  const out: InlineLeaf[] = [];
  const stack: { nodes: readonly InlineNode[]; i: number }[] = [{ nodes, i: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const node = top.nodes[top.i++];
    if (node === undefined) {
      stack.pop();
    } else if (isInlineLeaf(node)) {
      out.push(node);
    } else {
      stack.push({ nodes: node.children, i: 0 });
    }
  }
  return out;
}

/** The paragraphs and pre blocks of a block tree in document order, quotes unwrapped. Iterative. */
export function flattenBlocks(blocks: readonly BlockNode[]): LeafBlock[] {
  const out: LeafBlock[] = [];
  const stack: { blocks: readonly BlockNode[]; i: number }[] = [{ blocks, i: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const block = top.blocks[top.i++];
    if (block === undefined) stack.pop();
    else if (block.type === 'quote') stack.push({ blocks: block.children, i: 0 });
    else out.push(block);
  }
  return out;
}

/** HTML's whitespace: space, tab, LF, FF, CR (not NBSP, which is content). */
export function isHtmlWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d;
}

export function isHtmlWhitespaceOnly(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (!isHtmlWhitespace(s.charCodeAt(i))) return false;
  return true;
}

/**
 * Every run of HTML whitespace that contains a line break becomes one space; other whitespace is kept
 * as typed (chat clients show spaces as sent). A hand-written scan: a regex for this backtracks
 * quadratically on long runs of spaces.
 */
export function collapseNewlineRuns(s: string): string {
  if (s.indexOf('\n') < 0 && s.indexOf('\r') < 0) return s;
  let out = '';
  let i = 0;
  let copied = 0;
  while (i < s.length) {
    if (!isHtmlWhitespace(s.charCodeAt(i))) {
      i++;
      continue;
    }
    let j = i;
    let lineBreak = false;
    while (j < s.length && isHtmlWhitespace(s.charCodeAt(j))) {
      const c = s.charCodeAt(j);
      if (c === 0x0a || c === 0x0d) lineBreak = true;
      j++;
    }
    if (lineBreak) {
      out += s.slice(copied, i) + ' ';
      copied = j;
    }
    i = j;
  }
  return out + s.slice(copied);
}

/** A mention's shown label: line breaks folded, and the user id when the label is blank. */
export function mentionLabel(label: string, userId: RemoteUserId): string {
  const folded = collapseNewlineRuns(label);
  return isHtmlWhitespaceOnly(folded) ? userId : folded;
}

/** Preformatted text keeps its line breaks; CR LF and lone CR become LF, as HTML parsing does. */
export function normalizePreText(text: string): string {
  return text.indexOf('\r') < 0 ? text : text.replace(/\r\n?/g, '\n');
}

const LANGUAGE = /^[A-Za-z0-9_+#.-]{1,32}$/;
/** A code block's language tag, when it is a plain identifier (it ends up in a class attribute). */
export function safeLanguage(language: string | undefined): string | undefined {
  return language !== undefined && LANGUAGE.test(language) ? language : undefined;
}

/** True when a paragraph shows nothing: no leaf other than whitespace-only text. */
export function isBlankInline(nodes: readonly InlineNode[]): boolean {
  for (const leaf of flattenInlineLeaves(nodes)) {
    if (leaf.type !== 'text' || !isHtmlWhitespaceOnly(leaf.text)) return false;
  }
  return true;
}
