import { xmppLoginKey, xmppOptionsSchema } from './xmpp.options';

describe('XMPP login key', () => {
  const key = (o: Record<string, unknown>) => xmppLoginKey(xmppOptionsSchema.parse({ password: 'pw', ...o }));

  it('is the bare JID, case-folded, at the server it connects to', () => {
    expect(key({ jid: 'Alice@Example.ORG' })).toBe('alice@example.org at example.org:5222');
    expect(key({ jid: 'alice@example.org', service: 'xmpp://example.org:5222' })).toBe(
      key({ jid: 'ALICE@example.org' }),
    );
    expect(key({ jid: 'alice@example.org', host: '127.0.0.1', port: 15222 })).toBe(
      'alice@example.org at 127.0.0.1:15222',
    );
  });

  it('ignores the resource: two sessions of one JID are one login', () => {
    expect(key({ jid: 'alice@example.org', resource: 'phone' })).toBe(
      key({ jid: 'alice@example.org', resource: 'laptop' }),
    );
    expect(key({ jid: 'bob@example.org' })).not.toBe(key({ jid: 'alice@example.org' }));
  });
});
