import { fakeHub } from '../fixtures/fake-adapter';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../support/gateway';
import { ApiError } from '../../src/api/api-error';
import { OutboxService } from '../../src/messaging/outbox.service';
import { Conversation, Message } from '../../src/storage/entities';
import { ConversationsService } from '../../src/messaging/conversations.service';
import { DATA_SOURCE } from '../../src/tokens';
import type { DataSource } from 'typeorm';
import { randomUUID } from 'node:crypto';
import { insertRow } from '../../src/common/db';
import { newMessageId } from '../../src/messaging/message-id';
import { OutboxLanes } from '../../src/messaging/outbox-lanes';

/**
 * Two clients of one user (or a double submit) acting at once: both operations are started in the same
 * tick straight on the services, so both pass their checks before either writes.
 */
describe('message races (two clients of one user at once)', () => {
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let admin: Api;
  let ownerId: string;
  let conv: string;
  let bobConv: string;
  let aliceAccount: string;

  beforeAll(async () => {
    fakeHub.reset();
    env = await startTestGateway();
    admin = await new Api(env.gw.url).login('admin', ADMIN_PASSWORD);
    ownerId = (await admin.call('GET', '/api/v1/me')).json.id as string;
    // Two accounts of the same user on one fake network: bob's side shows what the network carried.
    const convs: string[] = [];
    const accounts: string[] = [];
    for (const user of ['alice', 'bob']) {
      const acc = await admin.call('POST', '/api/v1/accounts', {
        adapter: 'fake',
        options: { network: 'races', user, password: 'pw' },
      });
      await eventually(
        async () => (await admin.call('GET', `/api/v1/accounts/${acc.json.id}`)).json.state === 'connected',
        'connected',
      );
      accounts.push(acc.json.id as string);
      convs.push(
        (await admin.call('POST', '/api/v1/conversations', { accountId: acc.json.id, address: '#races' }))
          .json.id as string,
      );
    }
    [conv, bobConv] = convs as [string, string];
    aliceAccount = accounts[0]!;
  });
  afterAll(async () => {
    await env?.stop();
    fakeHub.reset();
  });

  function oneRefused(results: PromiseSettledResult<unknown>[], status: number, message: RegExp): void {
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!
      .reason as ApiError;
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused.getStatus()).toBe(status);
    expect(JSON.stringify(refused.getResponse())).toMatch(message);
  }

  async function sentMessage(text: string): Promise<string> {
    const r = await admin.call('POST', `/api/v1/conversations/${conv}/messages`, { text });
    expect(r.status).toBe(202);
    const id = r.json.id as string;
    await eventually(
      async () =>
        (
          (await admin.call('GET', `/api/v1/conversations/${conv}/messages`)).json as {
            id: string;
            status: string;
          }[]
        ).find((m) => m.id === id)?.status === 'sent',
      'sent',
    );
    return id;
  }

  /** A message of the user stored queued with no job, as the boot sweep or a queue worker finds it. */
  async function queuedMessage(text: string): Promise<string> {
    const ds = env.gw.app.get<DataSource>(DATA_SOURCE);
    const id = newMessageId();
    await insertRow(ds.manager, Message, {
      id,
      ownerId,
      conversationId: conv,
      senderEndpointId: null,
      senderName: 'me',
      self: true,
      kind: 'text',
      text,
      html: null,
      replyToId: null,
      editedAt: null,
      deleted: false,
      attachments: null,
      sentAt: Date.now(),
      status: 'queued',
      failReason: null,
      clientId: null,
      transactionId: randomUUID(),
      origin: null,
    });
    return id;
  }

  const row = (id: string) =>
    env.gw.app.get<DataSource>(DATA_SOURCE).getRepository(Message).findOneByOrFail({ id });

  it('a deletion and an edit at once: the message stays deleted and the edit is a 409', async () => {
    const id = await sentMessage('to be taken back');
    const outbox = env.gw.app.get(OutboxService);
    const both = await Promise.allSettled([
      outbox.redact(ownerId, conv, id),
      outbox.edit(ownerId, conv, id, 'edited after all'),
    ]);
    oneRefused(both, 409, /the message was deleted/);
    expect(both[0].status).toBe('fulfilled');
    const m = await row(id);
    expect(m.deleted).toBe(true);
    expect(m.text).toBe('');
  });

  it('two deletions at once: one deletes, the other is a 409', async () => {
    const id = await sentMessage('deleted twice');
    const outbox = env.gw.app.get(OutboxService);
    const both = await Promise.allSettled([
      outbox.redact(ownerId, conv, id),
      outbox.redact(ownerId, conv, id),
    ]);
    oneRefused(both, 409, /the message was deleted/);
    expect((await row(id)).deleted).toBe(true);
  });

  it('an edit while the message is being sent: the network gets the edit too', async () => {
    // Stored queued with no job (as the sweep or a worker would find it), then sent and edited at once:
    // the send reads the row before the edit writes it, and must not be the last word on the network.
    const id = await queuedMessage('teh typo');
    const outbox = env.gw.app.get(OutboxService);
    const [sent, edited] = await Promise.allSettled([
      outbox.deliverMany([id]),
      outbox.edit(ownerId, conv, id, 'the typo fixed'),
    ]);
    expect(sent).toEqual({ status: 'fulfilled', value: { sent: 1 } });
    expect(edited.status).toBe('fulfilled');
    expect(await row(id)).toMatchObject({ status: 'sent', text: 'the typo fixed' });
    const bobSees = async () =>
      (
        (await admin.call('GET', `/api/v1/conversations/${bobConv}/messages`)).json as {
          text: string;
          editedAt?: string;
        }[]
      ).find((m) => m.text === 'the typo fixed' && m.editedAt);
    await eventually(bobSees, 'the edit on the network', 5000);
  });

  it('a deletion while the message is being sent: the deletion follows it to the network', async () => {
    const id = await queuedMessage('sent and taken back');
    const outbox = env.gw.app.get(OutboxService);
    // The fake network keeps deleted messages, so the deletion job handed to the outbox is what shows it.
    const enqueue = jest.spyOn(env.gw.app.get(OutboxLanes), 'enqueue');
    try {
      const [sent, redacted] = await Promise.allSettled([
        outbox.deliverMany([id]),
        outbox.redact(ownerId, conv, id),
      ]);
      expect(sent).toEqual({ status: 'fulfilled', value: { sent: 1 } });
      expect(redacted.status).toBe('fulfilled');
      expect(await row(id)).toMatchObject({ status: 'sent', deleted: true });
      const jobs = enqueue.mock.calls.flatMap(([specs]) => specs.map((j) => j.data));
      expect(jobs).toContainEqual(expect.objectContaining({ op: 'redact', messageId: id }));
    } finally {
      enqueue.mockRestore();
    }
  });

  it('two edits at once: both reach the network, the later one last', async () => {
    const id = await sentMessage('first draft');
    const outbox = env.gw.app.get(OutboxService);
    const both = await Promise.allSettled([
      outbox.edit(ownerId, conv, id, 'second draft'),
      outbox.edit(ownerId, conv, id, 'third draft'),
    ]);
    expect(both.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    expect((await row(id)).text).toBe('third draft');
    // Bob's copy ends with the text the gateway kept: the second edit was not lost on the way.
    await eventually(
      async () => {
        const msgs = (await admin.call('GET', `/api/v1/conversations/${bobConv}/messages`)).json as {
          text: string;
        }[];
        return msgs.some((m) => m.text === 'third draft');
      },
      'the later edit on the network',
      5000,
    );
  });

  it('the same message submitted twice at once (one clientId): one message, one answer', async () => {
    const outbox = env.gw.app.get(OutboxService);
    const clientId = randomUUID();
    const both = await Promise.allSettled([
      outbox.submit(ownerId, conv, { text: 'double click', clientId }),
      outbox.submit(ownerId, conv, { text: 'double click', clientId }),
    ]);
    expect(both.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    const ids = both.map((r) => (r as PromiseFulfilledResult<{ id: string }>).value.id);
    expect(ids[0]).toBe(ids[1]);
    const rows = await env.gw.app
      .get<DataSource>(DATA_SOURCE)
      .getRepository(Message)
      .findBy({ conversationId: conv, clientId });
    expect(rows).toHaveLength(1);
  });

  it('one room opened twice at once: one conversation', async () => {
    const conversations = env.gw.app.get(ConversationsService);
    const both = await Promise.allSettled([
      conversations.open(ownerId, { accountId: aliceAccount, address: '#opened-twice' }),
      conversations.open(ownerId, { accountId: aliceAccount, address: '#opened-twice' }),
    ]);
    expect(both.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    const ids = both.map((r) => (r as PromiseFulfilledResult<{ id: string }>).value.id);
    expect(ids[0]).toBe(ids[1]);
    const rows = await env.gw.app
      .get<DataSource>(DATA_SOURCE)
      .getRepository(Conversation)
      .findBy({ accountId: aliceAccount, remoteId: '#opened-twice' });
    expect(rows).toHaveLength(1);
  });
});
