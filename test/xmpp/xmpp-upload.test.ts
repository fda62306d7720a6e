import { RemoteMessageId, RemoteRoomId, TransactionId } from '@switchboard/sdk';
import type { XmppClient } from '../../adapters/xmpp';
import { waitFor } from '../registry/registry-harness';
import { httpsGet, startProsody, type ProsodyServer } from '../support/prosody';
import { accountOptions, connectedClient, startXmppGateway } from './xmpp-harness';

const LIMIT = 64 * 1024;

/**
 * XEP-0363 against prosody's mod_http_file_share (HTTPS on loopback): the adapter finds the upload service,
 * says which files it takes, uploads one with the account's certificate trust and posts it to a room as a
 * caption plus the file's URL with XEP-0066 OOB; a second occupant receives both.
 */
describe('xmpp adapter: files through HTTP upload (XEP-0363) on a real prosody', () => {
  let server: ProsodyServer;
  let plain: ProsodyServer;
  let gw: Awaited<ReturnType<typeof startXmppGateway>>;
  const room = () => `files@${server.mucDomain}`;

  beforeAll(async () => {
    [server, plain] = await Promise.all([
      startProsody({ fileShare: { sizeLimit: LIMIT } }),
      startProsody({ domain: 'noupload.test' }),
    ]);
    await server.registerUser('alice', 'alice-pw');
    await server.registerUser('bob', 'bob-pw');
    await plain.registerUser('carol', 'carol-pw');
    gw = await startXmppGateway();
    for (const [id, srv, user] of [
      ['a', server, 'alice'],
      ['c', plain, 'carol'],
    ] as const)
      await gw.supervisor.start({
        accountId: id,
        adapterId: 'xmpp',
        options: accountOptions(srv, user, `${user}-pw`),
      });
    // Bob pins the server's certificate by fingerprint: his uploads are held to the same pin.
    await gw.supervisor.start({
      accountId: 'b',
      adapterId: 'xmpp',
      options: accountOptions(server, 'bob', 'bob-pw', { trustedCertificate: server.fingerprint256 }),
    });
    await connectedClient(gw.supervisor, 'a');
    await connectedClient(gw.supervisor, 'b');
    await connectedClient(gw.supervisor, 'c');
  }, 60_000);
  afterAll(async () => {
    await gw?.stop();
    await Promise.all([server?.stop(), plain?.stop()]);
  });

  const client = (id: string) => gw.supervisor.client(id) as unknown as XmppClient;

  it("takes files up to the upload service's limit, and none where the server has no upload", async () => {
    expect(await client('a').acceptsAttachment({ name: 'a.png', mimeType: 'image/png', size: 1000 })).toBe(
      true,
    );
    expect(
      await client('a').acceptsAttachment({ name: 'b.bin', mimeType: 'image/png', size: LIMIT + 1 }),
    ).toBe(false);
    expect(await client('c').acceptsAttachment({ name: 'a.png', mimeType: 'image/png', size: 10 })).toBe(
      false,
    );
    await expect(
      client('c').sendAttachment(
        RemoteRoomId(`x@conference.${plain.domain}`),
        { name: 'a.png', mimeType: 'image/png', data: new Uint8Array(10) },
        TransactionId('no-upload'),
      ),
    ).rejects.toMatchObject({ name: 'SendError', retryable: false, code: 'unsupported' });
  });

  it('uploads a file and posts its caption and URL (OOB) to a room; the other occupant gets both', async () => {
    await client('a').joinRoom(room());
    await client('b').joinRoom(`${room()}/bob`);
    const data = Buffer.from('hello, this is a text file\n'.repeat(100));
    const id = await client('a').sendAttachment(
      RemoteRoomId(room()),
      { name: 'notes.txt', mimeType: 'text/plain', data, caption: 'mia: [file: notes.txt]' },
      TransactionId('tx-file-1'),
    );
    expect(id).toBe('tx-file-1');

    const file = await waitFor('bob gets the file message', () =>
      gw.host.find('b', 'message', (e) => e.roomId === room() && (e.attachments?.length ?? 0) > 0),
    );
    const url = file.attachments![0]!.url;
    expect(url).toMatch(
      new RegExp(`^https://127\\.0\\.0\\.1:${server.upload!.httpsPort}/file_share/.+/notes\\.txt$`),
    );
    expect(file.text).toBe(url); // the body is the URL itself: clients show such a message as the file
    const caption = gw.host.find(
      'b',
      'message',
      (e) => e.roomId === room() && e.text === 'mia: [file: notes.txt]',
    );
    expect(caption).toBeDefined();
    // The caption came first.
    const atB = gw.host.eventsOf('b').filter((e) => e.type === 'message' && e.roomId === room());
    expect(atB.indexOf(caption!)).toBeLessThan(atB.indexOf(file));

    // The server serves exactly the bytes uploaded.
    const got = await httpsGet(url, server.certificatePem);
    expect(got.status).toBe(200);
    expect(got.body.equals(data)).toBe(true);

    // Both reflections come back to alice as her own send (one transaction id), so the gateway drops them.
    await waitFor(
      'alice gets both reflections',
      () =>
        gw.host
          .eventsOf('a')
          .filter(
            (e) =>
              e.type === 'message' &&
              e.roomId === room() &&
              e.sender.self === true &&
              e.transactionId === 'tx-file-1',
          ).length === 2,
    );
  });

  it('retracts both the file and its caption when the file message is deleted', async () => {
    await client('a').redactMessage(RemoteRoomId(room()), RemoteMessageId('tx-file-1'));
    const redacted = await waitFor('bob sees both retracted', () => {
      const ids = gw.host
        .eventsOf('b')
        .filter((e) => e.type === 'message.redact' && e.roomId === room())
        .map((e) => (e as { messageId: string }).messageId);
      return ids.length >= 2 && ids;
    });
    expect(redacted.sort()).toEqual(['tx-file-1', 'tx-file-1#caption']);
  });

  it('uploads with a pinned certificate (fingerprint trust) too', async () => {
    const data = Buffer.from('pinned upload');
    await client('b').sendAttachment(
      RemoteRoomId(room()),
      { name: 'pin.txt', mimeType: 'text/plain', data },
      TransactionId('tx-pin'),
    );
    const file = await waitFor('alice gets the pinned upload', () =>
      gw.host.find('a', 'message', (e) => e.roomId === room() && /\/pin\.txt$/.test(e.text)),
    );
    expect((await httpsGet(file.text, server.certificatePem)).body.equals(data)).toBe(true);
  });

  it('refuses a file over the limit at the service, as a final error', async () => {
    await expect(
      client('a').sendAttachment(
        RemoteRoomId(room()),
        { name: 'big.bin', mimeType: 'image/png', data: new Uint8Array(LIMIT + 1) },
        TransactionId('tx-big'),
      ),
    ).rejects.toMatchObject({ name: 'SendError', retryable: false });
  });
});
