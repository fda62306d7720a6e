import { fakeHub } from '../fixtures/fake-adapter';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../support/gateway';
import { ApiError } from '../../src/api/api-error';
import { OutboxService } from '../../src/messaging/outbox.service';
import { Message } from '../../src/storage/entities';
import { DATA_SOURCE } from '../../src/tokens';
import type { DataSource } from 'typeorm';

/**
 * Two clients of one user (or a double submit) acting at once: both operations are started in the same
 * tick straight on the services, so both pass their checks before either writes.
 */
describe('message races (two clients of one user at once)', () => {
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let admin: Api;
  let ownerId: string;
  let conv: string;

  beforeAll(async () => {
    fakeHub.reset();
    env = await startTestGateway();
    admin = await new Api(env.gw.url).login('admin', ADMIN_PASSWORD);
    ownerId = (await admin.call('GET', '/api/v1/me')).json.id as string;
    const acc = await admin.call('POST', '/api/v1/accounts', {
      adapter: 'fake',
      options: { network: 'races', user: 'alice', password: 'pw' },
    });
    await eventually(
      async () => (await admin.call('GET', `/api/v1/accounts/${acc.json.id}`)).json.state === 'connected',
      'connected',
    );
    conv = (await admin.call('POST', '/api/v1/conversations', { accountId: acc.json.id, address: '#races' }))
      .json.id as string;
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
});
