/** The parts of the `sip` package (kirm/sip.js, plain CommonJS without types) this adapter uses. */
declare module 'sip' {
  export interface SipUri {
    schema?: string;
    user?: string;
    password?: string;
    host: string;
    port?: number;
    params: Record<string, string | null | undefined>;
    headers?: Record<string, string>;
  }
  export interface NameAddr {
    name?: string;
    uri: string;
    params: Record<string, string | null | undefined>;
  }
  export interface SipHeaders {
    to: NameAddr;
    from: NameAddr;
    'call-id': string;
    cseq: { method: string; seq: number };
    contact?: NameAddr[] | '*';
    via?: { params: Record<string, string | null | undefined>; host?: string; port?: number }[];
    route?: NameAddr[];
    'record-route'?: NameAddr[];
    'content-type'?: string;
    'max-forwards'?: number;
    expires?: number | string;
    [name: string]: unknown;
  }
  export interface SipRequest {
    method: string;
    uri: string;
    version?: string;
    headers: SipHeaders;
    content?: string;
  }
  export interface SipResponse {
    status: number;
    reason: string;
    version?: string;
    headers: SipHeaders;
    content?: string;
  }
  export type SipMessage = SipRequest | SipResponse;
  export interface SipStack {
    send(m: SipRequest, onResponse?: (rs: SipResponse) => void): void;
    send(m: SipResponse): void;
    destroy(): void;
    hostname(): string;
  }
  export interface StackOptions {
    address?: string;
    port?: number;
    publicAddress?: string;
    hostname?: string;
    udp?: boolean;
    tcp?: boolean;
    rport?: boolean;
    logger?: {
      send?(m: SipMessage, target: unknown): void;
      recv?(m: SipMessage, remote: unknown): void;
      error?(e: unknown): void;
    };
  }
  export function create(
    options: StackOptions,
    onRequest: (rq: SipRequest, remote: { protocol: string; address: string; port: number }) => void,
  ): SipStack;
  export function makeResponse(rq: SipRequest, status: number, reason?: string): SipResponse;
  export function parseUri(uri: string): SipUri;
  export function stringifyUri(uri: SipUri): string;
  export function generateBranch(): string;
}

declare module 'sip/digest' {
  import type { SipRequest, SipResponse } from 'sip';
  export interface DigestContext {
    [k: string]: unknown;
  }
  export function signRequest(
    ctx: DigestContext | undefined,
    rq: SipRequest,
    rs: SipResponse,
    creds: { user: string; password: string },
  ): DigestContext | null;
}
