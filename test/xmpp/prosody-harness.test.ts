import net from 'node:net';
import { startProsody, type ProsodyServer } from '../support/prosody';

describe('the prosody test harness', () => {
  let server: ProsodyServer;
  beforeAll(async () => {
    server = await startProsody();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('starts on loopback, registers users, answers a stream header and restarts', async () => {
    await server.registerUser('alice', 'a-secret');
    const header = async (): Promise<string> =>
      new Promise((resolve, reject) => {
        const s = net.connect(server.port, '127.0.0.1');
        let got = '';
        s.on('data', (d) => {
          got += d.toString();
          if (got.includes('</stream:features>')) {
            s.destroy();
            resolve(got);
          }
        });
        s.on('error', reject);
        s.write(
          `<?xml version='1.0'?><stream:stream to='${server.domain}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`,
        );
      });
    expect(await header()).toContain('urn:ietf:params:xml:ns:xmpp-tls');
    await server.restart();
    expect(await header()).toContain('urn:ietf:params:xml:ns:xmpp-tls');
    expect(server.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });
});
