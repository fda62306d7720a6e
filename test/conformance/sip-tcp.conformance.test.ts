import { RemoteUserId } from '@switchboard/sdk';
import { startKamailio } from '../support/kamailio';
import { sipOptions, startSipRegistry } from '../sip/sip-harness';
import { runConformance } from './conformance-kit';

// The same contract over SIP's TCP transport (kamailio listens on both).
runConformance('sip over tcp', async () => {
  const server = await startKamailio({ tcpa: 'pw-a', tcpb: 'pw-b', tcpbad: 'right' });
  const registry = await startSipRegistry();
  const tcp = (user: string, pw: string) => ({ ...sipOptions(server, user, pw), transport: 'tcp' });
  return {
    registry,
    adapterId: 'sip',
    accounts: [
      { options: tcp('tcpa', 'pw-a'), address: RemoteUserId(server.uri('tcpa')) },
      { options: tcp('tcpb', 'pw-b'), address: RemoteUserId(server.uri('tcpb')) },
    ],
    badCredentials: tcp('tcpbad', 'wrong'),
    async teardown() {
      await registry.disposeAll();
      await server.stop();
    },
  };
});
