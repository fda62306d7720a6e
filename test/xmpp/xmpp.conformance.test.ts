import { RemoteUserId } from '@switchboard/sdk';
import { runConformance } from '../conformance/conformance-kit';
import { startProsody } from '../support/prosody';
import { accountOptions, startXmppGateway } from './xmpp-harness';

// The shared adapter conformance kit, run for XMPP against a real prosody (kept beside the other XMPP
// tests: test/conformance/ belongs to the kit).
runConformance('xmpp', async () => {
  const server = await startProsody();
  await server.registerUser('confa', 'confa-pw');
  await server.registerUser('confb', 'confb-pw');
  const gw = await startXmppGateway();
  return {
    registry: gw.registry,
    adapterId: 'xmpp',
    accounts: [
      {
        options: accountOptions(server, 'confa', 'confa-pw'),
        address: RemoteUserId(`confa@${server.domain}`),
      },
      {
        options: accountOptions(server, 'confb', 'confb-pw'),
        address: RemoteUserId(`confb@${server.domain}`),
      },
    ],
    badCredentials: accountOptions(server, 'confa', 'wrong'),
    async teardown() {
      await gw.stop();
      await server.stop();
    },
  };
});
