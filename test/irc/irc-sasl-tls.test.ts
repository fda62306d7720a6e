import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AccountSupervisor } from '../../src/registry';
import { type RecordingHost, waitFor } from '../registry/registry-harness';
import { startInspircd, type InspircdServer } from '../support/inspircd';
import { connectedClient, ircOptions, startIrcRegistry } from './irc-harness';
import { RawIrcClient } from './raw-irc-client';

/** Registers a services account through NickServ from a throwaway connection. */
async function registerAccount(server: InspircdServer, nick: string, password: string, certFp?: string) {
  const c = await RawIrcClient.register(server.host, server.port, nick);
  c.send(`PRIVMSG NickServ :REGISTER ${password} ${nick}@example.org`);
  await c.waitFor(/ 900 /);
  if (certFp) {
    c.send(`PRIVMSG NickServ :CERT ADD ${certFp}`);
    await c.waitFor(/NickServ!\S+ NOTICE \S+ :Added fingerprint/i);
  }
  await c.close();
}

/** The services account a nick is logged in as, from WHOIS (330), or undefined. */
async function accountOf(observer: RawIrcClient, nick: string): Promise<string | undefined> {
  const from = observer.lines.length;
  observer.send(`WHOIS ${nick}`);
  await observer.waitFor(new RegExp(` 318 observer ${nick} `), 10_000, from);
  const line = observer.lines.slice(from).find((l) => new RegExp(` 330 observer ${nick} `).test(l));
  return line?.split(' ')[line.startsWith('@') ? 5 : 4];
}

describe('the IRC adapter: SASL against atheme-services, and TLS', () => {
  let server: InspircdServer;
  let supervisor: AccountSupervisor;
  let host: RecordingHost;
  let stop: () => Promise<void>;
  let observer: RawIrcClient;
  let certDir: string;
  let cert: string;
  let key: string;
  let fingerprint: string;

  beforeAll(async () => {
    certDir = mkdtempSync(path.join(tmpdir(), 'sb-irc-cert-'));
    const certFile = path.join(certDir, 'client.pem');
    const keyFile = path.join(certDir, 'client.key');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=extu',
        '-keyout',
        keyFile,
        '-out',
        certFile,
      ],
      { stdio: 'ignore' },
    );
    cert = readFileSync(certFile, 'utf8');
    key = readFileSync(keyFile, 'utf8');
    fingerprint = execFileSync('openssl', ['x509', '-in', certFile, '-noout', '-fingerprint', '-sha256'], {
      encoding: 'utf8',
    })
      .split('=')[1]!
      .trim()
      .replace(/:/g, '')
      .toLowerCase();

    server = await startInspircd({ services: true, tls: true });
    const r = await startIrcRegistry();
    supervisor = r.supervisor;
    host = r.host;
    stop = async () => {
      await supervisor.stopAll();
      await r.registry.disposeAll();
    };
    observer = await RawIrcClient.register(server.host, server.port, 'observer');
    await registerAccount(server, 'saslu', 'sekrit-1234');
    await registerAccount(server, 'extu', 'other-5678', fingerprint);
  });

  afterAll(async () => {
    await stop?.();
    await observer?.close();
    await server?.stop();
    if (certDir) rmSync(certDir, { recursive: true, force: true });
  });

  it('logs in with SASL PLAIN', async () => {
    await supervisor.start({
      accountId: 'plain',
      adapterId: 'irc',
      options: ircOptions(server, 'plainnick', {
        sasl: { mechanism: 'PLAIN', user: 'saslu', password: 'sekrit-1234' },
      }),
    });
    await connectedClient(supervisor, 'plain');
    expect(await accountOf(observer, 'plainnick')).toBe('saslu');
    await supervisor.stop('plain');
  });

  it('reports services accounts as merge hints (extended-join and account-notify)', async () => {
    await supervisor.start({
      accountId: 'watcher',
      adapterId: 'irc',
      options: ircOptions(server, 'watcher', { channels: ['#acct'] }),
    });
    await connectedClient(supervisor, 'watcher');
    await supervisor.start({
      accountId: 'plain2',
      adapterId: 'irc',
      options: ircOptions(server, 'plain2', {
        channels: ['#acct'],
        sasl: { mechanism: 'PLAIN', user: 'saslu', password: 'sekrit-1234' },
      }),
    });
    await connectedClient(supervisor, 'plain2');
    const handle = `saslu@${server.host}`;
    await waitFor('the account of plain2 at watcher (extended-join)', () =>
      host.find(
        'watcher',
        'contact.upsert',
        (e) => e.userId === `plain2!${server.host}` && e.hints?.handles?.[0] === handle,
      ),
    );
    const late = await RawIrcClient.register(server.host, server.port, 'latecomer');
    late.send('JOIN #acct');
    await late.waitFor(/ 366 latecomer #acct /);
    late.send('PRIVMSG NickServ :IDENTIFY saslu sekrit-1234');
    await waitFor('the account of latecomer at watcher (account-notify)', () =>
      host.find(
        'watcher',
        'contact.upsert',
        (e) => e.userId === `latecomer!${server.host}` && e.hints?.handles?.[0] === handle,
      ),
    );
    await late.close();
    await supervisor.stop('plain2');
    await supervisor.stop('watcher');
  });

  it('reports a refused SASL PLAIN password as bad credentials, not retried', async () => {
    await supervisor.start({
      accountId: 'badsasl',
      adapterId: 'irc',
      options: ircOptions(server, 'badsasl', {
        sasl: { mechanism: 'PLAIN', user: 'saslu', password: 'wrong' },
      }),
    });
    await waitFor('bad credentials', () => supervisor.status('badsasl')?.state === 'bad_credentials', 20_000);
    expect(supervisor.status('badsasl')).toMatchObject({ code: 'sasl_failed' });
    expect(supervisor.retryAt('badsasl')).toBeUndefined();
    expect(host.statuses.get('badsasl')?.some((s) => s.state === 'connected')).toBe(false);
    await supervisor.stop('badsasl');
  });

  it('connects over TLS and logs in with SASL EXTERNAL (a client certificate)', async () => {
    await supervisor.start({
      accountId: 'external',
      adapterId: 'irc',
      options: {
        ...ircOptions(server, 'extnick'),
        port: server.tlsPort,
        tls: true,
        // The test server's certificate is self-signed.
        tlsInsecure: true,
        sasl: { mechanism: 'EXTERNAL', cert, key },
      },
    });
    await waitFor(
      'external connected',
      () => supervisor.status('external')?.state === 'connected',
      20_000,
    ).catch((e) => {
      throw new Error(`${String(e)}: ${JSON.stringify(host.statuses.get('external'))}`);
    });
    expect(await accountOf(observer, 'extnick')).toBe('extu');
    const whois = observer.lines.filter((l) => / 671 observer extnick /.test(l)); // RPL_WHOISSECURE
    expect(whois.length).toBeGreaterThan(0);
    await supervisor.stop('external');
  });

  it('refuses an unverified TLS certificate unless told otherwise', async () => {
    await supervisor.start({
      accountId: 'strict',
      adapterId: 'irc',
      options: { ...ircOptions(server, 'strictnick'), port: server.tlsPort, tls: true },
    });
    await waitFor(
      'a transient failure',
      () => supervisor.status('strict')?.state === 'transient_disconnect',
      20_000,
    );
    expect(supervisor.status('strict')?.message).toMatch(/certificate/i);
    await supervisor.stop('strict');
  });
});
