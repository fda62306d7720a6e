import path from 'node:path';
import { AdapterRegistry, loadAdapters } from '../../src/registry';
import { silentLogger } from '../registry/registry-harness';
import type { KamailioServer } from '../support/kamailio';

const repoRoot = path.resolve(__dirname, '../..');

export async function startSipRegistry(): Promise<AdapterRegistry> {
  const loaded = await loadAdapters([{ id: 'sip' }], {
    logger: silentLogger,
    adaptersDir: path.join(repoRoot, 'adapters'),
  });
  return new AdapterRegistry(loaded);
}

export function sipOptions(k: KamailioServer, user: string, password: string): Record<string, unknown> {
  // kamailio listens on 127.0.0.1; the gateway's SIP binds 127.0.0.2 (see SipClient.connect).
  return {
    registrar: `${k.host}:${k.port}`,
    uri: k.uri(user),
    username: user,
    password,
    localAddress: '127.0.0.2',
  };
}
