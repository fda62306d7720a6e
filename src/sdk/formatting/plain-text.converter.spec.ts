import { RemoteUserId } from '../ids';
import { prng, randomText } from './formatting.spec-support';
import type { FormattedBody, InlineNode } from './model';
import { fromPlainText, toPlainText } from './plain-text.converter';

const p = (...children: InlineNode[]): FormattedBody => ({ blocks: [{ type: 'paragraph', children }] });
const t = (text: string): InlineNode => ({ type: 'text', text });

describe('fromPlainText / toPlainText round trip', () => {
  it.each([
    '',
    'a',
    '\n',
    '\n\n',
    'a\nb',
    'a\r\nb\r\n',
    '  leading and trailing  ',
    '> quote-looking',
    'é😀\u0000\u200f',
    '\r',
  ])('plain → model → plain is exact for %j', (text) => {
    expect(toPlainText(fromPlainText(text))).toBe(text);
  });

  it('is exact for many random strings', () => {
    const rand = prng(7);
    for (let i = 0; i < 500; i++) {
      const text = randomText(rand, 8);
      expect(toPlainText(fromPlainText(text))).toBe(text);
    }
  });

  it('makes one paragraph of text and linebreak nodes', () => {
    expect(fromPlainText('')).toEqual({ blocks: [] });
    expect(fromPlainText('a\n\nb')).toEqual(p(t('a'), { type: 'linebreak' }, { type: 'linebreak' }, t('b')));
  });

  it('refuses a non-string with a clear error', () => {
    expect(() => fromPlainText(undefined as unknown as string)).toThrow(TypeError);
    expect(() => toPlainText({} as FormattedBody)).toThrow(/expected a FormattedBody/);
  });
});

describe('toPlainText renders formatting readably', () => {
  it('drops emphasis and keeps the text', () => {
    expect(
      toPlainText(
        p(
          { type: 'bold', children: [t('bold')] },
          t(' '),
          { type: 'italic', children: [{ type: 'strike', children: [t('x')] }] },
          { type: 'code', text: 'a<b' },
        ),
      ),
    ).toBe('bold xa<b');
  });

  it('writes links as "label (href)" unless the label already says it', () => {
    expect(toPlainText(p({ type: 'link', href: 'https://example.org', children: [t('site')] }))).toBe(
      'site (https://example.org)',
    );
    expect(
      toPlainText(p({ type: 'link', href: 'https://example.org', children: [t('https://example.org')] })),
    ).toBe('https://example.org');
    expect(
      toPlainText(p({ type: 'link', href: 'mailto:a@example.org', children: [t('a@example.org')] })),
    ).toBe('a@example.org');
    expect(toPlainText(p({ type: 'link', href: 'https://example.org', children: [] }))).toBe(
      'https://example.org',
    );
  });

  it('does not advertise refused hrefs', () => {
    expect(toPlainText(p({ type: 'link', href: 'javascript:alert(1)', children: [t('click')] }))).toBe(
      'click',
    );
  });

  it('writes mentions as their label (the id when the label is blank)', () => {
    const userId = RemoteUserId('@alice:example.org');
    expect(toPlainText(p(t('hi '), { type: 'mention', userId, label: 'Alice' }))).toBe('hi Alice');
    expect(toPlainText(p({ type: 'mention', userId, label: ' ' }))).toBe('@alice:example.org');
  });

  it('prefixes quotes with "> ", keeps pre text, separates blocks with a blank line', () => {
    const body: FormattedBody = {
      blocks: [
        {
          type: 'quote',
          children: [
            p(t('one'), { type: 'linebreak' }, t('two')).blocks[0]!,
            { type: 'quote', children: [p(t('deep')).blocks[0]!] },
          ],
        },
        { type: 'pre', text: 'const a = 1;\n  b();', language: 'ts' },
        p(t('after')).blocks[0]!,
      ],
    };
    expect(toPlainText(body)).toBe('> one\n> two\n>\n> > deep\n\nconst a = 1;\n  b();\n\nafter');
  });

  it('survives a model nested far beyond the depth limit (no stack overflow)', () => {
    let inline: InlineNode = t('core');
    for (let i = 0; i < 100_000; i++) {
      inline =
        i % 2
          ? { type: 'bold', children: [inline] }
          : { type: 'link', href: 'https://e.org', children: [inline] };
    }
    expect(toPlainText(p(inline))).toContain('core');

    let blocks: FormattedBody['blocks'] = p(t('inner')).blocks;
    for (let i = 0; i < 100_000; i++) blocks = [{ type: 'quote', children: blocks }];
    const plain = toPlainText({ blocks });
    expect(plain.endsWith('inner')).toBe(true);
    expect(plain.startsWith('> '.repeat(64) + 'inner')).toBe(true);
  });
});
