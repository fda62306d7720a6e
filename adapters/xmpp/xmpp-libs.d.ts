/**
 * The small part of the @xmpp/* 0.13 packages (CommonJS, untyped) this adapter uses. Kept narrow on
 * purpose: everything the adapter touches is typed here, nothing else is assumed.
 */
declare module '@xmpp/xml' {
  import { EventEmitter } from 'node:events';

  type XmlChild = xml.Element | string | number | undefined | null | false;
  function xml(
    name: string,
    attrs?: Record<string, string | number | undefined> | null,
    ...children: (XmlChild | XmlChild[])[]
  ): xml.Element;
  namespace xml {
    class Element {
      constructor(name: string, attrs?: Record<string, string | undefined>);
      name: string;
      attrs: Record<string, string | undefined>;
      children: (Element | string)[];
      parent: Element | null;
      is(name: string, xmlns?: string): boolean;
      getName(): string;
      getNS(): string | undefined;
      getChild(name: string, xmlns?: string): Element | undefined;
      getChildren(name: string, xmlns?: string): Element[];
      getChildElements(): Element[];
      getChildText(name: string, xmlns?: string): string | null;
      getChildByAttr(attr: string, value: string, xmlns?: string, recursive?: boolean): Element | undefined;
      text(): string;
      append(...children: (Element | string)[]): Element;
      toString(): string;
    }
    class Parser extends EventEmitter {
      root: Element | null;
      cursor: Element | null;
      onStartElement(name: string, attrs: Record<string, string>): void;
      onEndElement(name: string): void;
      onText(str: string): void;
      write(data: string): void;
      end(data?: string): void;
    }
  }
  export = xml;
}

declare module '@xmpp/connection' {
  import { EventEmitter } from 'node:events';
  import type xml from '@xmpp/xml';

  class Connection extends EventEmitter {
    constructor(options?: Record<string, unknown>);
    jid: { toString(): string; bare(): { toString(): string }; resource: string } | null;
    status: string;
    timeout: number;
    options: { domain: string; service: string; lang?: string };
    socket: (EventEmitter & { write(data: string, cb: (err?: Error) => void): void; end(): void }) | null;
    parser: xml.Parser | null;
    root: xml.Element | null;
    start(): Promise<unknown>;
    stop(): Promise<unknown>;
    disconnect(timeout?: number): Promise<void>;
    send(element: xml.Element): Promise<void>;
    sendReceive(element: xml.Element, timeout?: number): Promise<xml.Element>;
    restart(): Promise<void>;
    write(s: string): Promise<void>;
    _attachSocket(socket: unknown): void;
    _onData(data: Buffer | string): void;
    _status(status: string, ...args: unknown[]): void;
    _end(): Promise<unknown>;
    socketParameters(service: string): unknown;
  }
  export = Connection;
}

declare module '@xmpp/connection-tcp' {
  import Connection from '@xmpp/connection';
  class ConnectionTCP extends Connection {
    Socket: unknown;
    Parser: unknown;
  }
  export = ConnectionTCP;
}

declare module '@xmpp/tls/lib/Socket' {
  import { EventEmitter } from 'node:events';
  import type { TLSSocket } from 'node:tls';
  class Socket extends EventEmitter {
    socket?: TLSSocket;
    connect(options: import('node:tls').ConnectionOptions): void;
  }
  export = Socket;
}

declare module '@xmpp/client-core' {
  import Connection from '@xmpp/connection';
  export class Client extends Connection {
    transports: unknown[];
  }
}

declare module '@xmpp/middleware' {
  import type Connection from '@xmpp/connection';
  import type xml from '@xmpp/xml';
  export interface IncomingContext {
    stanza: xml.Element;
    entity: Connection;
    element?: xml.Element;
    from: { toString(): string } | null;
  }
  export type Handler = (ctx: IncomingContext, next: () => Promise<unknown>) => unknown;
  export interface Middleware {
    use(fn: Handler): Handler;
    filter(fn: Handler): Handler;
  }
  function middleware(deps: { entity: Connection }): Middleware;
  export default middleware;
}

declare module '@xmpp/stream-features' {
  import type { Handler, IncomingContext, Middleware } from '@xmpp/middleware';
  import type xml from '@xmpp/xml';
  export interface StreamFeatures {
    use(
      name: string,
      xmlns: string,
      handler: (ctx: IncomingContext, next: () => Promise<unknown>, feature: xml.Element) => unknown,
    ): Handler;
  }
  function streamFeatures(deps: { middleware: Middleware }): StreamFeatures;
  export default streamFeatures;
}

declare module '@xmpp/iq/caller' {
  import type Connection from '@xmpp/connection';
  import type { Middleware } from '@xmpp/middleware';
  import type xml from '@xmpp/xml';
  export interface IqCaller {
    /** Pending requests by id (internal to @xmpp/iq; used to fail them when the connection is gone). */
    handlers: Map<string, { promise: Promise<unknown>; reject(e: Error): void }>;
    request(stanza: xml.Element, timeout?: number): Promise<xml.Element>;
    get(element: xml.Element, to?: string, timeout?: number): Promise<xml.Element | undefined>;
    set(element: xml.Element, to?: string, timeout?: number): Promise<xml.Element | undefined>;
  }
  function iqCaller(deps: { middleware: Middleware; entity: Connection }): IqCaller;
  export default iqCaller;
}

declare module '@xmpp/iq/callee' {
  import type Connection from '@xmpp/connection';
  import type { IncomingContext, Middleware } from '@xmpp/middleware';
  import type xml from '@xmpp/xml';
  export interface IqCallee {
    get(
      ns: string,
      name: string,
      handler: (ctx: IncomingContext) => xml.Element | Promise<xml.Element | true> | true,
    ): void;
    set(
      ns: string,
      name: string,
      handler: (ctx: IncomingContext) => xml.Element | Promise<xml.Element | true> | true,
    ): void;
  }
  function iqCallee(deps: { middleware: Middleware; entity: Connection }): IqCallee;
  export default iqCallee;
}

declare module '@xmpp/sasl' {
  import type { StreamFeatures } from '@xmpp/stream-features';
  export interface Sasl {
    use(name: string, mechanism: unknown): void;
  }
  function sasl(
    deps: { streamFeatures: StreamFeatures },
    credentials: { username: string; password: string },
  ): Sasl;
  export default sasl;
}

declare module '@xmpp/resource-binding' {
  import type { IqCaller } from '@xmpp/iq/caller';
  import type { StreamFeatures } from '@xmpp/stream-features';
  function resourceBinding(
    deps: { iqCaller: IqCaller; streamFeatures: StreamFeatures },
    resource?: string,
  ): void;
  export default resourceBinding;
}

declare module '@xmpp/session-establishment' {
  import type { IqCaller } from '@xmpp/iq/caller';
  import type { StreamFeatures } from '@xmpp/stream-features';
  function sessionEstablishment(deps: { iqCaller: IqCaller; streamFeatures: StreamFeatures }): void;
  export default sessionEstablishment;
}
