import xml from '@xmpp/xml';
import { NS_UPLOAD, parseSlot, slotRequest, uploadServiceOf } from './xmpp-upload';

const form = (fields: Record<string, string>) =>
  xml(
    'x',
    { xmlns: 'jabber:x:data', type: 'result' },
    ...Object.entries(fields).map(([k, v]) => xml('field', { var: k }, xml('value', {}, v))),
  );

const slot = (put: string, get: string, headers: [string, string][] = []) =>
  xml(
    'iq',
    { type: 'result' },
    xml(
      'slot',
      { xmlns: NS_UPLOAD },
      xml('put', { url: put }, ...headers.map(([n, v]) => xml('header', { name: n }, v))),
      xml('get', { url: get }),
    ),
  );

describe('XEP-0363 upload rules', () => {
  it('recognises an upload service by its feature and reads max-file-size from its form', () => {
    const info = xml(
      'query',
      {},
      xml('feature', { var: NS_UPLOAD }),
      form({ FORM_TYPE: NS_UPLOAD, 'max-file-size': '1048576' }),
    );
    expect(uploadServiceOf('upload.example.org', info)).toEqual({
      jid: 'upload.example.org',
      maxBytes: 1048576,
    });
    expect(uploadServiceOf('u', xml('query', {}, xml('feature', { var: NS_UPLOAD })))).toEqual({ jid: 'u' });
    expect(
      uploadServiceOf('muc', xml('query', {}, xml('feature', { var: 'http://jabber.org/protocol/muc' }))),
    ).toBe(undefined);
    // A form of another type, or a nonsense limit, is no limit.
    const other = xml(
      'query',
      {},
      xml('feature', { var: NS_UPLOAD }),
      form({ FORM_TYPE: 'x', 'max-file-size': '5' }),
    );
    expect(uploadServiceOf('u', other)).toEqual({ jid: 'u' });
  });

  it('asks for a slot with the name, size and type', () => {
    expect(slotRequest({ name: 'a b.png', mimeType: 'image/png', size: 12 }).attrs).toEqual({
      xmlns: NS_UPLOAD,
      filename: 'a b.png',
      size: '12',
      'content-type': 'image/png',
    });
  });

  it('keeps only the headers the XEP allows, and refuses non-https URLs and header injection', () => {
    const ok = parseSlot(
      slot('https://up.example.org/p/1/a.png', 'https://up.example.org/g/1/a.png', [
        ['Authorization', 'Basic x'],
        ['Cookie', 'c=1'],
        ['Expires', 'soon'],
        ['Host', 'evil.example'],
        ['X-Anything', '1'],
      ]),
    );
    expect(ok).toEqual({
      put: 'https://up.example.org/p/1/a.png',
      get: 'https://up.example.org/g/1/a.png',
      headers: { authorization: 'Basic x', cookie: 'c=1', expires: 'soon' },
    });
    expect(() => parseSlot(slot('http://up.example.org/p', 'https://up.example.org/g'))).toThrow(
      /not an https URL/,
    );
    expect(() => parseSlot(slot('https://up.example.org/p', 'file:///etc/passwd'))).toThrow(
      /not an https URL/,
    );
    expect(() =>
      parseSlot(slot('https://u.example/p', 'https://u.example/g', [['Cookie', 'a=1\r\nHost: evil']])),
    ).toThrow(/bad header/);
    expect(() => parseSlot(xml('iq', { type: 'result' }))).toThrow(/no slot/);
  });
});
