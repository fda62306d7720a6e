import { renderRelay } from '../core/bridge-format';
import {
  checkMedia,
  contentDisposition,
  formatSize,
  mediaLabel,
  mediaUrl,
  safeFileName,
  sniffImage,
} from './media-check';

const bytes = (...b: number[]) => new Uint8Array(b);
const text = (s: string) => new TextEncoder().encode(s);
const PNG = bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13);
const JPEG = bytes(0xff, 0xd8, 0xff, 0xe0, 0, 16);
const WEBP = text('RIFF\u0000\u0000\u0000\u0000WEBPVP8 ');

describe('sniffImage', () => {
  it.each([
    ['png', PNG, 'image/png'],
    ['jpeg', JPEG, 'image/jpeg'],
    ['gif87', text('GIF87a....'), 'image/gif'],
    ['gif89', text('GIF89a....'), 'image/gif'],
    ['webp', WEBP, 'image/webp'],
    ['svg', text('<svg xmlns="http://www.w3.org/2000/svg"/>'), undefined],
    ['html', text('<html><script>alert(1)</script>'), undefined],
    ['short png prefix', bytes(0x89, 0x50), undefined],
    ['empty', bytes(), undefined],
  ])('%s', (_, data, expected) => expect(sniffImage(data)).toBe(expected));
});

describe('checkMedia', () => {
  it.each([
    ['a PNG declared as PNG', 'image/png', PNG, { ok: true, mimeType: 'image/png' }],
    ['a PNG declared as JPEG is served as PNG', 'image/jpeg', PNG, { ok: true, mimeType: 'image/png' }],
    ['a PNG declared as octet-stream', 'application/octet-stream', PNG, { ok: true, mimeType: 'image/png' }],
    [
      'HTML declared as PNG',
      'image/png',
      text('<html>'),
      { ok: false, reason: 'not an image', mimeType: 'image/png' },
    ],
    [
      'SVG',
      'image/svg+xml',
      text('<svg/>'),
      { ok: false, reason: 'not an image', mimeType: 'image/svg+xml' },
    ],
    [
      'HTML',
      'text/html; charset=utf-8',
      text('<p>hi'),
      { ok: false, reason: 'type not allowed', mimeType: 'text/html' },
    ],
    ['audio', 'audio/ogg', text('OggS'), { ok: true, mimeType: 'audio/ogg' }],
    ['video', 'Video/MP4', bytes(0, 0, 0, 0x18), { ok: true, mimeType: 'video/mp4' }],
    ['a PDF', 'application/pdf', text('%PDF-1.7\n'), { ok: true, mimeType: 'application/pdf' }],
    [
      'HTML declared as PDF',
      'application/pdf',
      text('<html>'),
      { ok: false, reason: 'not a PDF', mimeType: 'application/pdf' },
    ],
    ['UTF-8 text', 'text/plain', text('héllo'), { ok: true, mimeType: 'text/plain; charset=utf-8' }],
    [
      'binary declared as text',
      'text/plain',
      bytes(0x4d, 0x5a, 0, 1),
      { ok: false, reason: 'not text', mimeType: 'text/plain' },
    ],
    [
      'an executable',
      'application/x-msdownload',
      bytes(0x4d, 0x5a),
      { ok: false, reason: 'type not allowed', mimeType: 'application/x-msdownload' },
    ],
    [
      'no type at all',
      undefined,
      text('??'),
      { ok: false, reason: 'type not allowed', mimeType: 'application/octet-stream' },
    ],
    [
      'a malformed type',
      'image/png<script>',
      text('x'),
      { ok: false, reason: 'type not allowed', mimeType: 'application/octet-stream' },
    ],
  ])('%s', (_, declared, data, expected) => expect(checkMedia(declared, data)).toEqual(expected));
});

describe('names, labels and links', () => {
  it('file names lose paths, control characters and quotes, and are never empty', () => {
    expect(safeFileName('../../etc/passwd')).toBe('passwd');
    expect(safeFileName('a\r\nb"c.png')).toBe('abc.png');
    expect(safeFileName('..')).toBe('file');
    expect(safeFileName('')).toBe('file');
    expect([...safeFileName('x'.repeat(300))]).toHaveLength(100);
  });

  it('sizes read like people write them', () => {
    expect(formatSize(12)).toBe('12 bytes');
    expect(formatSize(1500)).toBe('1.5 KB');
    expect(formatSize(300_000)).toBe('300 KB');
    expect(formatSize(25_000_000)).toBe('25 MB');
  });

  it('labels say what the file is, or why it was not relayed', () => {
    expect(mediaLabel({ name: 'cat.png', mimeType: 'image/png' })).toBe('[image: cat.png]');
    expect(mediaLabel({ name: 'a.pdf', mimeType: 'application/pdf' })).toBe('[file: a.pdf]');
    expect(
      mediaLabel({ name: 'big.mp4', mimeType: 'video/mp4', size: 30_000_000 }, 'larger than 21 MB'),
    ).toBe('[file: big.mp4, video/mp4, 30 MB — not relayed: larger than 21 MB]');
  });

  it('links are absolute under publicUrl with the name encoded', () => {
    expect(mediaUrl('https://gw.example/', 'AbC_-1', 'my cat?.png')).toBe(
      'https://gw.example/media/AbC_-1/my%20cat%3F.png',
    );
  });

  it('only images, audio and video are inline; names are quoted safely', () => {
    expect(contentDisposition('image/png', 'cat.png')).toBe(
      `inline; filename="cat.png"; filename*=UTF-8''cat.png`,
    );
    expect(contentDisposition('application/pdf', 'ré%sumé.pdf')).toBe(
      `attachment; filename="r__sum_.pdf"; filename*=UTF-8''r%C3%A9%25sum%C3%A9.pdf`,
    );
  });

  it('a relay shows each file as its label and link (IRC plain, Matrix HTML)', () => {
    const source = {
      nick: 'alice',
      text: '',
      kind: 'text' as const,
      network: 'matrix',
      attachments: [
        { name: 'cat.png', label: '[image: cat.png]', url: 'https://gw.example/media/id/cat.png' },
        {
          name: 'x.exe',
          label: '[file: x.exe, application/x-msdownload — not relayed: type not allowed]',
          url: '',
        },
      ],
    };
    expect(renderRelay(source, 'irc').text).toBe(
      '<alice> [image: cat.png] https://gw.example/media/id/cat.png [file: x.exe, application/x-msdownload — not relayed: type not allowed]',
    );
    expect(renderRelay(source, 'matrix').html).toBe(
      '<strong>alice</strong>: [image: cat.png] <a href="https://gw.example/media/id/cat.png">https://gw.example/media/id/cat.png</a> ' +
        '[file: x.exe, application/x-msdownload — not relayed: type not allowed]',
    );
    // Without publicUrl: the label alone.
    expect(
      renderRelay(
        { ...source, attachments: [{ name: 'cat.png', label: '[image: cat.png]', url: '' }] },
        'irc',
      ).text,
    ).toBe('<alice> [image: cat.png]');
  });
});
