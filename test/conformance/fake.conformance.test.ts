import path from 'node:path';
import { RemoteUserId } from '@switchboard/sdk';
import { AdapterRegistry, loadAdapters } from '../../src/registry';
import { fakeHub } from '../fixtures/fake-adapter';
import { silentLogger } from '../registry/registry-harness';
import { runConformance } from './conformance-kit';

// The in-memory fake is the kit's second adapter: it proves the kit checks the contract, not IRC.
runConformance('fake', async () => {
  const loaded = await loadAdapters([{ id: 'fake', path: 'test/fixtures/fake-adapter' }], {
    logger: silentLogger,
    baseDir: path.resolve(__dirname, '../..'),
  });
  const registry = new AdapterRegistry(loaded);
  const network = `conformance-${process.pid}`;
  return {
    registry,
    adapterId: 'fake',
    accounts: [
      { options: { network, user: 'alice', password: 'a' }, address: RemoteUserId('alice') },
      { options: { network, user: 'bob', password: 'b' }, address: RemoteUserId('bob') },
    ],
    badCredentials: { network, user: 'mallory', password: 'm', failLogin: true },
    async teardown() {
      await registry.disposeAll();
      fakeHub.reset();
    },
  };
});
