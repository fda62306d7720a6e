import path from 'node:path';
import type { DataSource } from 'typeorm';
import { fakeHub } from '../fixtures/fake-adapter';
import { addAccount } from '../support/bridge-env';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../support/gateway';
import { startProsody, type ProsodyServer } from '../support/prosody';
import { accountOptions } from '../xmpp/xmpp-harness';
import { AccountsService } from '../../src/accounts/accounts.service';
import { ApiError } from '../../src/api/api-error';
import { ConversationsService } from '../../src/messaging/conversations.service';
import { OutboxService } from '../../src/messaging/outbox.service';
import { RosterService } from '../../src/roster/roster.service';
import { RemoteMessageId, RemoteRoomId, RemoteUserId } from '../../src/sdk';
import { AccountState, Conversation, Endpoint, Message } from '../../src/storage/entities';
import { DATA_SOURCE } from '../../src/tokens';

/** Rows that still name the account (directly or through a conversation of it). */
async function leftBehind(ds: DataSource, account: string, conv?: string): Promise<number> {
  return (
    (await ds.getRepository(Conversation).countBy({ accountId: account })) +
    (await ds.getRepository(Endpoint).countBy({ accountId: account })) +
    (await ds.getRepository(AccountState).countBy({ accountId: account })) +
    (conv ? await ds.getRepository(Message).countBy({ conversationId: conv }) : 0)
  );
}

function refused(r: PromiseSettledResult<unknown>, status: number, message: RegExp): void {
  expect(r.status).toBe('rejected');
  const err = (r as PromiseRejectedResult).reason as unknown;
  expect(err).toBeInstanceOf(ApiError);
  expect((err as ApiError).getStatus()).toBe(status);
  expect(JSON.stringify((err as ApiError).getResponse())).toMatch(message);
}

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

  it('a message sent while its account is deleted: a named 404, no message row', async () => {
    const { account, conv } = await connectedAccount();
    const [sent, removed] = await Promise.allSettled([
      env.gw.app.get(OutboxService).submit(ownerId, conv, { text: 'into the void' }),
      env.gw.app.get(AccountsService).remove(ownerId, account),
    ]);
    expect(removed.status).toBe('fulfilled');
    refused(sent, 404, /conversation not found: its account was deleted/);
    expect(await leftBehind(ds, account, conv)).toBe(0);
  });

  it('a deletion started first and a message right after it: still a named 404', async () => {
    const { account, conv } = await connectedAccount();
    const [removed, sent] = await Promise.allSettled([
      env.gw.app.get(AccountsService).remove(ownerId, account),
      env.gw.app.get(OutboxService).submit(ownerId, conv, { text: 'too late', clientId: 'c-1' }),
    ]);
    expect(removed.status).toBe('fulfilled');
    refused(sent, 404, /conversation not found: its account was deleted/);
    expect(await leftBehind(ds, account, conv)).toBe(0);
  });

  it('a room opened while its account is deleted: a named 404, no conversation row', async () => {
    const { account } = await connectedAccount();
    const [opened, removed] = await Promise.allSettled([
      env.gw.app.get(ConversationsService).open(ownerId, { accountId: account, address: '#late' }),
      env.gw.app.get(AccountsService).remove(ownerId, account),
    ]);
    expect(removed.status).toBe('fulfilled');
    refused(opened, 404, /account not found: it was deleted while the conversation was being opened/);
    expect(await leftBehind(ds, account)).toBe(0);
  });

  it('a deletion started first and a room opened right after it: a named 404 (not "try again"), no row', async () => {
    const { account } = await connectedAccount();
    const [removed, opened] = await Promise.allSettled([
      env.gw.app.get(AccountsService).remove(ownerId, account),
      env.gw.app.get(ConversationsService).open(ownerId, { accountId: account, address: '#later' }),
    ]);
    expect(removed.status).toBe('fulfilled');
    refused(opened, 404, /account not found: it was deleted while the conversation was being opened/);
    expect(await leftBehind(ds, account)).toBe(0);
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
    await eventually(async () => (await leftBehind(ds, account, conv)) === 0, 'nothing left of the account');
    expect(await ds.getRepository(Message).countBy({ ownerId, text: 'hello?' })).toBe(0);
  });
});

/**
 * The same races where the network call is in flight when the client is stopped (a real XMPP server answers
 * after the deletion began): the request is a named 404, not the client's "disconnected" error as a 500.
 */
describe('account deletion races on a real XMPP server (prosody)', () => {
  let xmpp: ProsodyServer;
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let me: Api;
  let ownerId: string;
  let ds: DataSource;

  beforeAll(async () => {
    xmpp = await startProsody();
    await Promise.all(['me1', 'me2', 'erin'].map((u) => xmpp.registerUser(u, 'pw-of-' + u)));
    env = await startTestGateway({
      adapters: [{ id: 'xmpp', path: path.resolve(__dirname, '../../adapters/xmpp') }],
    });
    me = await new Api(env.gw.url).login('admin', ADMIN_PASSWORD);
    ownerId = (await me.call('GET', '/api/v1/me')).json.id as string;
    ds = env.gw.app.get<DataSource>(DATA_SOURCE);
  }, 60_000);
  afterAll(async () => {
    await env?.stop();
    await xmpp?.stop();
  });

  it('a contact added while its account is deleted: a named 404', async () => {
    const account = await addAccount(me, 'xmpp', accountOptions(xmpp, 'me1', 'pw-of-me1'));
    const [added, removed] = await Promise.allSettled([
      env.gw.app.get(RosterService).addContact(ownerId, account, `erin@${xmpp.domain}`),
      env.gw.app.get(AccountsService).remove(ownerId, account),
    ]);
    expect(removed.status).toBe('fulfilled');
    refused(added, 404, /account not found: it was deleted while the contact was being added/);
    expect(await leftBehind(ds, account)).toBe(0);
  });

  it('a room joined while its account is deleted: a named 404, no conversation row', async () => {
    const account = await addAccount(me, 'xmpp', accountOptions(xmpp, 'me2', 'pw-of-me2'));
    const [opened, removed] = await Promise.allSettled([
      env.gw.app
        .get(ConversationsService)
        .open(ownerId, { accountId: account, address: `late@${xmpp.mucDomain}` }),
      env.gw.app.get(AccountsService).remove(ownerId, account),
    ]);
    expect(removed.status).toBe('fulfilled');
    refused(opened, 404, /account not found: it was deleted while the conversation was being opened/);
    expect(await leftBehind(ds, account)).toBe(0);
  });
});
