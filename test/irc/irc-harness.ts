import path from 'node:path';
import type { NetworkClient } from '@switchboard/sdk';
import { AccountSupervisor, AdapterRegistry, loadAdapters } from '../../src/registry';
import { RecordingHost, silentLogger, waitFor } from '../registry/registry-harness';
import type { InspircdServer } from '../support/inspircd';

export const repoRoot = path.resolve(__dirname, '../..');

/** The bundled IRC adapter loaded as the gateway loads it (a folder under adapters/), plus a supervisor. */
export async function startIrcRegistry(): Promise<{
  registry: AdapterRegistry;
  supervisor: AccountSupervisor;
  host: RecordingHost;
}> {
  const loaded = await loadAdapters([{ id: 'irc' }], {
    logger: silentLogger,
    adaptersDir: path.join(repoRoot, 'adapters'),
  });
  const registry = new AdapterRegistry(loaded);
  const host = new RecordingHost();
  // Short reconnect steps keep the restart test quick; the schedule itself has its own unit spec.
  const supervisor = new AccountSupervisor(registry, host, {
    policy: { initialDelayMs: 100, maxDelayMs: 1000 },
  });
  return { registry, supervisor, host };
}

export function ircOptions(
  server: InspircdServer,
  nick: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { host: server.host, port: server.port, tls: false, nick, floodIntervalMs: 100, ...extra };
}

export async function connectedClient(
  supervisor: AccountSupervisor,
  accountId: string,
): Promise<NetworkClient> {
  await waitFor(`${accountId} connected`, () => supervisor.status(accountId)?.state === 'connected', 20_000);
  return supervisor.client(accountId)!;
}
