import { RemoteUserId } from '@switchboard/sdk';
import { startInspircd } from '../support/inspircd';
import { ircOptions, startIrcRegistry } from '../irc/irc-harness';
import { runConformance } from './conformance-kit';

runConformance('irc', async () => {
  const server = await startInspircd({ password: 'conformance' });
  const { registry } = await startIrcRegistry();
  return {
    registry,
    adapterId: 'irc',
    accounts: [
      {
        options: ircOptions(server, 'confa', { password: 'conformance' }),
        address: RemoteUserId(`confa!${server.host}`),
      },
      {
        options: ircOptions(server, 'confb', { password: 'conformance' }),
        address: RemoteUserId(`confb!${server.host}`),
      },
    ],
    badCredentials: ircOptions(server, 'confbad', { password: 'wrong' }),
    async teardown() {
      await registry.disposeAll();
      await server.stop();
    },
  };
});
