/** The part of irc-framework (4.x, untyped CommonJS) this adapter uses. */
declare module 'irc-framework' {
  export interface IrcTags {
    [key: string]: string | undefined;
  }
  export interface IrcEventBase {
    nick?: string;
    ident?: string;
    hostname?: string;
    tags?: IrcTags;
    time?: number;
  }
  export interface IrcMessageEvent extends IrcEventBase {
    target: string;
    message: string;
    from_server?: boolean;
    /** Set when the line came inside a BATCH (irc-framework delivers a batch's lines at its end). */
    batch?: { id: string; type: string; params: string[] };
  }
  export interface IrcClientOptions {
    host: string;
    port: number;
    tls?: boolean;
    rejectUnauthorized?: boolean;
    nick: string;
    username?: string;
    gecos?: string;
    password?: string;
    account?: { account?: string; password?: string };
    sasl_mechanism?: string;
    client_certificate?: { certificate: string; private_key: string };
    auto_reconnect?: boolean;
    ping_interval?: number;
    ping_timeout?: number;
    enable_echomessage?: boolean;
    enable_chghost?: boolean;
    sasl_disconnect_on_fail?: boolean;
    message_max_length?: number;
    version?: string | null;
  }
  export interface NetworkInfo {
    cap: { isEnabled(cap: string): boolean; enabled: string[]; available: Map<string, string> };
    supports(name: string): string | boolean | undefined;
    options: Record<string, unknown>;
  }
  export class Client {
    constructor(options?: Partial<IrcClientOptions>);
    connect(options?: IrcClientOptions): void;
    requestCap(cap: string | string[]): void;
    on(event: string, fn: (event: never) => void): this;
    off(event: string, fn?: (...args: never[]) => void): this;
    removeAllListeners(event?: string): this;
    raw(line: string): void;
    quit(message?: string): void;
    readonly connected: boolean;
    user: { nick: string; username?: string; host?: string };
    network: NetworkInfo;
    connection: {
      connected: boolean;
      end(data?: string, hadError?: boolean): void;
      transport: {
        disposeSocket?(): void;
        socket?: { setNoDelay?(noDelay?: boolean): unknown } | null;
      } | null;
      write(data: string, cb?: () => void): unknown;
    };
  }
}
