import xml from '@xmpp/xml';
import { oobAttachments } from './xmpp-inbound.mapper';
import { buildTextMessage } from './xmpp-outbound.builder';

const oob = (...urls: string[]) =>
  xml(
    'message',
    { type: 'groupchat' },
    xml('body', {}, urls[0] ?? ''),
    ...urls.map((u) => xml('x', { xmlns: 'jabber:x:oob' }, xml('url', {}, u))),
  );

describe('XEP-0066 out-of-band files', () => {
  it('an http(s) OOB URL is an attachment named after its last path segment', () => {
    expect(oobAttachments(oob('https://up.example.org/abc/caf%C3%A9.png'))).toEqual([
      {
        name: 'café.png',
        mimeType: 'application/octet-stream',
        url: 'https://up.example.org/abc/caf%C3%A9.png',
      },
    ]);
  });

  it('other schemes, blanks and repeats are not attachments', () => {
    expect(oobAttachments(oob('javascript:alert(1)', 'file:///etc/passwd', '  '))).toEqual([]);
    expect(oobAttachments(oob('http://a.example/x', 'http://a.example/x'))).toHaveLength(1);
    expect(oobAttachments(xml('message', {}, xml('body', {}, 'http://a.example/x')))).toEqual([]);
  });

  it('an outbound message with file links carries one OOB element per http(s) link', () => {
    const m = buildTextMessage({
      to: 'r@muc',
      type: 'groupchat',
      id: 't',
      text: '[image: cat.png] https://gw.example/media/id/cat.png',
      oob: ['https://gw.example/media/id/cat.png', 'mxc://x/y'],
    });
    const xs = m.getChildren('x', 'jabber:x:oob');
    expect(xs.map((x) => x.getChildText('url'))).toEqual(['https://gw.example/media/id/cat.png']);
  });
});
