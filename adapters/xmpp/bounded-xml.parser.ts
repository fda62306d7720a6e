import xml from '@xmpp/xml';

export interface ParserLimits {
  /** Most bytes (UTF-16 code units, close enough) one top-level stanza may take, text between stanzas included. */
  maxStanzaBytes: number;
  /** Deepest nesting inside the stream (the stream root is depth 1). */
  maxDepth: number;
  /**
   * Told of a stanza dropped for nesting deeper than `maxDepth`. Anyone can send such a message through
   * the server, so it costs that stanza only, not the connection (which would let anyone force reconnects).
   */
  onSkipped?: (error: StanzaLimitError) => void;
}

export class StanzaLimitError extends Error {
  constructor(
    message: string,
    readonly code: 'stanza_too_large' | 'too_deep' | 'not_well_formed',
  ) {
    super(message);
    this.name = 'StanzaLimitError';
  }
}

/**
 * The stream parser @xmpp/xml provides (ltx) has no size limit (a never-ending text node grows its buffer
 * forever) and throws out of `write()` on an undeclared entity, which would escape the socket's data
 * handler. This one counts bytes and depth, turns every throw into an `error` event, and goes quiet after
 * the first error so that the connection closes the stream instead of crashing.
 */
export function boundedParser(limits: ParserLimits): new () => xml.Parser {
  return class BoundedParser extends xml.Parser {
    private depth = 0;
    /** Inside a stanza that went too deep: nothing of it is built, up to its end tag. */
    private skipping = false;
    private bytes = 0;
    /** Text and attribute characters of the current stanza: exact, whatever the network's chunking. */
    private content = 0;
    private failed = false;
    /** The end of the previous write, so that a `<!` split across writes is still seen. */
    private tail = '';

    constructor() {
      super();
      // The base parser reports a mismatched end tag itself; after any error, nothing more is parsed.
      this.on('error', () => {
        this.failed = true;
      });
    }

    override onStartElement(name: string, attrs: Record<string, string>): void {
      if (this.failed) return;
      this.depth += 1;
      if (this.depth > 1) {
        this.content += name.length;
        for (const [k, v] of Object.entries(attrs)) this.content += k.length + v.length;
        if (this.tooLarge()) return;
      }
      if (this.skipping) return;
      if (this.depth > limits.maxDepth) {
        const error = new StanzaLimitError(`element nesting deeper than ${limits.maxDepth}`, 'too_deep');
        // The stream's own elements (depth 1-2) going that deep cannot happen below the schema's minimum.
        if (this.depth <= 2) return this.fail(error);
        this.skipping = true;
        limits.onSkipped?.(error);
        return;
      }
      super.onStartElement(name, attrs);
    }

    private tooLarge(): boolean {
      if (this.content <= limits.maxStanzaBytes) return false;
      this.fail(
        new StanzaLimitError(`a stanza larger than ${limits.maxStanzaBytes} bytes`, 'stanza_too_large'),
      );
      return true;
    }

    override onEndElement(name: string): void {
      if (this.failed) return;
      this.depth -= 1;
      if (this.skipping) {
        if (this.depth > 1) return;
        // The skipped stanza ends: drop what was built of it and go on with the next one.
        this.skipping = false;
        const self = this as unknown as { cursor: unknown; root: unknown };
        self.cursor = self.root;
        this.bytes = 0;
        this.content = 0;
        return;
      }
      super.onEndElement(name);
      // Back at the stream's level: one stanza is complete.
      if (this.depth <= 1) {
        this.bytes = 0;
        this.content = 0;
      }
    }

    override onText(str: string): void {
      if (this.failed) return;
      this.content += str.length;
      if (this.tooLarge() || this.skipping) return;
      super.onText(str);
    }

    override write(data: string): void {
      if (this.failed) return;
      // XMPP forbids DTDs (RFC 6120 §11.1). ltx skips `<!DOCTYPE …` as if it were a comment, silently
      // swallowing the stanzas after it: refuse it, as every declaration (`<!ENTITY`, `<!ATTLIST` …).
      const scan = this.tail + data;
      this.tail = scan.slice(-2);
      if (/<!(?!--|\[CDATA\[)[A-Za-z]/.test(scan)) {
        this.fail(
          new StanzaLimitError(
            'the server sent a DTD or an entity declaration, which XMPP forbids (restricted XML)',
            'not_well_formed',
          ),
        );
        return;
      }
      this.bytes += data.length;
      try {
        super.write(data);
      } catch (e) {
        this.fail(
          new StanzaLimitError(
            `the server sent XML that is not well-formed: ${e instanceof Error ? e.message : String(e)}`,
            'not_well_formed',
          ),
        );
        return;
      }
      if (!this.failed && this.bytes > limits.maxStanzaBytes)
        this.fail(
          new StanzaLimitError(`a stanza larger than ${limits.maxStanzaBytes} bytes`, 'stanza_too_large'),
        );
    }

    private fail(error: StanzaLimitError): void {
      if (this.failed) return;
      this.emit('error', error);
    }
  };
}
