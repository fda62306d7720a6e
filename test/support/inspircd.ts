import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary, startProcess, type ManagedProcess } from './managed-process';
import { freePort, waitForPort } from './ports';

const MODULES_DIR = '/usr/lib/inspircd/modules';

/**
 * The IRCv3 and services-facing modules the adapter's tests rely on. `ircv3` carries away-notify,
 * account-notify and extended-join; `namesx` is multi-prefix; `uhnames` userhost-in-names.
 */
export const INSPIRCD_TEST_MODULES = [
  'cap',
  'ircv3',
  'ircv3_accounttag',
  'ircv3_batch',
  'ircv3_capnotify',
  'ircv3_chghost',
  'ircv3_ctctags',
  'ircv3_echomessage',
  'ircv3_invitenotify',
  'ircv3_labeledresponse',
  'ircv3_msgid',
  'ircv3_servertime',
  'monitor',
  'namesx',
  'uhnames',
  'services_account',
  'sasl',
] as const;

export interface InspircdOptions {
  /** A server password (the connect class refuses clients that do not send it with PASS). */
  password?: string;
  /** Also listen with TLS (m_ssl_gnutls, a self-signed certificate made with openssl for the test). */
  tls?: boolean;
  /** Extra modules beyond INSPIRCD_TEST_MODULES (names without `m_` and `.so`). */
  modules?: string[];
  /** Lines appended to the generated config. */
  extraConfig?: string;
}

export interface InspircdServer {
  readonly host: string;
  /** Plain-text client port. */
  readonly port: number;
  /** TLS client port, when started with `tls: true`. */
  readonly tlsPort?: number;
  /** The self-signed certificate (PEM) the TLS port presents. */
  readonly tlsCert?: string;
  readonly serverName: string;
  readonly version: string;
  /** What the server printed and logged so far (for failure messages). */
  output(): string;
  /** Stops the server (SIGTERM, or SIGKILL with `kill: true`) and starts it again on the same ports and config. */
  restart(opts?: { downMs?: number; kill?: boolean }): Promise<void>;
  /** Stops the server without starting it again (a later `start()` brings it back). */
  halt(opts?: { kill?: boolean }): Promise<void>;
  /** Starts a halted server again. */
  start(): Promise<void>;
  /** Stops the server and removes its temp dir. */
  stop(): Promise<void>;
}

function inspircdVersion(bin: string): string {
  try {
    return execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 }).trim();
  } catch (e) {
    return `unknown (${e instanceof Error ? e.message : String(e)})`;
  }
}

/** Every module the config will load, or an error naming the missing ones and the package to install. */
function checkModules(names: readonly string[]): void {
  const missing = names.filter((m) => !existsSync(join(MODULES_DIR, `m_${m}.so`)));
  if (missing.length > 0)
    throw new Error(
      `InspIRCd is missing modules ${missing.map((m) => `m_${m}`).join(', ')} in ${MODULES_DIR}; ` +
        `the Debian package 'inspircd' (InspIRCd 3) ships them.`,
    );
}

function makeCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', key, '-out', cert,
    ], // prettier-ignore
    { stdio: 'ignore', timeout: 30_000 },
  );
  return { cert, key };
}

function xmlAttr(v: string): string {
  if (/["\r\n\0]/.test(v)) throw new Error(`config value ${JSON.stringify(v)} cannot go into an attribute`);
  return v;
}

/**
 * A private InspIRCd 3 for one test file: Debian's binary with a generated config in a temp dir, a free
 * loopback port, no fork, pid file and log in the temp dir, no DNS or ident lookups, and the IRCv3
 * modules loaded. Flood protection is relaxed so tests are not fakelagged; the adapter's own send queue
 * is what keeps a real account under a network's limit.
 */
export async function startInspircd(options: InspircdOptions = {}): Promise<InspircdServer> {
  const bin = requireBinary('inspircd', ['/usr/sbin/inspircd', '/usr/lib/inspircd/inspircd'], 'inspircd');
  const modules = [...INSPIRCD_TEST_MODULES, ...(options.modules ?? [])];
  if (options.tls) modules.push('ssl_gnutls');
  checkModules(modules);
  const version = inspircdVersion(bin);

  const dir = mkdtempSync(join(tmpdir(), 'sb-inspircd-'));
  const host = '127.0.0.1';
  const serverName = 'irc.switchboard.test';
  let port: number;
  let tlsPort: number | undefined;
  let tlsCert: string | undefined;
  try {
    port = await freePort();
    const lines: string[] = [
      `<server name="${serverName}" description="Switchboard test server" network="SwitchboardTest">`,
      `<admin name="test" nick="test" email="test@localhost">`,
      `<bind address="${host}" port="${port}" type="clients">`,
    ];
    if (options.tls) {
      tlsPort = await freePort();
      const { cert, key } = makeCertificate(dir);
      tlsCert = readFileSync(cert, 'utf8');
      lines.push(
        `<sslprofile name="Clients" provider="gnutls" certfile="${cert}" keyfile="${key}" requestclientcert="no">`,
        `<bind address="${host}" port="${tlsPort}" type="clients" ssl="Clients">`,
      );
    }
    const password =
      options.password === undefined ? '' : ` password="${xmlAttr(options.password)}" hash="plaintext"`;
    lines.push(
      `<connect name="main" allow="*" timeout="30" pingfreq="120" hardsendq="1048576" softsendq="65536"` +
        ` recvq="65536" threshold="1000" commandrate="100000" fakelag="no" localmax="1000" globalmax="1000"` +
        ` maxchans="100" limit="5000" resolvehostnames="no" useident="no"${password}>`,
      `<pid file="${join(dir, 'inspircd.pid')}">`,
      `<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="${join(dir, 'ircd.log')}">`,
      `<files motd="${join(dir, 'motd.txt')}">`,
      `<dns server="127.0.0.1" timeout="1">`,
      `<options prefixquit="Quit: " allowhalfop="yes" hostintopic="yes" syntaxhints="no">`,
      `<security hideserver="" announceinvites="dynamic" maxtargets="20" runasuser="" runasgroup="">`,
      `<performance netbuffersize="10240" somaxconn="128" softlimit="12800" clonesonconnect="no" timeskipwarn="0">`,
      `<whowas groupsize="10" maxgroups="100000" maxkeep="3d">`,
      `<channels users="100" opers="100">`,
      `<sasl target="services.switchboard.test" requiressl="no">`,
      ...modules.map((m) => `<module name="${m}">`),
      options.extraConfig ?? '',
    );
    writeFileSync(join(dir, 'inspircd.conf'), lines.join('\n') + '\n');
    writeFileSync(join(dir, 'motd.txt'), 'Switchboard test server\n');
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const args = ['--config', join(dir, 'inspircd.conf'), '--nofork'];
  // InspIRCd refuses to run as root without this flag; tests in a container often are root.
  if (process.getuid?.() === 0) args.push('--runasroot');

  const logText = (): string => {
    try {
      return readFileSync(join(dir, 'ircd.log'), 'utf8').slice(-4000);
    } catch {
      return '';
    }
  };

  let proc: ManagedProcess | undefined;
  const launch = async (): Promise<void> => {
    const p = startProcess('inspircd', bin, args, { cwd: dir });
    try {
      await Promise.race([
        waitForPort(port, host, 15_000),
        p.exited.then(() => {
          throw new Error('exited');
        }),
      ]);
      if (tlsPort !== undefined) await waitForPort(tlsPort, host, 15_000);
    } catch (err) {
      await p.kill9();
      throw new Error(
        `inspircd (${version}) did not start on ${host}:${port}: ${err instanceof Error ? err.message : String(err)}\n` +
          `output:\n${p.output.slice(-4000)}\nlog:\n${logText()}`,
      );
    }
    proc = p;
  };

  try {
    await launch();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const halt = async ({ kill = false } = {}): Promise<void> => {
    const p = proc;
    proc = undefined;
    if (!p) return;
    if (kill) await p.kill9();
    else await p.stop();
  };

  return {
    host,
    port,
    ...(tlsPort !== undefined ? { tlsPort } : {}),
    ...(tlsCert !== undefined ? { tlsCert } : {}),
    serverName,
    version,
    output: () => `${proc?.output ?? ''}\n${logText()}`,
    halt,
    async start() {
      if (!proc) await launch();
    },
    async restart({ downMs = 0, kill = false } = {}) {
      await halt({ kill });
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      await launch();
    },
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
