import type { RemoteUserId } from '../ids';
import { resolveMaxDepth } from './formatting.limits';
import {
  collapseNewlineRuns,
  flattenBlocks,
  flattenInlineLeaves,
  isBlankInline,
  mentionLabel,
  normalizePreText,
  safeLanguage,
  type InlineLeaf,
} from './formatting-tree.util';
import {
  matrixToMentionHref,
  matrixToMentionParser,
  safeHref,
  type MentionHrefBuilder,
  type MentionHrefParser,
} from './href.policy';
import type { BlockNode, FormattedBody, InlineNode } from './model';

export interface MentionOptions {
  /** How a mention becomes a link (default: matrix.to permalinks for Matrix user ids). */
  mentionHref?: MentionHrefBuilder;
  /** How a link is recognised as a mention; should invert `mentionHref` (default: matrix.to). */
  mentionFromHref?: MentionHrefParser;
}

export interface NormalizeOptions extends MentionOptions {
  /** Nesting kept (quotes plus inline formatting); deeper content keeps only its text. Default 64. */
  maxDepth?: number;
}

/** Calls an adapter-supplied mention hook; a throwing hook counts as "no answer", never a crash. */
export function callMentionHref(build: MentionHrefBuilder, userId: RemoteUserId): string | undefined {
  try {
    return safeHref(build(userId));
  } catch {
    return undefined;
  }
}
export function callMentionParser(parse: MentionHrefParser, href: string): RemoteUserId | undefined {
  try {
    const id = parse(href);
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The canonical form of a body: exactly what `fromHtml(toHtml(body))` gives back. Text holds no line
 * breaks (they are `linebreak` nodes) and no CR; adjacent texts are merged; empty containers, blank
 * paragraphs, empty pre blocks and quotes are gone; links carry only allowed hrefs and do not nest;
 * mentions are kept only where their href round-trips (otherwise a link or plain label); nesting beyond
 * `maxDepth` is flattened to its text.
 */
export function normalizeBody(body: FormattedBody, opts: NormalizeOptions = {}): FormattedBody {
  if (body === null || typeof body !== 'object' || !Array.isArray(body.blocks)) {
    throw new TypeError('normalizeBody: expected a FormattedBody ({ blocks: [...] })');
  }
  const n = new Normalizer(
    resolveMaxDepth(opts.maxDepth),
    opts.mentionHref ?? matrixToMentionHref,
    opts.mentionFromHref ?? matrixToMentionParser,
  );
  const blocks: BlockNode[] = [];
  n.blocks(body.blocks, 0, blocks);
  return body.truncated === true ? { blocks, truncated: true } : { blocks };
}

class Normalizer {
  constructor(
    private readonly maxDepth: number,
    private readonly mentionHref: MentionHrefBuilder,
    private readonly mentionFromHref: MentionHrefParser,
  ) {}

  blocks(input: readonly BlockNode[], depth: number, out: BlockNode[]): void {
    const list = depth >= this.maxDepth ? flattenBlocks(input) : input;
    for (const block of list) {
      switch (block.type) {
        case 'paragraph': {
          const children: InlineNode[] = [];
          this.inline(block.children, depth, false, children);
          if (!isBlankInline(children)) out.push({ type: 'paragraph', children });
          break;
        }
        case 'pre': {
          const text = normalizePreText(String(block.text));
          const language = safeLanguage(block.language);
          if (text !== '')
            out.push(language === undefined ? { type: 'pre', text } : { type: 'pre', text, language });
          break;
        }
        case 'quote': {
          const children: BlockNode[] = [];
          this.blocks(block.children, depth + 1, children);
          if (children.length > 0) out.push({ type: 'quote', children });
          break;
        }
        default:
          break; // not a block this model knows (a caller outside TypeScript): nothing to show
      }
    }
  }

  /** Appends the canonical form of `nodes` (which sit at `depth`) to `out`. */
  inline(nodes: readonly InlineNode[], depth: number, inLink: boolean, out: InlineNode[]): void {
    for (const node of nodes) {
      switch (node.type) {
        case 'text':
        case 'linebreak':
        case 'code':
        case 'mention':
          this.leaf(node, inLink, out);
          break;
        case 'bold':
        case 'italic':
        case 'underline':
        case 'strike':
        case 'link': {
          if (depth >= this.maxDepth) {
            for (const leaf of flattenInlineLeaves(node.children)) this.leaf(leaf, inLink, out);
            break;
          }
          if (node.type !== 'link') {
            const children: InlineNode[] = [];
            this.inline(node.children, depth + 1, inLink, children);
            if (children.length > 0) out.push({ type: node.type, children });
            break;
          }
          const href = inLink ? undefined : safeHref(node.href);
          if (href === undefined) {
            // Links do not nest, and a refused href loses its link: the text stays in place.
            this.inline(node.children, depth + 1, inLink, out);
            break;
          }
          const children: InlineNode[] = [];
          this.inline(node.children, depth + 1, true, children);
          if (children.length > 0) out.push({ type: 'link', href, children });
          break;
        }
        default:
          break;
      }
    }
  }

  private leaf(node: InlineLeaf, inLink: boolean, out: InlineNode[]): void {
    switch (node.type) {
      case 'text':
        pushText(out, String(node.text));
        break;
      case 'linebreak':
        out.push({ type: 'linebreak' });
        break;
      case 'code': {
        const text = collapseNewlineRuns(String(node.text));
        if (text !== '') out.push({ type: 'code', text });
        break;
      }
      case 'mention': {
        const label = mentionLabel(String(node.label), node.userId);
        const href = inLink ? undefined : callMentionHref(this.mentionHref, node.userId);
        if (href === undefined) pushText(out, label);
        else if (callMentionParser(this.mentionFromHref, href) === node.userId) {
          out.push({ type: 'mention', userId: node.userId, label });
        } else if (label !== '') {
          // The link cannot be read back as a mention: it stays what it renders as, a link.
          out.push({ type: 'link', href, children: [{ type: 'text', text: label }] });
        }
        break;
      }
      default:
        break;
    }
  }
}

/** Appends text, turning LF into linebreak nodes, dropping CR, merging with a preceding text node. */
export function pushText(out: InlineNode[], text: string): void {
  const clean = text.indexOf('\r') < 0 ? text : text.replace(/\r/g, '');
  const lines = clean.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (i > 0) out.push({ type: 'linebreak' });
    const line = lines[i]!;
    if (line === '') continue;
    const last = out[out.length - 1];
    if (last !== undefined && last.type === 'text') last.text += line;
    else out.push({ type: 'text', text: line });
  }
}
