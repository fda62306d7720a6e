import { resolveMaxDepth } from './formatting.limits';
import { flattenBlocks, flattenInlineLeaves, mentionLabel, type InlineLeaf } from './formatting-tree.util';
import { safeHref } from './href.policy';
import type { BlockNode, FormattedBody, InlineNode } from './model';

/**
 * Plain text as the model: one paragraph of text and linebreak nodes (split at LF only, so CR and
 * every other character stay where they were). `toPlainText(fromPlainText(s)) === s` for every string.
 */
export function fromPlainText(text: string): FormattedBody {
  if (typeof text !== 'string') throw new TypeError('fromPlainText: text must be a string');
  if (text === '') return { blocks: [] };
  const children: InlineNode[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (i > 0) children.push({ type: 'linebreak' });
    const line = lines[i]!;
    if (line !== '') children.push({ type: 'text', text: line });
  }
  return { blocks: [{ type: 'paragraph', children }] };
}

export interface ToPlainTextOptions {
  /** Nesting rendered with its markers (quote prefixes, link targets); deeper content is text only. */
  maxDepth?: number;
}

/**
 * A readable plain rendering, for networks without formatting and for notifications: blocks are
 * separated by a blank line, quotes prefixed with `> `, pre blocks as their text, links as
 * `label (href)` (just the label when it already says the href), mentions as their label.
 */
export function toPlainText(body: FormattedBody, opts: ToPlainTextOptions = {}): string {
  if (body === null || typeof body !== 'object' || !Array.isArray(body.blocks)) {
    throw new TypeError('toPlainText: expected a FormattedBody ({ blocks: [...] })');
  }
  return plainBlocks(body.blocks, 0, resolveMaxDepth(opts.maxDepth));
}

function plainBlocks(blocks: readonly BlockNode[], depth: number, maxDepth: number): string {
  const list = depth >= maxDepth ? flattenBlocks(blocks) : blocks;
  const parts: string[] = [];
  for (const block of list) {
    switch (block.type) {
      case 'paragraph':
        parts.push(plainInline(block.children, depth, maxDepth));
        break;
      case 'pre':
        parts.push(String(block.text));
        break;
      case 'quote':
        parts.push(
          plainBlocks(block.children, depth + 1, maxDepth)
            .split('\n')
            .map((line) => (line === '' ? '>' : `> ${line}`))
            .join('\n'),
        );
        break;
      default:
        break;
    }
  }
  return parts.join('\n\n');
}

function plainLeaf(leaf: InlineLeaf): string {
  switch (leaf.type) {
    case 'text':
    case 'code':
      return String(leaf.text);
    case 'linebreak':
      return '\n';
    case 'mention':
      return mentionLabel(String(leaf.label), leaf.userId);
    default:
      return '';
  }
}

function plainInline(nodes: readonly InlineNode[], depth: number, maxDepth: number): string {
  let out = '';
  for (const node of nodes) {
    switch (node.type) {
      case 'text':
      case 'code':
      case 'linebreak':
      case 'mention':
        out += plainLeaf(node);
        break;
      case 'bold':
      case 'italic':
      case 'underline':
      case 'strike':
      case 'link': {
        const label =
          depth >= maxDepth
            ? flattenInlineLeaves(node.children).map(plainLeaf).join('')
            : plainInline(node.children, depth + 1, maxDepth);
        out += node.type === 'link' ? linkText(label, node.href) : label;
        break;
      }
      default:
        break;
    }
  }
  return out;
}

function linkText(label: string, rawHref: string): string {
  // A refused href (javascript: …) is not worth showing either: the label is what the sender meant.
  const href = safeHref(rawHref);
  if (href === undefined) return label;
  if (label === '') return href;
  const bare = href.replace(/^(?:mailto|xmpp):/i, '');
  return label === href || label === bare ? label : `${label} (${href})`;
}
