/**
 * Shared by the formatting specs (not part of the SDK's API): an independent check that HTML holds
 * only what toHtml may write, and a seeded generator of random bodies for round-trip properties.
 */
import { Parser } from 'htmlparser2';
import { RemoteUserId } from '../ids';
import type { BlockNode, FormattedBody, InlineNode } from './model';

const ALLOWED_TAGS = new Set(['strong', 'em', 'u', 'del', 'code', 'pre', 'a', 'blockquote', 'br', 'p']);

/** Problems found when HTML is read back by a stock parser: anything but the allow-list is one. */
export function unsafeHtmlProblems(html: string): string[] {
  const problems: string[] = [];
  const parser = new Parser(
    {
      onopentag(name, attributes) {
        if (!ALLOWED_TAGS.has(name)) problems.push(`tag <${name}>`);
        for (const [key, value] of Object.entries(attributes)) {
          if (name === 'a' && key === 'href') {
            if (!/^(https?:\/\/[^\s/?#\\]|mailto:\S|xmpp:\S)/i.test(value))
              problems.push(`href ${JSON.stringify(value)}`);
          } else if (name === 'code' && key === 'class') {
            if (!/^language-[A-Za-z0-9_+#.-]+$/.test(value)) problems.push(`class ${JSON.stringify(value)}`);
          } else {
            problems.push(`attribute ${key} on <${name}>`);
          }
        }
      },
      oncomment() {
        problems.push('comment');
      },
      onprocessinginstruction(name) {
        problems.push(`declaration ${name}`);
      },
    },
    { decodeEntities: true },
  );
  parser.end(html);
  return problems;
}

/** A small deterministic PRNG (mulberry32): reproducible random cases without a dependency. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  'a',
  'hello',
  ' ',
  '  two  spaces ',
  '\n',
  '\r\n',
  '\t',
  '<script>alert(1)</script>',
  '&amp; &lt;',
  '"quoted" \'single\'',
  'é😀€',
  '\u00a0nbsp',
  'javascript:alert(1)',
  '> not a quote',
  '`tick`',
];
const HREFS = [
  'https://example.org/a?b=1&c=2',
  'mailto:alice@example.org',
  'xmpp:bob@example.org',
  'javascript:alert(1)',
  ' https://example.org/x ',
  'data:text/html,<b>x</b>',
  '/relative',
];
const USERS = ['@alice:example.org', '@bob:matrix.example:8448', 'carol!irc.example.org', ''];

export function randomText(rand: () => number, maxPieces = 4): string {
  let s = '';
  const n = 1 + Math.floor(rand() * maxPieces);
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(rand() * PIECES.length)]!;
  return s;
}

function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)]!;
}

function randomInline(rand: () => number, depth: number): InlineNode[] {
  const out: InlineNode[] = [];
  const n = Math.floor(rand() * 4);
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.35 || depth > 5) out.push({ type: 'text', text: randomText(rand) });
    else if (r < 0.45) out.push({ type: 'linebreak' });
    else if (r < 0.52) out.push({ type: 'code', text: randomText(rand, 2) });
    else if (r < 0.6) {
      out.push({
        type: 'mention',
        userId: RemoteUserId(pick(rand, USERS)),
        label: rand() < 0.2 ? '' : randomText(rand, 2),
      });
    } else if (r < 0.72)
      out.push({ type: 'link', href: pick(rand, HREFS), children: randomInline(rand, depth + 1) });
    else {
      const type = pick(rand, ['bold', 'italic', 'underline', 'strike'] as const);
      out.push({ type, children: randomInline(rand, depth + 1) });
    }
  }
  return out;
}

function randomBlocks(rand: () => number, depth: number): BlockNode[] {
  const out: BlockNode[] = [];
  const n = Math.floor(rand() * 4);
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.6 || depth > 3) out.push({ type: 'paragraph', children: randomInline(rand, depth) });
    else if (r < 0.8) {
      const language = pick(rand, [undefined, 'ts', 'c++', 'bad language"><script>']);
      out.push(
        language === undefined
          ? { type: 'pre', text: randomText(rand) }
          : { type: 'pre', text: randomText(rand), language },
      );
    } else out.push({ type: 'quote', children: randomBlocks(rand, depth + 1) });
  }
  return out;
}

export function randomBody(rand: () => number): FormattedBody {
  return { blocks: randomBlocks(rand, 0) };
}
