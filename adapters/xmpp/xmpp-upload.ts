import { Agent, request, type RequestOptions } from 'node:https';
import { connect, rootCertificates, type ConnectionOptions } from 'node:tls';
import type { Duplex } from 'node:stream';
import { SendError } from '@switchboard/sdk';
import xml, { type Element } from '@xmpp/xml';
import { NS } from './xmpp.namespaces';
import { normalizeFingerprint, type TlsTrust } from './xmpp-tls.socket';

/** XEP-0363 HTTP File Upload, namespace version 0 (prosody's mod_http_file_share, ejabberd, Openfire). */
export const NS_UPLOAD = 'urn:xmpp:http:upload:0';

/**
 * The id suffix of a file's caption message (sent just before the file, see XmppClient.sendAttachment): its
 * echo maps back to the file's transaction id, so both are recognised as the one send they are.
 */
export const CAPTION_SUFFIX = '#caption';

/** Headers a slot may ask the PUT to carry (XEP-0363 §5): anything else is dropped. */
const ALLOWED_HEADERS = new Set(['authorization', 'cookie', 'expires']);

/** How long one upload may take before it counts as failed (retryable). */
const PUT_TIMEOUT_MS = 120_000;

export interface UploadService {
  jid: string;
  /** The server's `max-file-size` in bytes, when it announces one. */
  maxBytes?: number;
}

export interface UploadSlot {
  put: string;
  headers: Record<string, string>;
  get: string;
}

/** The upload service an entity's disco#info result describes, or undefined when it is not one. */
export function uploadServiceOf(jid: string, info: Element): UploadService | undefined {
  const features = info.getChildren('feature').map((f) => f.attrs.var);
  if (!features.includes(NS_UPLOAD)) return undefined;
  for (const form of info.getChildren('x', NS.dataForms)) {
    const fields = form.getChildren('field');
    const type = fields.find((f) => f.attrs.var === 'FORM_TYPE')?.getChildText('value');
    if (type !== NS_UPLOAD) continue;
    const max = Number(fields.find((f) => f.attrs.var === 'max-file-size')?.getChildText('value'));
    if (Number.isSafeInteger(max) && max > 0) return { jid, maxBytes: max };
  }
  return { jid };
}

/** The slot request (XEP-0363 §4): the file's name, size and type. */
export function slotRequest(file: { name: string; mimeType: string; size: number }): Element {
  return xml('request', {
    xmlns: NS_UPLOAD,
    filename: file.name,
    size: String(file.size),
    'content-type': file.mimeType,
  });
}

/**
 * The slot in a request's result. Both URLs must be https (XEP-0363 §5: "MUST use HTTPS"); headers other
 * than the three the XEP allows are dropped, and values with line breaks refused (header injection).
 */
export function parseSlot(result: Element | undefined): UploadSlot {
  const slot = result?.is('slot', NS_UPLOAD) ? result : result?.getChild('slot', NS_UPLOAD);
  const put = slot?.getChild('put')?.attrs.url;
  const get = slot?.getChild('get')?.attrs.url;
  if (!slot || !put || !get) throw new SendError('the upload service gave no slot', false, 'rejected');
  for (const u of [put, get])
    if (!isHttpsUrl(u)) throw new SendError(`the upload slot is not an https URL: ${u}`, false, 'rejected');
  const headers: Record<string, string> = {};
  for (const h of slot.getChild('put')!.getChildren('header')) {
    const name = String(h.attrs.name ?? '').toLowerCase();
    const value = h.text();
    if (!ALLOWED_HEADERS.has(name)) continue;
    if (/[\r\n]/.test(value)) throw new SendError('the upload slot has a bad header', false, 'rejected');
    headers[name] = value;
  }
  return { put, headers, get };
}

function isHttpsUrl(u: string): boolean {
  try {
    return new URL(u).protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * PUTs the file to the slot over HTTPS with the account's trust: the system CAs plus the certificate the
 * account trusts (PEM), checked against the URL's host as HTTPS does; a pinned fingerprint accepts that
 * one certificate. A 2xx is success; 4xx is final; 5xx, 429 and connection failures are retryable.
 */
export function putFile(
  slot: UploadSlot,
  file: { mimeType: string; data: Uint8Array },
  trust: TlsTrust,
  signal: AbortSignal,
): Promise<void> {
  const url = new URL(slot.put);
  return new Promise<void>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'PUT',
        headers: {
          ...slot.headers,
          'content-type': file.mimeType,
          'content-length': String(file.data.byteLength),
        },
        ...(trust.kind === 'pem' ? { ca: [...rootCertificates, trust.pem] } : {}),
        ...(trust.kind === 'fingerprint' ? { agent: pinnedAgent(trust.sha256) } : {}),
        signal: AbortSignal.any([signal, AbortSignal.timeout(PUT_TIMEOUT_MS)]),
      },
      (res) => {
        res.resume(); // the body says nothing we need
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) return resolve();
        const passing = status >= 500 || status === 429;
        reject(
          new SendError(`the upload failed with HTTP ${status}`, passing, passing ? 'temporary' : 'rejected'),
        );
      },
    );
    req.on('error', (err) =>
      reject(
        err instanceof SendError
          ? err
          : new SendError(`the upload failed: ${err.message}`, true, 'unreachable'),
      ),
    );
    req.end(Buffer.from(file.data.buffer, file.data.byteOffset, file.data.byteLength));
  });
}

/**
 * An agent whose connections are handed to the request only once the server showed the pinned certificate:
 * with a pin there is no CA to verify against, and nothing of the file may be written before the check.
 */
function pinnedAgent(sha256: string): Agent {
  const agent = new Agent({ keepAlive: false });
  agent.createConnection = (options: RequestOptions, done?: (err: Error | null, s: Duplex) => void) => {
    const socket = connect({ ...(options as ConnectionOptions), rejectUnauthorized: false });
    socket.once('secureConnect', () => {
      const seen = normalizeFingerprint(socket.getPeerCertificate().fingerprint256 ?? '');
      if (seen === sha256) return done?.(null, socket);
      socket.destroy();
      done?.(
        new SendError("the upload server's certificate is not the pinned one", false, 'rejected'),
        socket,
      );
    });
    socket.once('error', (err: Error) => done?.(err, socket));
    return undefined;
  };
  return agent;
}
