import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RemoteRoomId, TransactionId } from '../../src/sdk';
import type { XmppClient } from '../../adapters/xmpp';
import { RawIrcClient } from '../irc/raw-irc-client';
import {
  addRelayAccounts,
  joinConversation,
  matrixCall,
  matrixSend,
  relayMessagesInMuc,
  relayMessagesOnMatrix,
  startBridgeGateway,
  startBridgeServers,
  startXmppPeople,
  type BridgeServers,
  type XmppPeople,
} from '../support/bridge-env';
import { Api, eventually, type startTestGateway } from '../support/gateway';
import type { InspircdServer } from '../support/inspircd';
import type { MatrixHomeserver, RegisteredUser } from '../support/matrix-homeserver';
import { freePort } from '../support/ports';
import { httpsGet, type ProsodyServer } from '../support/prosody';

/** A real 1×1 PNG. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);
/** Downloads of relayed files allowed per address per minute in this gateway (media.rateLimit). */
const MEDIA_REQUESTS = 40;
const MAX_BYTES = 64 * 1024;
/** Prosody's upload limit (mod_http_file_share): smaller files are uploaded to XMPP, larger ones linked. */
const XMPP_UPLOAD_LIMIT = 1024;

/**
 * Files across a bridge of an IRC channel (InspIRCd), an XMPP MUC (prosody, with XEP-0363 upload) and two
 * Matrix rooms (the test homeserver): a Matrix image is fetched through the Matrix adapter, checked, stored
 * and linked on IRC, uploaded to the XMPP server (a larger one than it takes is linked, with XEP-0066 OOB)
 * and re-uploaded into the other Matrix room; files over the size limit or of a refused type become a "not
 * relayed" note; an XMPP OOB link is passed on, never fetched.
 */
describe('files across a bridge', () => {
  let servers: BridgeServers<'mia'>;
  let irc: InspircdServer;
  let xmpp: ProsodyServer;
  let hs: MatrixHomeserver;
  let env: Awaited<ReturnType<typeof startTestGateway>>;
  let me: Api;
  let ian: RawIrcClient;
  let people: XmppPeople<'x'>;
  let xena: XmppClient;
  let mia: RegisteredUser;
  let roomA: string;
  let roomB: string;
  let gatewayUrl: string;
  /** Stands for a sender's upload server: the gateway must never fetch from it. */
  let uploadServer: Server;
  const uploadRequests: string[] = [];
  const muc = () => `media@${xmpp.mucDomain}`;

  const mx = (method: string, p: string, body?: object) => matrixCall(hs, mia, method, p, body);
  const upload = async (data: Buffer, type: string, name: string): Promise<string> => {
    const res = await fetch(`${hs.url}/_matrix/media/v3/upload?filename=${encodeURIComponent(name)}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${mia.accessToken}`, 'content-type': type },
      body: data,
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { content_uri: string }).content_uri;
  };
  let txn = 0;
  const miaPostsFile = async (msgtype: string, name: string, type: string, data: Buffer) =>
    matrixSend(hs, mia, roomA, `f${++txn}`, {
      msgtype,
      body: name,
      url: await upload(data, type, name),
      info: { mimetype: type },
    });
  const relayedIn = (room: string) => relayMessagesOnMatrix(hs, mia, room, 100);
  const xmppRelayed = () => relayMessagesInMuc(people, 'x', muc());

  beforeAll(async () => {
    uploadServer = createServer((req, res) => {
      uploadRequests.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
    });
    await new Promise<void>((r) => uploadServer.listen(0, '127.0.0.1', r));
    // Prosody offers XEP-0363 upload for small images: those reach XMPP as uploads, others as links.
    servers = await startBridgeServers({
      xmppUsers: ['xena'],
      matrixUsers: { mia: 'mia' },
      prosody: { fileShare: { sizeLimit: XMPP_UPLOAD_LIMIT, allowedTypes: ['image/*'] } },
    });
    ({ irc, xmpp, hs } = servers);
    mia = servers.matrix.mia;
    const port = await freePort();
    gatewayUrl = `http://127.0.0.1:${port}`;
    ({ env, me } = await startBridgeGateway({
      server: { host: '127.0.0.1', port, publicUrl: gatewayUrl },
      media: { maxBytes: MAX_BYTES, rateLimit: { requests: MEDIA_REQUESTS, windowSeconds: 60 } },
    }));

    ian = await RawIrcClient.register(irc.host, irc.port, 'ian');
    ian.send('JOIN #media');
    people = await startXmppPeople(xmpp, { x: 'xena' });
    xena = people.clients.x;
    await xena.joinRoom(`${muc()}/xena`);
    roomA = (await mx('POST', '/createRoom', { name: 'a', invite: ['@relay:hs.test'] })).room_id as string;
    roomB = (await mx('POST', '/createRoom', { name: 'b', invite: ['@relay:hs.test'] })).room_id as string;

    const accounts = await addRelayAccounts(me, servers);
    const conversations = [
      await joinConversation(me, accounts.irc, '#media'),
      await joinConversation(me, accounts.xmpp, `${muc()}/relay`),
      await joinConversation(me, accounts.matrix, roomA),
      await joinConversation(me, accounts.matrix, roomB),
    ];
    await ian.waitFor(/:relay!\S+ JOIN :?#media/);
    const r = await me.call('POST', '/api/v1/bridges', { name: 'media', conversations });
    expect(r.status).toBe(201);
  }, 90_000);

  afterAll(async () => {
    await ian?.close();
    await people?.stop();
    await env?.stop();
    await servers?.stop();
    await new Promise((r) => uploadServer?.close(r));
  });

  it('links a Matrix image on IRC (served with safe headers), uploads it to XMPP (XEP-0363) and the other Matrix room', async () => {
    await miaPostsFile('m.image', 'cat.png', 'image/png', PNG);

    const line = await ian.waitFor(/PRIVMSG #media :<mia> \[image: cat\.png\] (\S+)$/, 20_000);
    const link = /PRIVMSG #media :<mia> \[image: cat\.png\] (\S+)$/.exec(line)![1]!;
    const id = new RegExp(`^${gatewayUrl}/media/([A-Za-z0-9_-]{32,})/cat\\.png$`).exec(link)?.[1];
    expect(id).toBeDefined();

    // Anyone with the link (no token) gets the same bytes, typed and sandboxed.
    const res = await fetch(link);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(PNG);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toBe("sandbox; default-src 'none'");
    expect(res.headers.get('content-disposition')).toMatch(/^inline; filename="cat\.png"/);

    // XMPP: its server takes files (XEP-0363), so the file is uploaded there: the relay line as a caption,
    // then the file's URL on the XMPP server as the body, with XEP-0066 OOB.
    const caption = await eventually(
      async () => xmppRelayed().find((e) => e.text === 'mia: [image: cat.png]'),
      'the caption on XMPP',
    );
    const onXmpp = await eventually(
      async () => xmppRelayed().find((e) => /\/file_share\/.+\/cat\.png$/.test(e.text)),
      'the uploaded image on XMPP',
    );
    expect(onXmpp.text).toMatch(new RegExp(`^https://127\\.0\\.0\\.1:${xmpp.upload!.httpsPort}/`));
    expect(onXmpp.attachments?.map((a) => a.url)).toEqual([onXmpp.text]);
    const events = xmppRelayed();
    expect(events.indexOf(caption)).toBeLessThan(events.indexOf(onXmpp));
    expect((await httpsGet(onXmpp.text, xmpp.certificatePem)).body.equals(PNG)).toBe(true);

    // The other Matrix room gets the file itself, captioned with its sender.
    const reuploaded = await eventually(
      async () => (await relayedIn(roomB)).find((e) => e.content.msgtype === 'm.image'),
      'the image re-uploaded into the other Matrix room',
    );
    expect(reuploaded.content.body).toBe('mia: [image: cat.png]');
    expect(reuploaded.content.filename).toBe('cat.png');
    const mxc = /^mxc:\/\/([^/]+)\/(\S+)$/.exec(String(reuploaded.content.url));
    expect(mxc).not.toBeNull();
    const copy = await fetch(`${hs.url}/_matrix/media/v3/download/${mxc![1]}/${mxc![2]}`);
    expect(Buffer.from(await copy.arrayBuffer())).toEqual(PNG);
  });

  it("links an image over the XMPP server's upload limit on XMPP, with OOB", async () => {
    const wide = Buffer.concat([PNG, Buffer.alloc(2 * XMPP_UPLOAD_LIMIT)]);
    await miaPostsFile('m.image', 'wide.png', 'image/png', wide);
    const line = await ian.waitFor(/PRIVMSG #media :<mia> \[image: wide\.png\] (\S+)$/, 20_000);
    const link = /PRIVMSG #media :<mia> \[image: wide\.png\] (\S+)$/.exec(line)![1]!;
    expect(link.startsWith(`${gatewayUrl}/media/`)).toBe(true);
    const onXmpp = await eventually(
      async () => xmppRelayed().find((e) => e.text.startsWith('mia: [image: wide.png]')),
      'the linked image on XMPP',
    );
    expect(onXmpp.text).toBe(`mia: [image: wide.png] ${link}`);
    expect(onXmpp.attachments?.map((a) => a.url)).toEqual([link]);
  });

  it("links a file the XMPP server's upload service refuses (its type), with OOB", async () => {
    const pdf = Buffer.from('%PDF-1.4\n%\u00e2\u00e3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n', 'latin1');
    await miaPostsFile('m.file', 'doc.pdf', 'application/pdf', pdf);
    const line = await ian.waitFor(/PRIVMSG #media :<mia> \[file: doc\.pdf[^\]]*\] (\S+)$/, 20_000);
    const link = /PRIVMSG #media :<mia> \[file: doc\.pdf[^\]]*\] (\S+)$/.exec(line)![1]!;
    const onXmpp = await eventually(
      async () => xmppRelayed().find((e) => e.text.startsWith('mia: [file: doc.pdf')),
      'the linked file on XMPP',
    );
    expect(onXmpp.text.endsWith(` ${link}`)).toBe(true);
    expect(onXmpp.attachments?.map((a) => a.url)).toEqual([link]);
    expect(xmppRelayed().some((e) => /\/file_share\/.+\/doc\.pdf$/.test(e.text))).toBe(false);
  });

  it('holds a copy back while the homeserver cannot serve its file, and relays the file once it can', async () => {
    const before = hs.requestCount('mediaDownload');
    // The homeserver is briefly in trouble: the first downloads get 502 (the gateway retries with backoff).
    hs.faults.failNext('mediaDownload', { status: 502, errcode: 'M_UNKNOWN', error: 'bad gateway' }, 3);
    await miaPostsFile('m.image', 'later.png', 'image/png', PNG);
    const line = await ian.waitFor(/PRIVMSG #media :<mia> \[image: later\.png\] (\S+)$/, 30_000);
    const link = /PRIVMSG #media :<mia> \[image: later\.png\] (\S+)$/.exec(line)![1]!;
    expect(Buffer.from(await (await fetch(link)).arrayBuffer())).toEqual(PNG);
    // Fetched once it worked: the three failures, then one success (the other copies reuse it).
    expect(hs.requestCount('mediaDownload') - before).toBe(4);
    expect(ian.lines.some((l) => /later\.png.*could not be fetched/.test(l))).toBe(false);
  });

  it('relays an over-size file and a refused type as a "not relayed" note, never as a link', async () => {
    const big = Buffer.concat([PNG, Buffer.alloc(MAX_BYTES)]);
    await miaPostsFile('m.image', 'huge.png', 'image/png', big);
    await ian.waitFor(
      /PRIVMSG #media :<mia> \[file: huge\.png, image\/png(, [\d.]+ KB)? — not relayed: larger than [\d.]+ KB\]$/,
      20_000,
    );
    await miaPostsFile('m.file', 'page.html', 'text/html', Buffer.from('<script>alert(1)</script>'));
    await ian.waitFor(
      /PRIVMSG #media :<mia> \[file: page\.html, text\/html, 25 bytes — not relayed: type not allowed\]$/,
      20_000,
    );
    // An "image" that is not one is refused too: the bytes decide, not the sender.
    await miaPostsFile('m.image', 'fake.png', 'image/png', Buffer.from('<svg onload="alert(1)"/>'));
    await ian.waitFor(
      /PRIVMSG #media :<mia> \[file: fake\.png, image\/png, 24 bytes — not relayed: not an image\]$/,
    );

    const onB = await eventually(async () => {
      const list = await relayedIn(roomB);
      return list.some((e) => String(e.content.body).includes('fake.png')) && list;
    }, 'the notes in the other Matrix room');
    const notes = onB.filter((e) => /huge|page|fake/.test(String(e.content.body)));
    expect(notes.map((e) => e.content.msgtype)).toEqual(['m.text', 'm.text', 'm.text']);
    expect(notes.every((e) => !('url' in e.content))).toBe(true);
  });

  it('passes an XMPP OOB link on as a link, without fetching it', async () => {
    const { port } = uploadServer.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}/upload/abc/dog.png`;
    await xena.send({
      roomId: RemoteRoomId(muc()),
      transactionId: TransactionId('oob-1'),
      text: url,
      attachments: [{ url, name: 'dog.png', mimeType: 'image/png' }],
    });
    await ian.waitFor(new RegExp(`PRIVMSG #media :<xena> ${url.replace(/[.]/g, '\\.')}$`));
    const onA = await eventually(
      async () => (await relayedIn(roomA)).find((e) => String(e.content.body).includes('dog.png')),
      'the link on Matrix',
    );
    expect(onA.content.msgtype).toBe('m.text');
    expect(onA.content.body).toBe(`xena: ${url}`);
    expect(uploadRequests).toEqual([]);
  });

  it('stops serving a file once its message is deleted', async () => {
    const posted = await miaPostsFile('m.image', 'gone.png', 'image/png', PNG);
    const line = await ian.waitFor(/PRIVMSG #media :<mia> \[image: gone\.png\] (\S+)$/, 20_000);
    const link = /PRIVMSG #media :<mia> \[image: gone\.png\] (\S+)$/.exec(line)![1]!;
    expect((await fetch(link)).status).toBe(200);
    await mx('PUT', `/rooms/${encodeURIComponent(roomA)}/redact/${encodeURIComponent(posted)}/r${++txn}`, {});
    await ian.waitFor(/PRIVMSG #media :\* mia deleted a message$/);
    await eventually(async () => (await fetch(link)).status === 404, 'the link gone');
  });

  it('answers an unknown media id with a JSON 404', async () => {
    for (const p of ['/media/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/x.png', '/media/nope']) {
      const res = await fetch(gatewayUrl + p, { headers: { accept: 'text/html' } });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    }
  });

  // Last: it spends this address's downloads for the rest of the window.
  it('limits downloads per client address (media.rateLimit): 429 with Retry-After, misses counted too', async () => {
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i <= MEDIA_REQUESTS && !limited; i++) {
      const res = await fetch(`${gatewayUrl}/media/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA${i % 10}/x.png`);
      statuses.push(res.status);
      if (res.status === 429) limited = res;
      else await res.arrayBuffer();
    }
    // Every earlier test's downloads counted as well, so the limit comes within MEDIA_REQUESTS tries.
    expect(limited).toBeDefined();
    expect(statuses.slice(0, -1).every((s) => s === 404)).toBe(true);
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(limited!.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    const body = (await limited!.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('RATE_LIMITED');
    expect(body.error.message).toMatch(/too many downloads/);
  });
});
