import { execFile } from 'node:child_process';
import { get } from 'node:https';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireBinary, startProcess, type ManagedProcess } from './managed-process';
import { freePort, waitForPort } from './ports';

const run = promisify(execFile);

export interface ProsodyServer {
  /** The virtual host (the domain part of every test JID). */
  domain: string;
  /** The MUC component's domain (`conference.<domain>`). */
  mucDomain: string;
  host: '127.0.0.1';
  /** c2s port (STARTTLS; plaintext only if started with `allowPlaintext`). */
  port: number;
  /** Direct-TLS c2s port (XEP-0368 style). */
  directTlsPort: number;
  /** The self-signed certificate (PEM) the server presents, and its sha256 fingerprint (`AB:CD:…`). */
  certificatePem: string;
  fingerprint256: string;
  /** The temp dir holding config, data, certificate and log. */
  dir: string;
  /** The external-component port (XEP-0114, loopback), when started with `components`. */
  componentPort?: number;
  /** With `fileShare`: the XEP-0363 upload service's domain and its HTTPS port (loopback). */
  upload?: { domain: string; httpsPort: number };
  registerUser(user: string, password: string, onHost?: string): Promise<void>;
  /** The tail of prosody's log file, for error messages. */
  log(): string;
  stop(): Promise<void>;
  /** Stops and starts the server again on the same ports and data (after `downMs`, default 0). */
  restart(opts?: { downMs?: number }): Promise<void>;
}

export interface ProsodyOptions {
  domain?: string;
  /** Accept c2s logins without TLS (tests of `tls: 'none'`). */
  allowPlaintext?: boolean;
  /** More virtual hosts, served with the main domain's certificate (which does not name them). */
  misnamedHosts?: string[];
  /**
   * External components (XEP-0114) the server accepts on a loopback component port, each serving its
   * `domain` with its `secret` (a gateway such as biboumi).
   */
  components?: { domain: string; secret: string }[];
  /**
   * An XEP-0363 upload service (`upload.<domain>`, prosody's mod_http_file_share) served over HTTPS on a
   * loopback port, its URLs at https://127.0.0.1:<port>/file_share (the certificate names 127.0.0.1 too).
   * Files up to `sizeLimit` bytes (default 1 MiB), of `allowedTypes` only when given (e.g. `image/*`).
   */
  fileShare?: { sizeLimit?: number; allowedTypes?: string[] };
}

const lua = (s: string): string => JSON.stringify(s); // a JSON string is a valid Lua string literal here

/**
 * A private prosody for one test file: loopback only, free ports, everything (config, data, certificate,
 * log, pid) in a temp dir, no s2s, no HTTP (but for `fileShare`). Modules: roster, presence, carbons, MAM, stream management,
 * ping, disco, a MUC component. Never the system's prosody.
 */
export async function startProsody(opts: ProsodyOptions = {}): Promise<ProsodyServer> {
  const prosodyBin = requireBinary('prosody', ['/usr/bin/prosody'], 'prosody');
  const prosodyctl = requireBinary('prosodyctl', ['/usr/bin/prosodyctl'], 'prosody');
  const openssl = requireBinary('openssl', ['/usr/bin/openssl'], 'openssl');
  const domain = opts.domain ?? 'sb.test';
  const mucDomain = `conference.${domain}`;
  const dir = mkdtempSync(join(tmpdir(), 'sb-prosody-'));
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  const certFile = join(dir, `${domain}.crt`);
  const keyFile = join(dir, `${domain}.key`);
  const logFile = join(dir, 'prosody.log');
  const configFile = join(dir, 'prosody.cfg.lua');

  try {
    await run(openssl, [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-days', '2', '-subj', `/CN=${domain}`,
      '-addext', `subjectAltName=DNS:${domain},DNS:${mucDomain},DNS:upload.${domain},IP:127.0.0.1`,
      '-keyout', keyFile, '-out', certFile,
    ]); // prettier-ignore
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`could not generate a test certificate with openssl: ${String(err)}`);
  }
  const certificatePem = readFileSync(certFile, 'utf8');
  const { stdout: fp } = await run(openssl, ['x509', '-in', certFile, '-noout', '-fingerprint', '-sha256']);
  const fingerprint256 = fp.trim().replace(/^.*=/, '');

  const port = await freePort();
  const directTlsPort = await freePort();
  const components = opts.components ?? [];
  const componentPort = components.length > 0 ? await freePort() : undefined;
  const httpsPort = opts.fileShare ? await freePort() : undefined;
  const upload = httpsPort === undefined ? undefined : { domain: `upload.${domain}`, httpsPort };
  // Global options go before the first host section (after it they would belong to that host).
  const componentPorts =
    componentPort === undefined
      ? ''
      : `component_ports = { ${componentPort} }\ncomponent_interfaces = { "127.0.0.1" }`;
  const componentHosts = components
    .map((c) => `Component ${lua(c.domain)}\n  component_secret = ${lua(c.secret)}\n`)
    .join('\n');
  const config = `
-- generated by test/support/prosody.ts
run_as_root = true -- the test machine runs as root; this instance only listens on loopback
pidfile = ${lua(join(dir, 'prosody.pid'))}
data_path = ${lua(dataDir)}
plugin_paths = {}
log = { { levels = { min = "info" }, to = "file", filename = ${lua(logFile)} }, { levels = { min = "info" }, to = "console" } }
interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_ports = { ${port} }
c2s_direct_tls_ports = { ${directTlsPort} }
s2s_ports = {}
http_ports = {}
https_ports = { ${httpsPort ?? ''} }
https_interfaces = { "127.0.0.1" }
https_ssl = { certificate = ${lua(certFile)}, key = ${lua(keyFile)} }
modules_enabled = {
  "roster"; "saslauth"; "tls"; "disco"; "carbons"; "pep"; "private"; "vcard4"; "vcard_legacy";
  "version"; "uptime"; "time"; "ping"; "register"; "mam"; "smacks"; "blocklist"; "offline";
}
modules_disabled = { "s2s"; ${upload ? '' : '"http"; '}"bosh"; "websocket"; "admin_telnet"; "posix" }
authentication = "internal_hashed"
storage = "internal"
allow_registration = false
c2s_require_encryption = ${opts.allowPlaintext ? 'false' : 'true'}
allow_unencrypted_plain_auth = ${opts.allowPlaintext ? 'true' : 'false'}
archive_expires_after = "1d"
default_archive_policy = true
-- One test file opens many logins quickly from one address.
limits = {}
certificates = ${lua(dir)}
ssl = { certificate = ${lua(certFile)}, key = ${lua(keyFile)} }
${componentPorts}

VirtualHost ${lua(domain)}
  ssl = { certificate = ${lua(certFile)}, key = ${lua(keyFile)} }

${(opts.misnamedHosts ?? [])
  .map((h) => `VirtualHost ${lua(h)}\n  ssl = { certificate = ${lua(certFile)}, key = ${lua(keyFile)} }\n`)
  .join('\n')}
Component ${lua(mucDomain)} "muc"
  modules_enabled = { "muc_mam" }
  restrict_room_creation = false
  muc_room_default_public = true
  muc_room_default_persistent = false

${componentHosts}
${
  upload
    ? `Component ${lua(upload.domain)} "http_file_share"
  http_host = "127.0.0.1" -- its URLs name the loopback address, which the certificate names too
  http_file_share_size_limit = ${opts.fileShare?.sizeLimit ?? 1024 * 1024}
  ${opts.fileShare?.allowedTypes ? `http_file_share_allowed_file_types = { ${opts.fileShare.allowedTypes.map(lua).join('; ')} }` : ''}
`
    : ''
}`;
  writeFileSync(configFile, config);

  const launch = async (): Promise<ManagedProcess> => {
    const p = startProcess('prosody', prosodyBin, ['--config', configFile, '-F'], { cwd: dir });
    try {
      await Promise.race([
        waitForPort(port, '127.0.0.1', 20000),
        p.exited.then(() => {
          throw new Error(`prosody exited at start:\n${p.output.slice(-4000)}`);
        }),
      ]);
      await waitForPort(directTlsPort, '127.0.0.1', 5000);
      if (componentPort !== undefined) await waitForPort(componentPort, '127.0.0.1', 5000);
      if (upload) await waitForPort(upload.httpsPort, '127.0.0.1', 5000);
    } catch (err) {
      await p.kill9();
      const log = tail(logFile);
      throw new Error(`prosody did not start: ${err instanceof Error ? err.message : String(err)}\n${log}`);
    }
    return p;
  };

  let proc: ManagedProcess;
  try {
    proc = await launch();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  return {
    domain,
    mucDomain,
    host: '127.0.0.1',
    port,
    directTlsPort,
    ...(componentPort !== undefined ? { componentPort } : {}),
    ...(upload ? { upload } : {}),
    certificatePem,
    fingerprint256,
    dir,
    async registerUser(user, password, onHost = domain) {
      try {
        await run(prosodyctl, ['--config', configFile, 'register', user, onHost, password], { cwd: dir });
      } catch (err) {
        throw new Error(`prosodyctl register ${user}@${onHost} failed: ${String(err)}\n${tail(logFile)}`);
      }
    },
    log: () => tail(logFile),
    async stop() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
    async restart({ downMs = 0 } = {}) {
      await proc.stop();
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      proc = await launch();
    },
  };
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-4000);
  } catch {
    return '(no prosody log)';
  }
}

/**
 * GET over HTTPS trusting one certificate (the test server's, for its XEP-0363 upload service), as an XMPP
 * client of that server would download a shared file.
 */
export function httpsGet(url: string, ca: string): Promise<{ status: number; type?: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(url, { ca: [ca] }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          type: res.headers['content-type'],
          body: Buffer.concat(chunks),
        }),
      );
    }).on('error', reject);
  });
}
