import { startInspircd, type InspircdServer } from '../support/inspircd';
import { RawIrcClient } from './raw-irc-client';

describe('the InspIRCd test harness', () => {
  let server: InspircdServer;
  const clients: RawIrcClient[] = [];

  beforeAll(async () => {
    server = await startInspircd({ tls: true, password: 'letmein' });
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server?.stop();
  });

  it('runs InspIRCd 3 and offers the IRCv3 capabilities the adapter uses', async () => {
    expect(server.version).toMatch(/InspIRCd-3\./);
    const c = await RawIrcClient.connect(server.host, server.port);
    clients.push(c);
    c.send('CAP LS 302');
    const ls = await c.waitFor(/ CAP \* LS /);
    for (const cap of [
      'server-time',
      'message-tags',
      'echo-message',
      'away-notify',
      'account-notify',
      'extended-join',
      'multi-prefix',
      'chghost',
      'batch',
      'labeled-response',
      'cap-notify',
    ])
      expect(ls.split(/[ :]/)).toContain(cap);
    c.send('PASS letmein');
    c.send('NICK harness1');
    c.send('USER h 0 * :h');
    c.send('CAP END');
    const isupport = await c.waitFor(/ 005 harness1 .*MONITOR=/);
    expect(isupport).toMatch(/MONITOR=\d+/);
  });

  it('serves TLS with its self-signed certificate', async () => {
    const c = await RawIrcClient.register(server.host, server.tlsPort!, 'harnessTls', {
      tls: true,
      ca: server.tlsCert!,
      password: 'letmein',
    });
    clients.push(c);
    expect(c.lines.some((l) => / 001 harnessTls /.test(l))).toBe(true);
  });

  it('refuses a client without the server password', async () => {
    const c = await RawIrcClient.connect(server.host, server.port);
    clients.push(c);
    c.send('PASS wrong');
    c.send('NICK harness2');
    c.send('USER h 0 * :h');
    await c.waitFor(/^ERROR /);
    await c.closedPromise;
    expect(c.lines.some((l) => / 001 /.test(l))).toBe(false);
  });

  it('restarts on the same port after a kill', async () => {
    const c = await RawIrcClient.register(server.host, server.port, 'harness3', { password: 'letmein' });
    await server.restart({ kill: true });
    await c.closedPromise;
    const d = await RawIrcClient.register(server.host, server.port, 'harness3', { password: 'letmein' });
    clients.push(d);
  });
});
