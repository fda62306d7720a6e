import { RemoteUserId } from '@switchboard/sdk';
import { startKamailio } from '../support/kamailio';
import { sipOptions, startSipRegistry } from '../sip/sip-harness';
import { runConformance } from './conformance-kit';

runConformance('sip', async () => {
  const server = await startKamailio({ confa: 'pw-a', confb: 'pw-b', confbad: 'right' });
  const registry = await startSipRegistry();
  return {
    registry,
    adapterId: 'sip',
    accounts: [
      { options: sipOptions(server, 'confa', 'pw-a'), address: RemoteUserId(server.uri('confa')) },
      { options: sipOptions(server, 'confb', 'pw-b'), address: RemoteUserId(server.uri('confb')) },
    ],
    badCredentials: sipOptions(server, 'confbad', 'wrong'),
    async teardown() {
      await registry.disposeAll();
      await server.stop();
    },
  };
});
