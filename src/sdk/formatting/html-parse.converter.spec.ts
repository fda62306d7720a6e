import { RemoteUserId } from '../ids';
import { normalizeBody } from './body.normalizer';
import { prng, unsafeHtmlProblems } from './formatting.spec-support';
import { fromHtml, sanitizeHtml, TRUNCATION_MARK } from './html-parse.converter';
import type { BlockNode, FormattedBody, InlineNode } from './model';
import { toPlainText } from './plain-text.converter';

const t = (text: string): InlineNode => ({ type: 'text', text });
const br: InlineNode = { type: 'linebreak' };
const para = (...children: InlineNode[]): BlockNode => ({ type: 'paragraph', children });
const body = (...blocks: BlockNode[]): FormattedBody => ({ blocks });

/** Depth of the deepest container (quote or inline formatting) in a body. */
function maxNesting(b: FormattedBody): number {
  let max = 0;
  const inline = (nodes: InlineNode[], d: number): void => {
    for (const n of nodes) {
      if (!('children' in n)) continue;
      max = Math.max(max, d + 1);
      inline(n.children, d + 1);
    }
  };
  const blocks = (list: BlockNode[], d: number): void => {
    for (const blk of list) {
      if (blk.type === 'quote') {
        max = Math.max(max, d + 1);
        blocks(blk.children, d + 1);
      } else if (blk.type === 'paragraph') inline(blk.children, d);
    }
  };
  blocks(b.blocks, 0);
  return max;
}

const HOSTILE = [
  '<img src=x onerror=alert(1)>',
  '<img src=x onerror=alert(1) alt="smile">',
  '<a href="javascript:alert(1)">click</a>',
  '<a href=" JaVaScRiPt:alert(1)">click</a>',
  '<a href="&#106;avascript:alert(1)">click</a>',
  '<a href="&#x6A;&#x61;vascript:alert(1)">click</a>',
  '<a href="&#0000106avascript:alert(1)">click</a>',
  '<a href="javascript&colon;alert(1)">click</a>',
  '<a href="jav&#x09;ascript:alert(1)">click</a>',
  '<a href="jav\nascript:alert(1)">click</a>',
  '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">click</a>',
  '<a href="vbscript:msgbox(1)">click</a>',
  '<a href="//evil.example">click</a>',
  '<a href=https://ok.example onclick=alert(1) style="x">ok</a>',
  '<a href="https://ok.example" href="javascript:alert(1)">ok</a>',
  '<b onclick="alert(1)" style="color:red">bold</b>',
  '<script>alert(1)</script>after',
  '<SCRIPT SRC=//evil.example/x.js></SCRIPT>after',
  '<script>unclosed alert(1)',
  '<style>body{background:url(javascript:alert(1))}</style>after',
  '<iframe src="javascript:alert(1)">inside</iframe>after',
  '<object data="x.swf"><param name=a value=b>inside</object>after',
  '<svg onload=alert(1)><script>alert(1)</script><text>inside</text></svg>after',
  '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>',
  '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
  '<form><button formaction=javascript:alert(1)>x</button></form>',
  '<html><head><title>t</title><meta http-equiv="refresh" content="0;url=javascript:alert(1)"></head><body>body</body></html>',
  '<<script>script>alert(1)<</script>/script>',
  '<a href="https://a.example">one <a href="https://b.example">two</a> three</a>',
  '<!-- <img src=x onerror=alert(1)> -->visible',
  '<![CDATA[<img src=x onerror=alert(1)>]]>visible',
  '<!DOCTYPE html><p>x</p>',
  '<b>unclosed <i>tags <u>everywhere',
  '<b>mis<i>nested</b>tags</i>',
  '</b></i></p></div>stray closers',
  '<p>a<p>b<div>c</p>d',
  '<a href="https://matrix.to/#/@alice:example.org"><img src=x onerror=alert(1)>Alice</a>',
  '<pre><code class="language-js&quot; onmouseover=&quot;alert(1)">x</code></pre>',
  '<blockquote><b>a</blockquote>b',
  '<mx-reply><blockquote>quoted <a href="javascript:x">fallback</a></blockquote></mx-reply>reply',
  '<a href="https://e.org/&quot;&gt;&lt;script&gt;">x</a>',
  '<x-custom onfocus=alert(1) autofocus>custom</x-custom>',
  '<img src="x` `<script>alert(1)</script>"` `>',
  '<ul><li>a<li>b</ul><ol start="3"><li>c</ol>',
  '\u0000<b>\u0000</b>&#0;',
];

describe('fromHtml: hostile input', () => {
  it.each(HOSTILE)('%s → safe, canonical output', (html) => {
    const model = fromHtml(html);
    expect(normalizeBody(model)).toStrictEqual(model); // already canonical
    const clean = sanitizeHtml(html);
    expect(unsafeHtmlProblems(clean)).toEqual([]);
    expect(sanitizeHtml(clean)).toBe(clean); // sanitizing twice changes nothing
    expect(clean).not.toMatch(
      /javascript|vbscript|data:|onerror|onclick|onload|<script|<img|<iframe|style=/i,
    );
  });

  it('drops event-handler attributes and bad links but keeps the text', () => {
    expect(fromHtml('<img src=x onerror=alert(1)>')).toStrictEqual(body());
    expect(fromHtml('<a href="javascript:alert(1)">click</a>')).toStrictEqual(body(para(t('click'))));
    expect(fromHtml('<a href=" JaVaScRiPt:alert(1)">click</a>')).toStrictEqual(body(para(t('click'))));
    expect(fromHtml('<a href="&#106;avascript:alert(1)">click</a>')).toStrictEqual(body(para(t('click'))));
    expect(fromHtml('<a href="jav&#x09;ascript:alert(1)">click</a>')).toStrictEqual(body(para(t('click'))));
    expect(fromHtml('<b onclick="alert(1)">bold</b>')).toStrictEqual(
      body(para({ type: 'bold', children: [t('bold')] })),
    );
    expect(fromHtml('<a href=https://ok.example onclick=alert(1)>ok</a>')).toStrictEqual(
      body(para({ type: 'link', href: 'https://ok.example', children: [t('ok')] })),
    );
  });

  it('drops the contents of script, style, head, title, iframe and object entirely', () => {
    expect(sanitizeHtml('<script>alert(1)</script>after')).toBe('after');
    expect(sanitizeHtml('<style>p{}</style>after')).toBe('after');
    expect(sanitizeHtml('<iframe>inside</iframe>after')).toBe('after');
    expect(sanitizeHtml('<object>inside</object>after')).toBe('after');
    expect(sanitizeHtml('<html><head><title>t</title></head><body>body</body></html>')).toBe('body');
    expect(sanitizeHtml('<head><title>t</title><body>body')).toBe('body'); // <body> ends an unclosed head
    expect(sanitizeHtml('<script>never closed <b>x</b>')).toBe('');
  });

  it('keeps the text of unknown tags and loses the tag', () => {
    expect(
      sanitizeHtml(
        '<x-custom onfocus=alert(1)>custom</x-custom> <span style="x">span</span> <font color=red>f</font>',
      ),
    ).toBe('custom span f');
    expect(sanitizeHtml('<img alt="smile">')).toBe('smile');
  });

  it('decodes entities in text and re-escapes them on output', () => {
    expect(fromHtml('&lt;b&gt;not bold&lt;/b&gt; &amp;&nbsp;&#x1F600;')).toStrictEqual(
      body(para(t('<b>not bold</b> &\u00a0😀'))),
    );
    expect(sanitizeHtml('&lt;script&gt;')).toBe('&lt;script&gt;');
  });

  it('does not nest links', () => {
    expect(
      fromHtml('<a href="https://a.example">one <a href="https://b.example">two</a> three</a>'),
    ).toStrictEqual(body(para({ type: 'link', href: 'https://a.example', children: [t('one two three')] })));
  });
});

describe('fromHtml: unclosed and mis-nested tags', () => {
  it('closes what is left open at the end', () => {
    expect(fromHtml('<b>unclosed <i>tags')).toStrictEqual(
      body(para({ type: 'bold', children: [t('unclosed '), { type: 'italic', children: [t('tags')] }] })),
    );
    expect(fromHtml('<blockquote>q')).toStrictEqual(body({ type: 'quote', children: [para(t('q'))] }));
    expect(fromHtml('<pre>code')).toStrictEqual(body({ type: 'pre', text: 'code' }));
    expect(fromHtml('<a href="https://e.org">x')).toStrictEqual(
      body(para({ type: 'link', href: 'https://e.org', children: [t('x')] })),
    );
    expect(fromHtml('<a href="https://e.org"')).toStrictEqual(body()); // a tag cut off mid-way is ignored
  });

  it('closes inner elements with the outer end tag and ignores stray end tags', () => {
    expect(fromHtml('<b>mis<i>nested</b>tags</i>')).toStrictEqual(
      body(
        para({ type: 'bold', children: [t('mis'), { type: 'italic', children: [t('nested')] }] }, t('tags')),
      ),
    );
    expect(fromHtml('</b></i></div>stray')).toStrictEqual(body(para(t('stray'))));
  });

  it('splits formatting across paragraph breaks instead of dropping it', () => {
    expect(fromHtml('<b>a<p>b</p>c</b>')).toStrictEqual(
      body(
        para({ type: 'bold', children: [t('a')] }),
        para({ type: 'bold', children: [t('b')] }),
        para({ type: 'bold', children: [t('c')] }),
      ),
    );
  });

  it('implies </p> and </li> as HTML does', () => {
    expect(fromHtml('<p>a<p>b')).toStrictEqual(body(para(t('a')), para(t('b'))));
    expect(fromHtml('<ul><li>a<li>b</ul>')).toStrictEqual(body(para(t('• a'), br, t('• b'))));
  });

  it('ends an inline code or mention left open when a block starts', () => {
    expect(fromHtml('<code>x<p>y</p>')).toStrictEqual(body(para({ type: 'code', text: 'x' }), para(t('y'))));
  });
});

describe('fromHtml: limits', () => {
  it.each([
    'b',
    'i',
    'span',
    'div',
    'blockquote',
    'a href="https://e.org"',
    'code',
    'pre',
    'ul',
    'li',
    'p',
    'script',
  ])('survives 10,000-deep <%s> nesting', (open) => {
    const name = open.split(' ')[0]!;
    const html = `<${open}>`.repeat(10_000) + 'deep' + `</${name}>`.repeat(10_000);
    const model = fromHtml(html);
    expect(maxNesting(model)).toBeLessThanOrEqual(64);
    if (name !== 'script') expect(toPlainText(model)).toContain('deep');
    expect(unsafeHtmlProblems(sanitizeHtml(html))).toEqual([]);
  });

  it('keeps exactly 64 levels of formatting, flattening the rest to text', () => {
    const model = fromHtml('<b>'.repeat(10_000) + 'deep');
    expect(maxNesting(model)).toBe(64);
    expect(sanitizeHtml('<b>'.repeat(100) + 'x')).toBe('<strong>'.repeat(64) + 'x' + '</strong>'.repeat(64));
    expect(sanitizeHtml('<blockquote>'.repeat(100) + 'x')).toBe(
      '<blockquote>'.repeat(64) + 'x' + '</blockquote>'.repeat(64),
    );
    expect(maxNesting(fromHtml('<b>'.repeat(10) + 'x', { maxDepth: 3 }))).toBe(3);
  });

  it('counts quotes and formatting together toward the depth limit', () => {
    const model = fromHtml('<blockquote>'.repeat(40) + '<i>'.repeat(40) + 'x');
    expect(maxNesting(model)).toBe(64);
  });

  it('truncates a 1 MiB body at 256 KiB and marks it', () => {
    const html = 'x'.repeat(1024 * 1024);
    const model = fromHtml(html);
    expect(model.truncated).toBe(true);
    expect(toPlainText(model)).toBe('x'.repeat(256 * 1024) + TRUNCATION_MARK);
  });

  it('handles 1 MiB of open tags and 1 MiB of tags with attributes', () => {
    expect(maxNesting(fromHtml('<b>'.repeat(350_000)))).toBeLessThanOrEqual(64);
    const attrs = '<a href="javascript:alert(1)" onclick="x">y</a>'.repeat(22_000);
    const model = fromHtml(attrs);
    expect(model.truncated).toBe(true);
    expect(unsafeHtmlProblems(sanitizeHtml(attrs))).toEqual([]);
  });

  it('cuts at a UTF-8 boundary, never inside a character', () => {
    const model = fromHtml('é😀'.repeat(10), { maxBytes: 9 }); // é = 2 bytes, 😀 = 4
    expect(model).toStrictEqual({ blocks: [para(t('é😀é' + TRUNCATION_MARK))], truncated: true });
  });

  it('is not marked when the input fits', () => {
    expect(fromHtml('short', { maxBytes: 5 })).toStrictEqual(body(para(t('short'))));
  });

  it('refuses bad arguments with clear errors', () => {
    expect(() => fromHtml(undefined as unknown as string)).toThrow(TypeError);
    expect(() => fromHtml('x', { maxBytes: 0 })).toThrow(RangeError);
    expect(() => fromHtml('x', { maxDepth: 100_000 })).toThrow(RangeError);
  });

  it('never throws on random tag soup, and its output is always safe and stable', () => {
    const pieces = [
      '<b>',
      '</b>',
      '<i>',
      '<a href="https://e.org">',
      '<a href="javascript:x">',
      '</a>',
      '<p>',
      '</p>',
      '<br>',
      '<pre>',
      '</pre>',
      '<code>',
      '</code>',
      '<blockquote>',
      '</blockquote>',
      '<script>',
      '</script>',
      '<ul><li>',
      '</li>',
      '<',
      '>',
      '&',
      '&amp;',
      '&#',
      '"',
      "'",
      '=',
      ' ',
      '\n',
      'text',
      '<img src=x onerror=alert(1)>',
      '<a href="https://matrix.to/#/@a:b.c">',
      '<!--',
      '-->',
      '<svg>',
      '</svg>',
      '<td>',
      '<h1>',
    ];
    const rand = prng(1234);
    for (let i = 0; i < 3000; i++) {
      let html = '';
      const n = Math.floor(rand() * 30);
      for (let j = 0; j < n; j++) html += pieces[Math.floor(rand() * pieces.length)]!;
      const model = fromHtml(html);
      expect(normalizeBody(model)).toStrictEqual(model);
      const clean = sanitizeHtml(html);
      expect(unsafeHtmlProblems(clean)).toEqual([]);
      expect(sanitizeHtml(clean)).toBe(clean);
    }
  });
});

describe('fromHtml: structure', () => {
  it('maps the allow-listed tags to the model', () => {
    expect(
      fromHtml('<strong>b</strong><em>i</em><u>u</u><del>s</del><s>s</s><strike>s</strike><code>c</code>'),
    ).toStrictEqual(
      body(
        para(
          { type: 'bold', children: [t('b')] },
          { type: 'italic', children: [t('i')] },
          { type: 'underline', children: [t('u')] },
          { type: 'strike', children: [t('s')] },
          { type: 'strike', children: [t('s')] },
          { type: 'strike', children: [t('s')] },
          { type: 'code', text: 'c' },
        ),
      ),
    );
  });

  it('treats source line breaks as layout, <br> as a line break', () => {
    expect(fromHtml('<p>a</p>\n<p>b\n  c</p>\n')).toStrictEqual(body(para(t('a')), para(t('b c'))));
    expect(fromHtml('a<br>\nb<br/>c</br>d')).toStrictEqual(
      body(para(t('a'), br, t('b'), br, t('c'), br, t('d'))),
    );
    expect(fromHtml('<b>a</b>\n<i>b</i>')).toStrictEqual(
      body(para({ type: 'bold', children: [t('a')] }, t(' '), { type: 'italic', children: [t('b')] })),
    );
  });

  it('reads pre blocks with their language, dropping the newline right after <pre>', () => {
    expect(fromHtml('<pre><code class="language-ts">const a = 1;\n\n  b();\n</code></pre>')).toStrictEqual(
      body({ type: 'pre', text: 'const a = 1;\n\n  b();\n', language: 'ts' }),
    );
    expect(fromHtml('<pre>\nx <b>y</b><br>z\r\n</pre>')).toStrictEqual(
      body({ type: 'pre', text: 'x y\nz\n' }),
    );
  });

  it('reads Matrix mentions, and mentions through a custom parser', () => {
    expect(fromHtml('hi <a href="https://matrix.to/#/%40alice%3Aexample.org">Alice</a>')).toStrictEqual(
      body(para(t('hi '), { type: 'mention', userId: RemoteUserId('@alice:example.org'), label: 'Alice' })),
    );
    expect(fromHtml('<a href="https://matrix.to/#/@alice:example.org"></a>')).toStrictEqual(
      body(
        para({ type: 'mention', userId: RemoteUserId('@alice:example.org'), label: '@alice:example.org' }),
      ),
    );
    const mentionFromHref = (href: string) =>
      href.startsWith('xmpp:') ? RemoteUserId(href.slice(5)) : undefined;
    expect(fromHtml('<a href="xmpp:bob@example.org">Bob</a>', { mentionFromHref })).toStrictEqual(
      body(para({ type: 'mention', userId: RemoteUserId('bob@example.org'), label: 'Bob' })),
    );
  });

  it('strips the Matrix reply fallback', () => {
    expect(
      sanitizeHtml(
        '<mx-reply><blockquote>In reply to <a href="https://matrix.to/#/@a:b.c">a</a><br>old</blockquote></mx-reply>new',
      ),
    ).toBe('new');
  });

  it('renders lists as bulleted lines and headings as bold paragraphs', () => {
    expect(
      fromHtml(
        '<ul>\n<li>one</li>\n<li>two<ul><li>inner</li></ul></li>\n</ul><ol start="3"><li>c</li><li>d</li></ol>',
      ),
    ).toStrictEqual(
      body(para(t('• one'), br, t('• two'), br, t('  • inner')), para(t('3. c'), br, t('4. d'))),
    );
    expect(fromHtml('<h1>Title</h1>text')).toStrictEqual(
      body(para({ type: 'bold', children: [t('Title')] }), para(t('text'))),
    );
  });

  it('caps list indentation, so deeply nested lists cannot amplify their size', () => {
    const html = '<ul><li>'.repeat(5000) + 'x' + '</li></ul>'.repeat(5000);
    const text = toPlainText(fromHtml(html));
    // Indented at most 8 levels (16 spaces): linear in the input, not quadratic.
    expect(text.length).toBeLessThan(2 * html.length);
    expect(Math.max(...text.split('\n').map((l) => l.length))).toBeLessThanOrEqual(16 + 3);
  });

  it('drops blank paragraphs and empty elements', () => {
    expect(
      fromHtml('<p> </p><p>\n</p><b></b><blockquote></blockquote><pre></pre><code></code>'),
    ).toStrictEqual(body());
  });
});
