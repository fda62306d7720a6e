import path from 'node:path';
import { RemoteUserId } from '@switchboard/sdk';
import { AdapterRegistry, loadAdapters } from '../../src/registry';
import { silentLogger } from '../registry/registry-harness';
import { startMatrixHomeserver } from '../support/matrix-homeserver';
import { runConformance } from './conformance-kit';

runConformance('matrix', async () => {
  const hs = await startMatrixHomeserver({ serverName: 'conformance.test' });
  await hs.registerUser('confa', 'conf-a-pw');
  await hs.registerUser('confb', 'conf-b-pw');
  const registry = new AdapterRegistry(
    await loadAdapters([{ id: 'matrix', path: 'adapters/matrix' }], {
      logger: silentLogger,
      baseDir: path.resolve(__dirname, '../..'),
    }),
  );
  const account = (user: string, password: string) => ({
    homeserverUrl: hs.url,
    userId: `@${user}:${hs.serverName}`,
    password,
    syncTimeoutMs: 1000,
  });
  return {
    registry,
    adapterId: 'matrix',
    accounts: [
      { options: account('confa', 'conf-a-pw'), address: RemoteUserId(`@confa:${hs.serverName}`) },
      { options: account('confb', 'conf-b-pw'), address: RemoteUserId(`@confb:${hs.serverName}`) },
    ],
    badCredentials: account('confa', 'wrong-password'),
    async teardown() {
      await registry.disposeAll();
      await hs.stop();
    },
  };
});
