import { aorOf, parseRegistrar, sipOptionsSchema } from './sip.options';

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
