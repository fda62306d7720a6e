import { aorOf, parseRegistrar, sipLoginKey, sipOptionsSchema } from './sip.options';

describe('sip options', () => {
  it('accepts the documented shape and fills defaults', () => {
    const r = sipOptionsSchema.parse({
      registrar: '127.0.0.1:5070',
      uri: 'sip:gw@sip.test',
      username: 'gw',
      password: 'x',
    });
    expect(r).toMatchObject({ transport: 'udp', localAddress: '127.0.0.1', expires: 300 });
  });
  it.each([
    [{ registrar: 'a b', uri: 'sip:gw@sip.test', username: 'gw', password: 'x' }, 'registrar'],
    [{ registrar: 'h', uri: 'gw@sip.test', username: 'gw', password: 'x' }, 'uri'],
    [{ registrar: 'h', uri: 'sip:gw@sip.test', username: 'gw', password: 'x', transport: 'ws' }, 'transport'],
  ])('refuses %j naming %s', (input, field) => {
    const r = sipOptionsSchema.safeParse(input);
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path[0]).toBe(field);
  });
  it('parses registrars and AORs', () => {
    expect(parseRegistrar('sip:pbx.example:5080')).toEqual({ host: 'pbx.example', port: 5080 });
    expect(parseRegistrar('pbx.example')).toEqual({ host: 'pbx.example', port: 5060 });
    expect(aorOf('"Bob" <sip:bob@Sip.Test:5060;transport=udp>')).toBe('sip:bob@sip.test');
    expect(aorOf('sip:bob@sip.test')).toBe('sip:bob@sip.test');
  });
});

describe('SIP login key', () => {
  const key = (o: Record<string, unknown>) =>
    sipLoginKey(
      sipOptionsSchema.parse({ registrar: 'sip.example.org', username: 'alice', password: 'pw', ...o }),
    );

  it('is the address of record at the registrar, scheme and hosts case-folded', () => {
    expect(key({ uri: 'sip:alice@Example.org' })).toBe('sip:alice@example.org at sip.example.org:5060');
    expect(key({ uri: 'SIP:alice@example.org', registrar: 'sip:SIP.example.org:5060' })).toBe(
      key({ uri: 'sip:alice@example.org' }),
    );
  });

  it('differs for another user (user parts are case-sensitive) or registrar', () => {
    expect(key({ uri: 'sip:Alice@example.org' })).not.toBe(key({ uri: 'sip:alice@example.org' }));
    expect(key({ uri: 'sip:alice@example.org', registrar: '127.0.0.1:5070' })).not.toBe(
      key({ uri: 'sip:alice@example.org' }),
    );
  });
});
