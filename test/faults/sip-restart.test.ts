import path from 'node:path';
import WebSocket from 'ws';
import { RemoteRoomId, TransactionId, type RemoteEvent } from '@switchboard/sdk';
import { AccountsService } from '../../src/accounts/accounts.service';
import { AccountSupervisor, type AdapterRegistry } from '../../src/registry';
import type { ReconnectPolicy } from '../../src/registry/reconnect-backoff';
import { RecordingHost, waitFor } from '../registry/registry-harness';
import { sipOptions, startSipRegistry } from '../sip/sip-harness';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../support/gateway';
import { startKamailio, type KamailioServer } from '../support/kamailio';
import { isOut } from './fault-helpers';

const root = path.resolve(__dirname, '../..');
type MessageEvent = Extract<RemoteEvent, { type: 'message' }>;

/**
 * kamailio (the SIP registrar and proxy) stopped for 10 s and started again. Over UDP nothing tells a
 * client that its registrar went away or forgot its binding, so the SIP adapter pings the registrar
 * (OPTIONS, `keepaliveSeconds`): the account goes `transient_disconnect`, registers again once kamailio
 * answers, and `connected`; MESSAGEs sent through the API meanwhile reach the far phone once, in order.
 */
describe('kamailio stopped for 10 s and restarted', () => {
  let kamailio: KamailioServer;
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let registry: AdapterRegistry;
  let host: RecordingHost;
  let bob: AccountSupervisor;

  beforeAll(async () => {
    kamailio = await startKamailio({ alice: 'alice-pw', bob: 'bob-pw' });
    env = await startTestGateway({ adapters: [{ id: 'sip', path: path.join(root, 'adapters/sip') }] });
    const supervisor = env.gw.app.get(AccountsService).supervisor as unknown as { policy: ReconnectPolicy };
    supervisor.policy.maxDelayMs = 2000;
    // Bob is a phone outside the gateway: the adapter run as a client by its own supervisor.
    registry = await startSipRegistry();
    host = new RecordingHost();
    bob = new AccountSupervisor(registry, host, { policy: { initialDelayMs: 200, maxDelayMs: 1000 } });
  }, 60_000);
  afterAll(async () => {
    await bob?.stopAll();
    await registry?.disposeAll();
    await env?.stop();
    await kamailio?.stop();
  });

  it('reconnects the account and delivers what was sent while the registrar was down, once each', async () => {
    const me = await new Api(env.gw.url).login('admin', ADMIN_PASSWORD);
    const created = await me.call('POST', '/api/v1/accounts', {
      adapter: 'sip',
      options: { ...sipOptions(kamailio, 'alice', 'alice-pw'), keepaliveSeconds: 1 },
    });
    expect(created.status).toBe(201);
    const account = created.json.id as string;
    const state = async () => (await me.call('GET', `/api/v1/accounts/${account}`)).json.state as string;
    // Every state the account goes through, as clients see them.
    const states: string[] = [];
    const ws = new WebSocket(`${env.gw.url.replace('http', 'ws')}/api/v1/events?token=${me.token}`);
    ws.on('message', (d) => {
      const f = JSON.parse(String(d)) as { type: string; data: { accountId: string; state: string } };
      if (f.type === 'account.state' && f.data.accountId === account) states.push(f.data.state);
    });
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    await eventually(async () => (await state()) === 'connected', 'alice registered', 30_000);
    await bob.start({
      accountId: 'bob',
      adapterId: 'sip',
      options: { ...sipOptions(kamailio, 'bob', 'bob-pw'), keepaliveSeconds: 1 },
    });
    await waitFor('bob registered', () => bob.status('bob')?.state === 'connected', 20_000);

    // Bob writes first: the conversation with him exists at the gateway.
    await bob.client('bob')!.send({
      roomId: RemoteRoomId(kamailio.uri('alice')),
      transactionId: TransactionId('b-1'),
      text: 'hi alice',
    });
    const conv = await eventually(async () => {
      const list = (await me.call('GET', '/api/v1/conversations')).json as { id: string; address: string }[];
      return list.find((c) => c.address.includes('bob'));
    }, 'the conversation with bob');

    const restart = kamailio.restart({ downMs: 10_000 });
    await eventually(async () => states.includes('transient_disconnect'), 'alice transient', 15_000);
    const fromDown = states.lastIndexOf('transient_disconnect');
    const texts = ['while down 1', 'while down 2', 'while down 3'];
    const ids: string[] = [];
    for (const text of texts) {
      const r = await me.call('POST', `/api/v1/conversations/${conv.id}/messages`, { text });
      expect(r.status).toBe(202);
      ids.push(r.json.id);
    }
    await restart;
    await eventually(
      async () => states.slice(fromDown).includes('connected') && (await state()) === 'connected',
      'alice registered again',
      60_000,
    );
    await waitFor('bob registered again', () => bob.status('bob')?.state === 'connected', 60_000);

    const got = await eventually(
      async () => {
        const list = (host.eventsOf('bob') as MessageEvent[])
          .filter((e) => e.type === 'message' && texts.includes(e.text))
          .map((e) => e.text);
        return list.length >= texts.length && list;
      },
      'the three messages at bob',
      60_000,
    );
    expect(got).toEqual(texts);
    const msgs = (await me.call('GET', `/api/v1/conversations/${conv.id}/messages`)).json as {
      id: string;
      status: string;
    }[];
    for (const id of ids) expect(isOut(msgs.find((m) => m.id === id)?.status ?? '')).toBe(true);
    ws.close();
  });
});
