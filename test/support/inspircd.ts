import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary, startProcess, type ManagedProcess } from './managed-process';
import { freePort, waitForPort } from './ports';

const MODULES_DIR = '/usr/lib/inspircd/modules';
const SERVICES_NAME = 'services.switchboard.test';
const LINK_PASSWORD = 'switchboard-link';

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
  /**
   * Link Debian's atheme-services as the network's services (NickServ, SaslServ with PLAIN and
   * EXTERNAL), so SASL works against a real services package.
   */
  services?: boolean;
  /** New channels keep their last 50 lines and replay them to joiners (m_chanhistory, mode +H). */
  channelHistory?: boolean;
  /**
   * Commands per second a client may keep sending before InspIRCd closes its link for "Excess Flood"
   * (default 100, with 1,000 of slack). The relay bench's sender posts thousands of lines at 800/s.
   */
  commandsPerSecond?: number;
}

export interface InspircdServer {
  readonly host: string;
  /** Plain-text client port. */
  readonly port: number;
  /** TLS client port, when started with `tls: true`. */
  readonly tlsPort?: number;
  /** The self-signed certificate (PEM) the TLS port presents. */
  readonly tlsCert?: string;
  /** The linked atheme, when started with `services: true`. */
  readonly services?: { name: string; output(): string };
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
  /** Freezes the server (SIGSTOP): connections stay open but nothing answers, as on a hung link. */
  pause(): void;
  /** Thaws a paused server (SIGCONT). */
  resume(): void;
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

function athemeConfig(ircName: string, host: string, linkPort: number): string {
  return `
loadmodule "modules/protocol/inspircd";
loadmodule "modules/backend/opensex";
loadmodule "modules/crypto/pbkdf2v2";
loadmodule "modules/nickserv/main";
loadmodule "modules/nickserv/register";
loadmodule "modules/nickserv/identify";
loadmodule "modules/nickserv/cert";
loadmodule "modules/saslserv/main";
loadmodule "modules/saslserv/plain";
loadmodule "modules/saslserv/external";
serverinfo {
  name = "${SERVICES_NAME}"; desc = "Switchboard test services"; numeric = "00A"; recontime = 1;
  netname = "SwitchboardTest"; hidehostsuffix = "users.switchboard.test"; adminname = "test";
  adminemail = "test@localhost"; registeremail = "noreply@localhost"; loglevel = { error; info; admin; network; };
  maxlogins = 5; maxusers = 5; mdlimit = 30; emaillimit = 10; emailtime = 300; auth = none; casemapping = rfc1459;
};
uplink "${ircName}" { host = "${host}"; send_password = "${LINK_PASSWORD}"; receive_password = "${LINK_PASSWORD}"; port = ${linkPort}; };
nickserv { nick = "NickServ"; user = "NickServ"; host = "services.int"; real = "Nickname Services"; };
saslserv { nick = "SaslServ"; user = "SaslServ"; host = "services.int"; real = "SASL Authentication Agent"; };
general { join_chans = no; leave_chans = no; raw = no; flood_msgs = 0; flood_time = 10; kline_time = 7; commit_interval = 5; };
`;
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
  // sslinfo hands the client certificate's fingerprint to services (SASL EXTERNAL).
  if (options.tls) modules.push('ssl_gnutls', 'sslinfo');
  if (options.channelHistory) modules.push('chanhistory');
  checkModules(modules);
  const version = inspircdVersion(bin);

  const dir = mkdtempSync(join(tmpdir(), 'sb-inspircd-'));
  const host = '127.0.0.1';
  const serverName = 'irc.switchboard.test';
  let port: number;
  let tlsPort: number | undefined;
  let tlsCert: string | undefined;
  let linkPort: number | undefined;
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
        `<sslprofile name="Clients" provider="gnutls" certfile="${cert}" keyfile="${key}" requestclientcert="yes" hash="sha256">`,
        `<bind address="${host}" port="${tlsPort}" type="clients" ssl="Clients">`,
      );
    }
    if (options.services) {
      linkPort = await freePort();
      lines.push(
        `<bind address="${host}" port="${linkPort}" type="servers">`,
        `<link name="${SERVICES_NAME}" ipaddr="${host}" port="${linkPort}" allowmask="127.0.0.0/8" sendpass="${LINK_PASSWORD}" recvpass="${LINK_PASSWORD}">`,
        `<uline server="${SERVICES_NAME}" silent="yes">`,
        `<module name="spanningtree">`,
        `<module name="hidechans">`,
        `<module name="svshold">`,
      );
    }
    const password =
      options.password === undefined ? '' : ` password="${xmlAttr(options.password)}" hash="plaintext"`;
    lines.push(
      `<connect name="main" allow="*" timeout="30" pingfreq="120" hardsendq="1048576" softsendq="65536"` +
        ` recvq="65536" threshold="1000" commandrate="${Math.round((options.commandsPerSecond ?? 100) * 1000)}"` +
        ` fakelag="no" localmax="1000" globalmax="1000"` +
        ` maxchans="100" limit="5000" resolvehostnames="no" useident="no"${password}>`,
      `<pid file="${join(dir, 'inspircd.pid')}">`,
      `<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="${join(dir, 'ircd.log')}">`,
      `<files motd="${join(dir, 'motd.txt')}">`,
      `<dns server="127.0.0.1" timeout="1">`,
      `<options prefixquit="Quit: " allowhalfop="yes" hostintopic="yes" syntaxhints="no"` +
        ` defaultmodes="${options.channelHistory ? 'ontH 50:1d' : 'ont'}">`,
      `<chanhistory maxlines="50" notice="no" bots="yes" prefixmsg="no">`,
      `<security hideserver="" announceinvites="dynamic" maxtargets="20" runasuser="" runasgroup="">`,
      `<performance netbuffersize="10240" somaxconn="128" softlimit="12800" clonesonconnect="no" timeskipwarn="0">`,
      `<whowas groupsize="10" maxgroups="100000" maxkeep="3d">`,
      `<channels users="100" opers="100">`,
      `<sasl target="${SERVICES_NAME}" requiressl="no">`,
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

  let atheme: ManagedProcess | undefined;
  try {
    await launch();
    if (options.services && linkPort !== undefined) {
      const athemeBin = requireBinary('atheme-services', ['/usr/bin/atheme-services'], 'atheme-services');
      const adir = join(dir, 'atheme');
      mkdirSync(adir);
      writeFileSync(join(adir, 'atheme.conf'), athemeConfig(serverName, host, linkPort));
      // atheme reconnects to its uplink by itself (recontime 1 s), also after an InspIRCd restart.
      const args = [
        '-n',
        '-c',
        join(adir, 'atheme.conf'),
        '-D',
        adir,
        '-l',
        join(adir, 'atheme.log'),
        '-p',
        join(adir, 'atheme.pid'),
      ];
      atheme = startProcess('atheme-services', athemeBin, args, { cwd: adir });
      await atheme.waitForOutput(/finished synching|synched|burst/i, 20_000).catch(async (err: unknown) => {
        await atheme?.stop();
        throw err;
      });
    }
  } catch (err) {
    await proc?.kill9();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const halt = async ({ kill = false } = {}): Promise<void> => {
    const p = proc;
    proc = undefined;
    if (!p) return;
    p.signal('SIGCONT'); // a paused server could not act on SIGTERM
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
    ...(atheme ? { services: { name: SERVICES_NAME, output: () => atheme?.output ?? '' } } : {}),
    output: () => `${proc?.output ?? ''}\n${logText()}`,
    halt,
    async start() {
      if (!proc) await launch();
    },
    pause() {
      proc?.signal('SIGSTOP');
    },
    resume() {
      proc?.signal('SIGCONT');
    },
    async restart({ downMs = 0, kill = false } = {}) {
      await halt({ kill });
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      await launch();
    },
    async stop() {
      await atheme?.stop();
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
