/**
 * What the gateway accepts to serve from a bridged file, decided from its bytes where the type can be
 * told from them (images), never from the sender's word alone. Pure: table-tested in media-check.spec.ts.
 */

/** Image types a browser renders, by their magic bytes. SVG is absent: it is a document that runs script. */
const IMAGE_SIGNATURES: readonly { type: string; test: (b: Uint8Array) => boolean }[] = [
  { type: 'image/png', test: (b) => startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) },
  { type: 'image/jpeg', test: (b) => startsWith(b, [0xff, 0xd8, 0xff]) },
  { type: 'image/gif', test: (b) => ascii(b, 0, 'GIF87a') || ascii(b, 0, 'GIF89a') },
  { type: 'image/webp', test: (b) => ascii(b, 0, 'RIFF') && ascii(b, 8, 'WEBP') },
];

function startsWith(b: Uint8Array, sig: readonly number[]): boolean {
  return b.length >= sig.length && sig.every((x, i) => b[i] === x);
}

function ascii(b: Uint8Array, at: number, s: string): boolean {
  if (b.length < at + s.length) return false;
  for (let i = 0; i < s.length; i++) if (b[at + i] !== s.charCodeAt(i)) return false;
  return true;
}

/** The image type the bytes are, or undefined. */
export function sniffImage(data: Uint8Array): string | undefined {
  return IMAGE_SIGNATURES.find((s) => s.test(data))?.type;
}

/** `type/subtype` in lower case without parameters, or undefined when it is not one. */
export function essence(mimeType: string | undefined): string | undefined {
  const e = (mimeType ?? '').split(';')[0]!.trim().toLowerCase();
  return /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/.test(e) ? e : undefined;
}

export type MediaVerdict = { ok: true; mimeType: string } | { ok: false; reason: string; mimeType: string };

/**
 * Whether a file may be served, and as what: images by their bytes (a declared image that is not one is
 * refused, and bytes that are an image are served as that image whatever was declared), audio and video
 * as declared, PDF when it starts like one, plain text when it is UTF-8 without NULs. Anything else is
 * refused: HTML, SVG, scripts and executables must not be served from the gateway's origin.
 */
export function checkMedia(declared: string | undefined, data: Uint8Array): MediaVerdict {
  const type = essence(declared) ?? 'application/octet-stream';
  const image = sniffImage(data);
  if (image) return { ok: true, mimeType: image };
  if (type.startsWith('image/')) return { ok: false, reason: 'not an image', mimeType: type };
  if (type.startsWith('audio/') || type.startsWith('video/')) return { ok: true, mimeType: type };
  if (type === 'application/pdf')
    return ascii(data, 0, '%PDF-')
      ? { ok: true, mimeType: type }
      : { ok: false, reason: 'not a PDF', mimeType: type };
  if (type === 'text/plain')
    return isUtf8Text(data)
      ? { ok: true, mimeType: 'text/plain; charset=utf-8' }
      : { ok: false, reason: 'not text', mimeType: type };
  return { ok: false, reason: 'type not allowed', mimeType: type };
}

function isUtf8Text(data: Uint8Array): boolean {
  if (data.includes(0)) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(data);
    return true;
  } catch {
    return false;
  }
}

/** Shown inline by browsers (and in a sandbox); everything else is a download. */
export function isInlineType(mimeType: string): boolean {
  return /^(image|audio|video)\//.test(mimeType);
}

/** "image", "audio", "video" or "file": the word a relay uses for it. */
export function mediaKind(mimeType: string): 'image' | 'audio' | 'video' | 'file' {
  const top = mimeType.split('/')[0];
  return top === 'image' || top === 'audio' || top === 'video' ? top : 'file';
}

/** 1.5 MB, 300 KB, 12 bytes. */
export function formatSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} bytes`;
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(bytes < 10_000 ? 1 : 0)} KB`;
  return `${(bytes / 1_000_000).toFixed(bytes < 10_000_000 ? 1 : 0)} MB`;
}

/**
 * A file name safe to show in one line and to put in a URL path and a Content-Disposition header:
 * no path, no control characters, at most 100 characters, never empty.
 */
export function safeFileName(name: string): string {
  const base = name.split(/[/\\]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  const clean = base.replace(/[\u0000-\u001f\u007f"]+/g, '').trim();
  const cut = [...clean].slice(0, 100).join('');
  return cut === '' || cut === '.' || cut === '..' ? 'file' : cut;
}

/** What a relay says about a file: "[image: cat.png]", or why it was not relayed. */
export function mediaLabel(
  file: { name: string; mimeType: string; size?: number },
  notRelayed?: string,
): string {
  const name = safeFileName(file.name);
  if (notRelayed === undefined) return `[${mediaKind(file.mimeType)}: ${name}]`;
  const size = file.size !== undefined ? `, ${formatSize(file.size)}` : '';
  return `[file: ${name}, ${essence(file.mimeType) ?? 'unknown type'}${size} — not relayed: ${notRelayed}]`;
}

/** The gateway URL of a stored file. */
export function mediaUrl(publicUrl: string, id: string, name: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/media/${encodeURIComponent(id)}/${encodeURIComponent(safeFileName(name))}`;
}

/** Content-Disposition with an RFC 6266/5987 file name. */
export function contentDisposition(mimeType: string, name: string): string {
  const safe = safeFileName(name);
  const fallback = safe.replace(/[^\x20-\x7e]|[\\%]/g, '_');
  return `${isInlineType(mimeType) ? 'inline' : 'attachment'}; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(safe)}`;
}
