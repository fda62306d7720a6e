import path from 'node:path';
import type { NetworkClient } from '@switchboard/sdk';
import { AccountSupervisor, AdapterRegistry, loadAdapters } from '../../src/registry';
import { RecordingHost, silentLogger, waitFor } from '../registry/registry-harness';
import type { ProsodyServer } from '../support/prosody';
import type { XmppClient } from '../../adapters/xmpp';

export const repoRoot = path.resolve(__dirname, '../..');

/** The xmpp adapter loaded by the registry from adapters/xmpp, accounts run by a supervisor into a RecordingHost. */
export async function startXmppGateway(): Promise<{
  host: RecordingHost;
  supervisor: AccountSupervisor;
  registry: AdapterRegistry;
  stop(): Promise<void>;
}> {
  const loaded = await loadAdapters([{ id: 'xmpp', path: 'adapters/xmpp' }], {
    logger: silentLogger,
    baseDir: repoRoot,
  });
  const registry = new AdapterRegistry(loaded);
  const host = new RecordingHost();
  if (process.env.XMPP_TEST_DEBUG) {
    // Adapter logs and every event, for debugging a failing run.
    const log = (level: string) => (message: string, fields?: Record<string, unknown>) =>
      process.stderr.write(`[${level}] ${message} ${JSON.stringify(fields ?? {})}\n`);
    host.logger = () => ({ debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') });
    const emit = host.emit.bind(host);
    host.emit = (id, ev) => {
      process.stderr.write(`[event ${id}] ${JSON.stringify(ev).slice(0, 300)}\n`);
      return emit(id, ev);
    };
    const onStatus = host.onStatus.bind(host);
    host.onStatus = (id, st) => {
      process.stderr.write(`[status ${id}] ${JSON.stringify(st)}\n`);
      onStatus(id, st);
    };
  }
  const supervisor = new AccountSupervisor(registry, host, {
    policy: { initialDelayMs: 100, maxDelayMs: 500 },
  });
  return {
    host,
    supervisor,
    registry,
    async stop() {
      await supervisor.stopAll();
      await registry.disposeAll();
    },
  };
}

/** Account options for a user of the test server, trusting its self-signed certificate by PEM. */
export function accountOptions(
  server: ProsodyServer,
  user: string,
  password: string,
  extra: Record<string, unknown> = {},
) {
  return {
    jid: `${user}@${server.domain}`,
    password,
    host: server.host,
    port: server.port,
    trustedCertificate: server.certificatePem,
    ...extra,
  };
}

export async function connectedClient(supervisor: AccountSupervisor, accountId: string): Promise<XmppClient> {
  await waitFor(`${accountId} connected`, () => supervisor.status(accountId)?.state === 'connected', 20_000);
  return supervisor.client(accountId) as NetworkClient as XmppClient;
}
