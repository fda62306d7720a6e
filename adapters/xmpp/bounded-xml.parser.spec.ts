import type xml from '@xmpp/xml';
import { boundedParser, StanzaLimitError } from './bounded-xml.parser';

const HEADER = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";

function run(chunks: string[], limits = { maxStanzaBytes: 1000, maxDepth: 10 }) {
  const skipped: StanzaLimitError[] = [];
  const Parser = boundedParser({ ...limits, onSkipped: (e) => skipped.push(e) });
  const p = new Parser();
  const elements: xml.Element[] = [];
  const errors: Error[] = [];
  p.on('element', (e: xml.Element) => elements.push(e));
  p.on('error', (e: Error) => errors.push(e));
  for (const c of chunks) p.write(c);
  return { elements, errors, skipped };
}

describe('boundedParser', () => {
  it('parses stanzas split across writes', () => {
    const { elements, errors } = run([
      HEADER,
      "<message id='1'><bo",
      'dy>hi &amp; bye</body></message>',
      '<presence/>',
    ]);
    expect(errors).toEqual([]);
    expect(elements.map((e) => e.name)).toEqual(['message', 'presence']);
    expect(elements[0]?.getChildText('body')).toBe('hi & bye');
  });

  it('turns an undeclared entity into one error event instead of a throw, and stops parsing', () => {
    const { elements, errors } = run([HEADER, '<message><body>&lol;</body></message>', '<presence/>']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(StanzaLimitError);
    expect((errors[0] as StanzaLimitError).code).toBe('not_well_formed');
    expect(elements).toEqual([]);
  });

  it('refuses a stanza larger than the limit, even one that never ends', () => {
    const big = run([HEADER, '<message><body>', 'x'.repeat(600), 'y'.repeat(600)]);
    expect(big.errors.map((e) => (e as StanzaLimitError).code)).toEqual(['stanza_too_large']);
    // Many small stanzas in a row are fine: the count restarts at each stanza.
    const many = run([
      HEADER,
      ...Array.from({ length: 50 }, (_, i) => `<message id='${i}'><body>${'z'.repeat(100)}</body></message>`),
    ]);
    expect(many.errors).toEqual([]);
    expect(many.elements).toHaveLength(50);
  });

  it('refuses a large stanza that arrives in one chunk after a small one (chunking does not matter)', () => {
    const { errors, elements } = run([
      HEADER + '<presence/><message><body>' + 'x'.repeat(1500) + '</body></message><presence/>',
    ]);
    expect(errors.map((e) => (e as StanzaLimitError).code)).toEqual(['stanza_too_large']);
    expect(elements.map((e) => e.name)).toEqual(['presence']);
  });

  it('refuses a DTD (an entity-expansion bomb), even split across writes, but not comments or CDATA', () => {
    const bomb = run([
      HEADER,
      "<!DOCTYPE lolz [<!ENTITY lol 'lol'><!ENTITY lol2 '&lol;&lol;'>]>",
      '<message><body>&lol2;</body></message>',
    ]);
    expect(bomb.errors.map((e) => (e as StanzaLimitError).code)).toEqual(['not_well_formed']);
    expect(bomb.errors[0]?.message).toMatch(/DTD/);
    const split = run([HEADER, '<presence/><', '!', 'ENTITY x SYSTEM "file:///etc/passwd">']);
    expect(split.errors.map((e) => (e as StanzaLimitError).code)).toEqual(['not_well_formed']);
    expect(split.elements.map((e) => e.name)).toEqual(['presence']);
    const fine = run([HEADER, '<message><!-- c --><body><![CDATA[a<b]]></body></message>']);
    expect(fine.errors).toEqual([]);
    expect(fine.elements).toHaveLength(1);
  });

  it('drops a stanza nested deeper than the limit, and only that stanza', () => {
    const { errors, elements, skipped } = run([
      HEADER,
      '<message><body>x</body>' + '<a>text'.repeat(20) + '</a>'.repeat(20) + '</message>',
      "<message id='next'><body>fine</body></message>",
    ]);
    expect(errors).toEqual([]);
    expect(elements.map((e) => e.attrs.id)).toEqual(['next']);
    expect(elements[0]?.getChildText('body')).toBe('fine');
    expect(skipped.map((e) => e.code)).toEqual(['too_deep']);
  });

  it('reports a mismatched end tag once', () => {
    const { errors } = run([HEADER, '<message><body>x</bdy></message><presence/>']);
    expect(errors).toHaveLength(1);
  });

  it("ignores unknown namespaces (they are the mapper's business, not an error)", () => {
    const { errors, elements } = run([
      HEADER,
      "<message><weird xmlns='urn:example:unknown'><deep/></weird></message>",
    ]);
    expect(errors).toEqual([]);
    expect(elements).toHaveLength(1);
  });
});
