import { waitFor } from '../registry/registry-harness';
import { startProsody, type ProsodyServer } from '../support/prosody';
import { accountOptions, connectedClient, startXmppGateway } from './xmpp-harness';

describe('xmpp adapter: login and transport security against a real prosody', () => {
  let server: ProsodyServer;
  let gw: Awaited<ReturnType<typeof startXmppGateway>>;

  beforeAll(async () => {
    server = await startProsody({ misnamedHosts: ['other.test'] });
    await server.registerUser('alice', 'alice-pw');
    gw = await startXmppGateway();
  });
  afterAll(async () => {
    await gw?.stop();
    await server?.stop();
  });

  const states = (id: string) => (gw.host.statuses.get(id) ?? []).map((s) => s.state);

  it('logs in over STARTTLS with the server certificate trusted by PEM', async () => {
    await gw.supervisor.start({
      accountId: 'starttls',
      adapterId: 'xmpp',
      options: accountOptions(server, 'alice', 'alice-pw'),
    });
    await connectedClient(gw.supervisor, 'starttls');
    expect(states('starttls')).toEqual(['connecting', 'connected']);
    await gw.supervisor.stop('starttls');
  });

  it('logs in over direct TLS with the certificate pinned by its sha256 fingerprint', async () => {
    await gw.supervisor.start({
      accountId: 'direct',
      adapterId: 'xmpp',
      options: accountOptions(server, 'alice', 'alice-pw', {
        port: server.directTlsPort,
        tls: 'direct',
        trustedCertificate: server.fingerprint256,
      }),
    });
    await connectedClient(gw.supervisor, 'direct');
    await gw.supervisor.stop('direct');
  });

  it('reports a wrong password as bad credentials, not retried', async () => {
    await gw.supervisor.start({
      accountId: 'badpw',
      adapterId: 'xmpp',
      options: accountOptions(server, 'alice', 'nope'),
    });
    await waitFor(
      'bad credentials',
      () => gw.supervisor.status('badpw')?.state === 'bad_credentials',
      20_000,
    );
    expect(gw.supervisor.status('badpw')).toMatchObject({ code: 'sasl_not-authorized', retryable: false });
    expect(gw.supervisor.retryAt('badpw')).toBeUndefined();
    await gw.supervisor.stop('badpw');
  });

  it('refuses a server whose certificate is not trusted, on both transports', async () => {
    const { trustedCertificate: _omit, ...untrusted } = accountOptions(server, 'alice', 'alice-pw');
    await gw.supervisor.start({ accountId: 'untrusted', adapterId: 'xmpp', options: untrusted });
    await waitFor('tls refused', () => gw.supervisor.status('untrusted')?.state === 'error', 20_000);
    expect(gw.supervisor.status('untrusted')).toMatchObject({ code: 'tls_untrusted' });
    await gw.supervisor.stop('untrusted');

    await gw.supervisor.start({
      accountId: 'untrusted-direct',
      adapterId: 'xmpp',
      options: { ...untrusted, port: server.directTlsPort, tls: 'direct' },
    });
    await waitFor(
      'direct tls refused',
      () => gw.supervisor.status('untrusted-direct')?.state === 'error',
      20_000,
    );
    expect(gw.supervisor.status('untrusted-direct')).toMatchObject({ code: 'tls_untrusted' });
    await gw.supervisor.stop('untrusted-direct');
  });

  it('refuses a wrong pinned fingerprint, and a trusted certificate presented for another domain', async () => {
    await gw.supervisor.start({
      accountId: 'wrongpin',
      adapterId: 'xmpp',
      options: accountOptions(server, 'alice', 'alice-pw', { trustedCertificate: 'AB:'.repeat(31) + 'AB' }),
    });
    await waitFor('pin refused', () => gw.supervisor.status('wrongpin')?.state === 'error', 20_000);
    expect(gw.supervisor.status('wrongpin')).toMatchObject({ code: 'tls_fingerprint_mismatch' });
    await gw.supervisor.stop('wrongpin');

    // other.test is served with sb.test's certificate: trusted as a CA, but it does not name the JID's domain.
    await server.registerUser('alice', 'alice-pw', 'other.test');
    await gw.supervisor.start({
      accountId: 'othername',
      adapterId: 'xmpp',
      options: accountOptions(server, 'alice', 'alice-pw', { jid: 'alice@other.test' }),
    });
    await waitFor('name refused', () => gw.supervisor.status('othername')?.state === 'error', 20_000);
    expect(gw.supervisor.status('othername')).toMatchObject({ code: 'tls_untrusted' });
    expect(gw.supervisor.status('othername')?.message).toMatch(/other\.test/);
    await gw.supervisor.stop('othername');
  });

  it('refuses plaintext options unless allowPlaintext is set', async () => {
    const r = await gw.registry.validateAccountOptions('xmpp', {
      ...accountOptions(server, 'alice', 'alice-pw'),
      tls: 'none',
    });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues.map((i) => i.path)).toEqual(['allowPlaintext']);
  });
});
