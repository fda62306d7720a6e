import { RemoteUserId } from '../ids';
import { normalizeBody } from './body.normalizer';
import { prng, randomBody, unsafeHtmlProblems } from './formatting.spec-support';
import { fromHtml } from './html-parse.converter';
import { toHtml } from './html-render.converter';
import type { BlockNode, FormattedBody, InlineNode } from './model';
import { fromPlainText } from './plain-text.converter';

const t = (text: string): InlineNode => ({ type: 'text', text });
const para = (...children: InlineNode[]): BlockNode => ({ type: 'paragraph', children });
const body = (...blocks: BlockNode[]): FormattedBody => ({ blocks });
const alice = RemoteUserId('@alice:example.org');

describe('toHtml', () => {
  it('renders a single paragraph without <p>, several with', () => {
    expect(toHtml(body(para(t('hi'))))).toBe('hi');
    expect(toHtml(body(para(t('a')), para(t('b'))))).toBe('<p>a</p><p>b</p>');
    expect(toHtml(body())).toBe('');
  });

  it('renders every kind of node with allow-listed tags', () => {
    const html = toHtml(
      body(
        para(
          { type: 'bold', children: [t('b')] },
          { type: 'italic', children: [t('i')] },
          { type: 'underline', children: [t('u')] },
          { type: 'strike', children: [t('s')] },
          { type: 'code', text: 'x<y' },
          { type: 'linebreak' },
          { type: 'link', href: 'https://example.org/?a=1&b=2', children: [t('site')] },
          { type: 'mention', userId: alice, label: 'Alice' },
        ),
        { type: 'pre', text: 'if (a < b) {}\n', language: 'ts' },
        { type: 'quote', children: [para(t('q'))] },
      ),
    );
    expect(html).toBe(
      '<p><strong>b</strong><em>i</em><u>u</u><del>s</del><code>x&lt;y</code><br>' +
        '<a href="https://example.org/?a=1&amp;b=2">site</a><a href="https://matrix.to/#/@alice:example.org">Alice</a></p>' +
        '<pre><code class="language-ts">if (a &lt; b) {}\n</code></pre><blockquote>q</blockquote>',
    );
    expect(unsafeHtmlProblems(html)).toEqual([]);
  });

  it('escapes all text, including quotes, so nothing can open a tag or leave an attribute', () => {
    const html = toHtml(body(para(t('<script>alert("x")</script> & \'y\''))));
    expect(html).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;');
  });

  it('turns line breaks inside text into <br> and drops CR', () => {
    expect(toHtml(fromPlainText('a\r\nb\nc'))).toBe('a<br>b<br>c');
  });

  it('drops links whose href is not allowed, keeping their text', () => {
    for (const href of [
      'javascript:alert(1)',
      ' JaVaScRiPt:alert(1)',
      'data:text/html,x',
      'vbscript:x',
      '/rel',
    ]) {
      expect(toHtml(body(para({ type: 'link', href, children: [t('click')] })))).toBe('click');
    }
  });

  it('escapes an allowed href that tries to break out of its attribute', () => {
    const html = toHtml(
      body(para({ type: 'link', href: 'https://e.org/"onmouseover="alert(1)', children: [t('x')] })),
    );
    expect(html).toBe('<a href="https://e.org/&quot;onmouseover=&quot;alert(1)">x</a>');
    expect(unsafeHtmlProblems(html)).toEqual([]);
  });

  it('does not nest links; a mention inside a link is its label', () => {
    const html = toHtml(
      body(
        para({
          type: 'link',
          href: 'https://a.example',
          children: [
            t('x'),
            { type: 'link', href: 'https://b.example', children: [t('y')] },
            { type: 'mention', userId: alice, label: 'Al' },
          ],
        }),
      ),
    );
    expect(html).toBe('<a href="https://a.example">xyAl</a>');
  });

  it('takes the mention href builder as a parameter, and still vets what it returns', () => {
    const xmpp = RemoteUserId('bob@example.org');
    const mention: InlineNode = { type: 'mention', userId: xmpp, label: 'Bob' };
    expect(toHtml(body(para(mention)))).toBe('Bob'); // the default only links Matrix ids
    expect(toHtml(body(para(mention)), { mentionHref: (id) => `xmpp:${id}` })).toBe(
      '<a href="xmpp:bob@example.org">Bob</a>',
    );
    expect(toHtml(body(para(mention)), { mentionHref: () => 'javascript:alert(1)' })).toBe('Bob');
    expect(
      toHtml(body(para(mention)), {
        mentionHref: () => {
          throw new Error('adapter bug');
        },
      }),
    ).toBe('Bob');
  });

  it('refuses unsafe code languages', () => {
    expect(toHtml(body({ type: 'pre', text: 'x', language: '"><script>' }))).toBe(
      '<pre><code>x</code></pre>',
    );
  });

  it('flattens a model nested far beyond the depth limit instead of overflowing the stack', () => {
    let inline: InlineNode = t('core');
    for (let i = 0; i < 100_000; i++) inline = { type: 'bold', children: [inline] };
    const html = toHtml(body(para(inline)));
    expect(html).toBe('<strong>'.repeat(64) + 'core' + '</strong>'.repeat(64));

    let blocks: BlockNode[] = [para(t('inner'))];
    for (let i = 0; i < 100_000; i++) blocks = [{ type: 'quote', children: blocks }];
    expect(toHtml({ blocks })).toBe('<blockquote>'.repeat(64) + 'inner' + '</blockquote>'.repeat(64));
  });

  it('renders a 1 MiB body', () => {
    const text = 'x'.repeat(1024 * 1024);
    expect(toHtml(fromPlainText(text))).toBe(text);
  });

  it('refuses a non-body with a clear error', () => {
    expect(() => toHtml(null as unknown as FormattedBody)).toThrow(TypeError);
  });
});

describe('model → html → model', () => {
  it.each<[string, FormattedBody]>([
    ['plain', body(para(t('hello world')))],
    ['two paragraphs', body(para(t('a')), para(t('b')))],
    ['spaces kept', body(para(t('  a  b  ')))],
    ['line breaks', body(para(t('a'), { type: 'linebreak' }, { type: 'linebreak' }, t('b')))],
    [
      'nested formatting',
      body(para({ type: 'bold', children: [t('a'), { type: 'italic', children: [t('b')] }, t('c')] })),
    ],
    [
      'adjacent bold runs stay separate',
      body(para({ type: 'bold', children: [t('a')] }, { type: 'bold', children: [t('b')] })),
    ],
    [
      'link with formatting',
      body(
        para({ type: 'link', href: 'https://example.org', children: [{ type: 'bold', children: [t('x')] }] }),
      ),
    ],
    ['mention', body(para(t('hi '), { type: 'mention', userId: alice, label: 'Alice' }, t('!')))],
    ['code', body(para({ type: 'code', text: '  a  <b> ' }))],
    ['pre', body({ type: 'pre', text: '\nleading newline\n  indented\n', language: 'c++' })],
    [
      'quote',
      body(
        { type: 'quote', children: [para(t('q')), { type: 'quote', children: [para(t('qq'))] }] },
        para(t('after')),
      ),
    ],
    ['entities', body(para(t('&amp; <> " \' \u00a0')))],
  ])('%s', (_name, model) => {
    expect(normalizeBody(model)).toEqual(model); // these are already canonical
    expect(fromHtml(toHtml(model))).toStrictEqual(model);
  });

  it('holds for 2,000 random bodies: fromHtml(toHtml(m)) is normalizeBody(m), and the HTML is safe', () => {
    const rand = prng(42);
    for (let i = 0; i < 2000; i++) {
      const model = randomBody(rand);
      const html = toHtml(model);
      expect(unsafeHtmlProblems(html)).toEqual([]);
      const canonical = normalizeBody(model);
      expect(fromHtml(html)).toStrictEqual(canonical);
      expect(normalizeBody(canonical)).toEqual(canonical);
      expect(toHtml(canonical)).toBe(html);
    }
  });

  it('holds at the depth limit', () => {
    let inline: InlineNode = t('x');
    for (let i = 0; i < 64; i++) inline = { type: i % 2 ? 'italic' : 'bold', children: [inline] };
    const model = body({ type: 'quote', children: [para(inline)] });
    const canonical = normalizeBody(model);
    expect(fromHtml(toHtml(model))).toEqual(canonical);
  });
});
