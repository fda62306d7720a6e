import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary, startProcess, type ManagedProcess } from './managed-process';
import { freePort, waitForPort } from './ports';

export interface KamailioServer {
  readonly host: string;
  /** UDP and TCP (the same number). */
  readonly port: number;
  readonly domain: string;
  /** `sip:user@domain`. */
  uri(user: string): string;
  output(): string;
  stop(): Promise<void>;
  /** Stops kamailio, waits `downMs`, starts it again on the same port and config (registrations are lost). */
  restart(opts?: { downMs?: number }): Promise<void>;
}

/**
 * A private kamailio on loopback as registrar and proxy: a generated config, users with passwords checked
 * by digest auth (the auth module's pv_auth_check against passwords written into the config, so no
 * database is needed), an in-memory location table, and record-routing so BYE and ACK follow the dialog.
 * MESSAGE and INVITE to a registered user are forwarded to its contact; to a user of the server who is not
 * registered now, 480 Temporarily Unavailable; to an unknown one, 404.
 */
export async function startKamailio(users: Record<string, string>): Promise<KamailioServer> {
  const bin = requireBinary('kamailio', ['/usr/sbin/kamailio'], 'kamailio');
  const dir = mkdtempSync(join(tmpdir(), 'sb-kamailio-'));
  const host = '127.0.0.1';
  const domain = 'sip.test';
  let proc: ManagedProcess | undefined;
  try {
    const port = await freePort(host, { udp: true });
    for (const u of Object.keys(users))
      if (!/^[a-z0-9_.-]+$/i.test(u)) throw new Error(`kamailio harness: bad user name ${u}`);
    const passwords = Object.entries(users)
      .map(([u, p]) => `    if ($var(u) == "${u}") $var(pw) = "${p.replace(/["\\]/g, '')}";`)
      .join('\n');
    const cfg = `#!KAMAILIO
debug=2
log_stderror=yes
fork=yes
children=2
tcp_children=2
auto_aliases=no
listen=udp:${host}:${port}
listen=tcp:${host}:${port}
alias="${domain}"
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "auth.so"
loadmodule "nathelper.so"
modparam("usrloc", "db_mode", 0)
modparam("registrar", "max_expires", 3600)
modparam("registrar", "min_expires", 10)
modparam("rr", "enable_full_lr", 1)
modparam("tm", "fr_timer", 10000)
modparam("tm", "fr_inv_timer", 60000)

request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  force_rport();
  if (has_totag()) {
    if (loose_route()) { route(RELAY); exit; }
    if (is_method("ACK")) { if (t_check_trans()) { route(RELAY); } exit; }
    sl_send_reply("404", "Not here");
    exit;
  }
  if (is_method("CANCEL")) { if (t_check_trans()) route(RELAY); exit; }
  t_check_trans();
  # An initial request's Route names this proxy (the client's outbound proxy): drop it.
  remove_hf("Route");
  if (is_method("REGISTER")) {
    $var(u) = $tU;
    route(AUTH_REGISTER);
    if (!save("location")) sl_reply_error();
    exit;
  }
  # Requests from our users must be authenticated (proxy auth), as a real PBX would.
  $var(u) = $fU;
  $var(pw) = "";
${passwords}
  if ($var(pw) == "") { sl_send_reply("403", "Unknown user"); exit; }
  if (!pv_proxy_authenticate("${domain}", "$var(pw)", "0")) {
    proxy_challenge("${domain}", "0");
    exit;
  }
  consume_credentials();
  if (is_method("INVITE")) record_route();
  if (is_method("OPTIONS") && $rU == $null) { sl_send_reply("200", "OK"); exit; }
  if (!lookup("location")) {
    # A user of this server who is not registered now is temporarily unavailable; anyone else is not found.
    $var(u) = $rU;
    $var(pw) = "";
${passwords}
    if ($var(pw) != "") { sl_send_reply("480", "Temporarily Unavailable"); exit; }
    sl_send_reply("404", "Not Found");
    exit;
  }
  route(RELAY);
}

route[AUTH_REGISTER] {
  $var(pw) = "";
${passwords}
  if ($var(pw) == "") { sl_send_reply("403", "Unknown user"); exit; }
  if (!pv_www_authenticate("${domain}", "$var(pw)", "0")) {
    www_challenge("${domain}", "0");
    exit;
  }
  consume_credentials();
}

route[RELAY] {
  if (!t_relay()) sl_reply_error();
  exit;
}
`;
    writeFileSync(join(dir, 'kamailio.cfg'), cfg);
    const launch = async (): Promise<ManagedProcess> => {
      const p = startProcess(
        'kamailio',
        bin,
        ['-DD', '-E', '-f', join(dir, 'kamailio.cfg'), '-P', join(dir, 'kamailio.pid'), '-Y', dir, '-w', dir],
        { cwd: dir },
      );
      proc = p;
      await Promise.race([
        waitForPort(port, host, 15_000),
        p.exited.then(() => {
          throw new Error(`kamailio exited:\n${p.output.slice(-4000)}`);
        }),
      ]);
      return p;
    };
    let p = await launch();
    return {
      host,
      port,
      domain,
      uri: (user) => `sip:${user}@${domain}`,
      output: () => p.output,
      async stop() {
        await p.stop();
        rmSync(dir, { recursive: true, force: true });
      },
      async restart({ downMs = 0 } = {}) {
        await p.stop();
        await new Promise((r) => setTimeout(r, downMs));
        p = await launch();
      },
    };
  } catch (err) {
    await proc?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
