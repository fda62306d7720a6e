import type { RemoteUserId } from '../ids';

/**
 * The portable formatting model: what every network's markup (mIRC codes, Matrix HTML, XHTML-IM,
 * Markdown-ish plain text) converts into and out of. Small on purpose: what all networks can show.
 */
export type InlineNode =
  | { type: 'text'; text: string }
  | { type: 'bold' | 'italic' | 'underline' | 'strike'; children: InlineNode[] }
  | { type: 'code'; text: string }
  | { type: 'link'; href: string; children: InlineNode[] }
  | { type: 'mention'; userId: RemoteUserId; label: string }
  | { type: 'linebreak' };

export type BlockNode =
  | { type: 'paragraph'; children: InlineNode[] }
  | { type: 'pre'; text: string; language?: string }
  | { type: 'quote'; children: BlockNode[] };

export type FormatNode = InlineNode | BlockNode;

/** A formatted message body: a list of blocks. Plain text is one paragraph of text nodes. */
export interface FormattedBody {
  blocks: BlockNode[];
  /** Set when the source was longer than the converter's size limit and the body was cut short. */
  truncated?: boolean;
}
