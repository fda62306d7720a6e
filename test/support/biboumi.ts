import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RawXmppClient } from '../bench-harness/raw-xmpp-client';
import { requireBinary, startProcess, type ManagedProcess } from './managed-process';
import type { ProsodyServer } from './prosody';

/** The external component a prosody must declare for biboumi: pass it in `startProsody({ components })`. */
export function biboumiComponent(prosodyDomain: string): { domain: string; secret: string } {
  return { domain: `irc.${prosodyDomain}`, secret: randomBytes(12).toString('hex') };
}

export interface BiboumiOptions {
  /** A prosody started with `components: [component]`. */
  prosody: ProsodyServer;
  component: { domain: string; secret: string };
  /** The IRC server biboumi connects its users to (plain text, no TLS). */
  irc: { host: string; port: number };
}

export interface BiboumiGateway {
  /** The component's domain (`irc.<prosody domain>`). */
  readonly domain: string;
  /** The IRC server's JID on the gateway (`<irc host>@<domain>`), where its ad-hoc configuration lives. */
  readonly serverJid: string;
  /** The MUC JID of an IRC channel: `#chan%<irc host>@<domain>`. */
  roomJid(channel: string): string;
  /**
   * Points the user's configuration of the IRC server at the test server's port, plain text only (biboumi
   * otherwise tries 6697/6670 with TLS, then 6667). Done through biboumi's own ad-hoc command, as a user
   * would; it is per user, so every XMPP user that joins through biboumi needs it once before joining.
   */
  configureUser(client: RawXmppClient): Promise<void>;
  /** The biboumi process id (for CPU accounting in benchmarks). */
  readonly pid: number | undefined;
  /** What biboumi printed so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Debian's biboumi (the XMPP↔IRC gateway) as an external component of a test prosody, with its config,
 * sqlite database and policy directory in a temp dir, identd off, logging to stdout. Loopback only.
 */
export async function startBiboumi(opts: BiboumiOptions): Promise<BiboumiGateway> {
  const bin = requireBinary('biboumi', ['/usr/bin/biboumi'], 'biboumi');
  const componentPort = opts.prosody.componentPort;
  if (componentPort === undefined)
    throw new Error('startBiboumi: start prosody with `components: [biboumiComponent(domain)]` first');
  const { domain, secret } = opts.component;
  const dir = mkdtempSync(join(tmpdir(), 'sb-biboumi-'));
  const config = join(dir, 'biboumi.cfg');
  writeFileSync(
    config,
    [
      `hostname=${domain}`,
      `password=${secret}`,
      `xmpp_server_ip=127.0.0.1`,
      `port=${componentPort}`,
      `db_name=${join(dir, 'biboumi.sqlite')}`,
      // Port 113 would need privileges, and InspIRCd's test config does no ident lookups anyway.
      `identd_port=0`,
      `policy_directory=${dir}`,
      `realname_customization=true`,
      `realname_from_jid=false`,
      `log_file=`,
      `log_level=1`,
      '',
    ].join('\n'),
  );
  let proc: ManagedProcess;
  try {
    proc = startProcess('biboumi', bin, [config], { cwd: dir });
    await proc.waitForOutput(/Authenticated with the XMPP server/i, 15_000);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(
      `biboumi did not connect to prosody's component port ${componentPort}: ` +
        `${err instanceof Error ? err.message : String(err)}\nprosody log:\n${opts.prosody.log()}`,
    );
  }
  const serverJid = `${opts.irc.host}@${domain}`;
  return {
    domain,
    serverJid,
    pid: proc.child.pid,
    roomJid: (channel) => `${channel}%${opts.irc.host}@${domain}`,
    async configureUser(client) {
      await client.adhoc(serverJid, 'configure', {
        ports: [String(opts.irc.port)],
        tls_ports: [],
        verify_cert: 'false',
      });
    },
    output: () => {
      const text = proc.output;
      try {
        return text + readFileSync(join(dir, 'biboumi.log'), 'utf8');
      } catch {
        return text;
      }
    },
    async stop() {
      // On SIGTERM biboumi QUITs every IRC connection and waits for the server; stop() kills it after 5 s.
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
