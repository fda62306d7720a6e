import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary, startProcess, type ManagedProcess } from './managed-process';
import { freePort, waitForPort } from './ports';

export interface NgircdServer {
  readonly host: string;
  readonly port: number;
  output(): string;
  stop(): Promise<void>;
}

/**
 * A private ngIRCd for a smoke test: a generated config in a temp dir, a free loopback port, no fork,
 * no DNS, ident or PAM. ngIRCd has no IRCv3 message tags, echo-message or MONITOR, so it exercises the
 * adapter's fallbacks (derived message ids, unconfirmed sends, ISON).
 */
export async function startNgircd(): Promise<NgircdServer> {
  const bin = requireBinary('ngircd', ['/usr/sbin/ngircd'], 'ngircd');
  const dir = mkdtempSync(join(tmpdir(), 'sb-ngircd-'));
  const host = '127.0.0.1';
  let proc: ManagedProcess | undefined;
  try {
    const port = await freePort();
    writeFileSync(join(dir, 'motd.txt'), 'Switchboard ngircd test server\n');
    writeFileSync(
      join(dir, 'ngircd.conf'),
      [
        '[Global]',
        'Name = irc.ngircd.test',
        'Info = Switchboard test server',
        `Listen = ${host}`,
        `Ports = ${port}`,
        `MotdFile = ${join(dir, 'motd.txt')}`,
        `PidFile = ${join(dir, 'ngircd.pid')}`,
        '[Limits]',
        'MaxConnectionsIP = 0',
        '[Options]',
        'DNS = no',
        'Ident = no',
        'PAM = no',
        '',
      ].join('\n'),
    );
    const p = startProcess('ngircd', bin, ['--nodaemon', '--config', join(dir, 'ngircd.conf')], { cwd: dir });
    proc = p;
    await Promise.race([
      waitForPort(port, host, 15_000),
      p.exited.then(() => {
        throw new Error(`ngircd exited:\n${p.output.slice(-4000)}`);
      }),
    ]);
    return {
      host,
      port,
      output: () => p.output,
      async stop() {
        await p.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await proc?.kill9();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
