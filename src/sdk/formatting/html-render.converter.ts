import { callMentionHref, normalizeBody, type NormalizeOptions } from './body.normalizer';
import { matrixToMentionHref, safeHref, type MentionHrefBuilder } from './href.policy';
import type { BlockNode, FormattedBody, InlineNode } from './model';

export type ToHtmlOptions = NormalizeOptions;

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for both element content and double-quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

const TAGS = { bold: 'strong', italic: 'em', underline: 'u', strike: 'del' } as const;

/**
 * Renders a body as HTML that is safe by construction: it is written from the model, never copied
 * from input, so the only tags are strong, em, u, del, code, pre, a, blockquote, br and p; every text
 * and attribute is escaped; every href passes `safeHref`. A body of one paragraph renders without
 * `<p>` (as Matrix clients write single-line messages).
 */
export function toHtml(body: FormattedBody, opts: ToHtmlOptions = {}): string {
  const canonical = normalizeBody(body, opts);
  const out: string[] = [];
  renderBlocks(canonical.blocks, out, opts.mentionHref ?? matrixToMentionHref);
  return out.join('');
}

// Recursion is bounded: normalizeBody flattened everything deeper than maxDepth (at most 256).
function renderBlocks(blocks: readonly BlockNode[], out: string[], mentionHref: MentionHrefBuilder): void {
  const only = blocks.length === 1 ? blocks[0] : undefined;
  if (only !== undefined && only.type === 'paragraph') {
    renderInline(only.children, out, mentionHref);
    return;
  }
  for (const block of blocks) {
    switch (block.type) {
      case 'paragraph':
        out.push('<p>');
        renderInline(block.children, out, mentionHref);
        out.push('</p>');
        break;
      case 'pre':
        out.push(
          block.language === undefined
            ? '<pre><code>'
            : `<pre><code class="language-${escapeHtml(block.language)}">`,
          escapeHtml(block.text),
          '</code></pre>',
        );
        break;
      case 'quote':
        out.push('<blockquote>');
        renderBlocks(block.children, out, mentionHref);
        out.push('</blockquote>');
        break;
    }
  }
}

function renderInline(nodes: readonly InlineNode[], out: string[], mentionHref: MentionHrefBuilder): void {
  for (const node of nodes) {
    switch (node.type) {
      case 'text':
        out.push(escapeHtml(node.text));
        break;
      case 'linebreak':
        out.push('<br>');
        break;
      case 'code':
        out.push('<code>', escapeHtml(node.text), '</code>');
        break;
      case 'mention': {
        const href = callMentionHref(mentionHref, node.userId);
        if (href === undefined) out.push(escapeHtml(node.label));
        else out.push(`<a href="${escapeHtml(href)}">`, escapeHtml(node.label), '</a>');
        break;
      }
      case 'link': {
        // Checked again here, not only in normalizeBody: the one place that writes an href judges it.
        const href = safeHref(node.href);
        if (href !== undefined) out.push(`<a href="${escapeHtml(href)}">`);
        renderInline(node.children, out, mentionHref);
        if (href !== undefined) out.push('</a>');
        break;
      }
      case 'bold':
      case 'italic':
      case 'underline':
      case 'strike': {
        const tag = TAGS[node.type];
        out.push(`<${tag}>`);
        renderInline(node.children, out, mentionHref);
        out.push(`</${tag}>`);
        break;
      }
    }
  }
}
