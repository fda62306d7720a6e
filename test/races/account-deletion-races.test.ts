import type { DataSource } from 'typeorm';
import { fakeHub } from '../fixtures/fake-adapter';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../support/gateway';
import { AccountsService } from '../../src/accounts/accounts.service';
import { ApiError } from '../../src/api/api-error';
import { ConversationsService } from '../../src/messaging/conversations.service';
import { OutboxService } from '../../src/messaging/outbox.service';
import { RemoteMessageId, RemoteRoomId, RemoteUserId } from '../../src/sdk';
import { AccountState, Conversation, Endpoint, Message } from '../../src/storage/entities';
import { DATA_SOURCE } from '../../src/tokens';

/**
 * A request that goes through an account while the account is being deleted: both are started in the same
 * tick straight on the services, so the request passes its checks before the deletion commits and writes
 * after it. It must end in a named 4xx or in a row the deletion took away, never in a foreign key error.
 */
describe('account deletion races (a request through an account being deleted)', () => {
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let admin: Api;
  let ownerId: string;
  let ds: DataSource;
  let n = 0;

  beforeAll(async () => {
    fakeHub.reset();
    env = await startTestGateway();
    admin = await new Api(env.gw.url).login('admin', ADMIN_PASSWORD);
    ownerId = (await admin.call('GET', '/api/v1/me')).json.id as string;
    ds = env.gw.app.get<DataSource>(DATA_SOURCE);
  });
  afterAll(async () => {
    await env?.stop();
    fakeHub.reset();
  });

  /** A connected fake account of the admin, and a room it has open. */
  async function connectedAccount(): Promise<{ account: string; conv: string }> {
    const acc = await admin.call('POST', '/api/v1/accounts', {
      adapter: 'fake',
      options: { network: 'deletion-races', user: `user${++n}`, password: 'pw' },
    });
    const account = acc.json.id as string;
    await eventually(
      async () => (await admin.call('GET', `/api/v1/accounts/${account}`)).json.state === 'connected',
      'connected',
    );
    const conv = (await admin.call('POST', '/api/v1/conversations', { accountId: account, address: '#room' }))
      .json.id as string;
    return { account, conv };
  }

  function refused(r: PromiseSettledResult<unknown>, status: number, message: RegExp): void {
    expect(r.status).toBe('rejected');
    const err = (r as PromiseRejectedResult).reason as unknown;
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).getStatus()).toBe(status);
    expect(JSON.stringify((err as ApiError).getResponse())).toMatch(message);
  }

  /** Rows that still name the deleted account (directly or through its conversations). */
  async function leftBehind(account: string, conv?: string): Promise<number> {
    return (
      (await ds.getRepository(Conversation).countBy({ accountId: account })) +
      (await ds.getRepository(Endpoint).countBy({ accountId: account })) +
      (await ds.getRepository(AccountState).countBy({ accountId: account })) +
      (conv ? await ds.getRepository(Message).countBy({ conversationId: conv }) : 0)
    );
  }

  it('a message sent while its account is deleted: a named 404, no message row', async () => {
    const { account, conv } = await connectedAccount();
    const [sent, removed] = await Promise.allSettled([
      env.gw.app.get(OutboxService).submit(ownerId, conv, { text: 'into the void' }),
      env.gw.app.get(AccountsService).remove(ownerId, account),
    ]);
    expect(removed.status).toBe('fulfilled');
    refused(sent, 404, /conversation not found: its account was deleted/);
    expect(await leftBehind(account, conv)).toBe(0);
  });

  it('a deletion started first and a message right after it: still a named 404', async () => {
    const { account, conv } = await connectedAccount();
    const [removed, sent] = await Promise.allSettled([
      env.gw.app.get(AccountsService).remove(ownerId, account),
      env.gw.app.get(OutboxService).submit(ownerId, conv, { text: 'too late', clientId: 'c-1' }),
    ]);
    expect(removed.status).toBe('fulfilled');
    refused(sent, 404, /conversation not found: its account was deleted/);
    expect(await leftBehind(account, conv)).toBe(0);
  });

  it('a room opened while its account is deleted: a named 404, no conversation row', async () => {
    const { account } = await connectedAccount();
    const [opened, removed] = await Promise.allSettled([
      env.gw.app.get(ConversationsService).open(ownerId, { accountId: account, address: '#late' }),
      env.gw.app.get(AccountsService).remove(ownerId, account),
    ]);
    expect(removed.status).toBe('fulfilled');
    refused(opened, 404, /account not found: it was deleted while the conversation was being opened/);
    expect(await leftBehind(account)).toBe(0);
  });

  it('a deletion started first and a room opened right after it: a 409 (the account stopped), no row', async () => {
    const { account } = await connectedAccount();
    const [removed, opened] = await Promise.allSettled([
      env.gw.app.get(AccountsService).remove(ownerId, account),
      env.gw.app.get(ConversationsService).open(ownerId, { accountId: account, address: '#later' }),
    ]);
    expect(removed.status).toBe('fulfilled');
    refused(opened, 409, /the account is not connected/);
    expect(await leftBehind(account)).toBe(0);
  });

  it('a message arriving from the network while its account is deleted: dropped, nothing stored', async () => {
    const { account, conv } = await connectedAccount();
    const accounts = env.gw.app.get(AccountsService);
    const [ingested, removed] = await Promise.allSettled([
      accounts.emit(account, {
        type: 'message',
        at: new Date().toISOString(),
        roomId: RemoteRoomId('#elsewhere'),
        messageId: RemoteMessageId(`late-${n}`),
        sender: { userId: RemoteUserId('stranger') },
        kind: 'text',
        text: 'hello?',
      }),
      accounts.remove(ownerId, account),
    ]);
    expect(removed.status).toBe('fulfilled');
    expect(ingested.status).toBe('fulfilled');
    // A run that failed to store goes to the ingest worker, which drops events of a deleted account.
    await eventually(async () => (await leftBehind(account, conv)) === 0, 'nothing left of the account');
    expect(await ds.getRepository(Message).countBy({ ownerId, text: 'hello?' })).toBe(0);
  });
});
