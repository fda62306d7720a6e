import { createHmac } from 'node:crypto';
import { startMatrixHomeserver, type MatrixHomeserver } from '../support/matrix-homeserver';
import { as, type As, C, call } from './matrix-http';

// Media upload and download (legacy v3 and authenticated v1 paths), profile fields, and TURN credentials.
describe('matrix test homeserver: media, profile, voip', () => {
  let hs: MatrixHomeserver;
  let alice: As;

  beforeAll(async () => {
    hs = await startMatrixHomeserver({
      serverName: 'hs.test',
      maxUploadBytes: 1024 * 1024,
      turn: { uris: ['turn:127.0.0.1:3478?transport=udp'], sharedSecret: 's3cret', ttlSeconds: 600 },
    });
    alice = as(hs, await hs.registerUser('alice', 'pw'));
  });
  afterAll(async () => {
    await hs.stop();
  });

  it('uploads and downloads media byte for byte on both paths; unauthenticated v1 is refused', async () => {
    const data = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 256));
    const up = await call(hs, 'POST', '/_matrix/media/v3/upload?filename=pic.png', {
      token: alice.accessToken,
      raw: data,
      contentType: 'image/png',
    });
    expect(up.status).toBe(200);
    expect(up.body.content_uri).toMatch(/^mxc:\/\/hs\.test\/[A-Za-z0-9_-]+$/);
    const [server, id] = (up.body.content_uri as string).slice('mxc://'.length).split('/');

    const v3 = await fetch(`${hs.url}/_matrix/media/v3/download/${server}/${id}`);
    expect(v3.status).toBe(200);
    expect(v3.headers.get('content-type')).toBe('image/png');
    expect(v3.headers.get('content-disposition')).toContain('pic.png');
    expect(Buffer.from(await v3.arrayBuffer()).equals(data)).toBe(true);

    const v1 = await fetch(`${hs.url}/_matrix/client/v1/media/download/${server}/${id}/other.png`, {
      headers: { authorization: `Bearer ${alice.accessToken}` },
    });
    expect(v1.status).toBe(200);
    expect(v1.headers.get('content-disposition')).toContain('other.png');
    expect(Buffer.from(await v1.arrayBuffer()).equals(data)).toBe(true);

    const anon = await call(hs, 'GET', `/_matrix/client/v1/media/download/${server}/${id}`);
    expect(anon.status).toBe(401);
    expect(anon.body.errcode).toBe('M_MISSING_TOKEN');
    const missing = await call(hs, 'GET', `/_matrix/media/v3/download/${server}/nope`);
    expect(missing.body.errcode).toBe('M_NOT_FOUND');
    const html = await call(hs, 'POST', '/_matrix/media/v3/upload', {
      token: alice.accessToken,
      raw: '<script>x</script>',
      contentType: 'text/html',
    });
    const htmlId = (html.body.content_uri as string).split('/').pop();
    const dl = await fetch(`${hs.url}/_matrix/media/v3/download/hs.test/${htmlId}`);
    expect(dl.headers.get('content-disposition')).toMatch(/^attachment/);
    expect(dl.headers.get('content-security-policy')).toContain('sandbox');
    await dl.arrayBuffer();

    const cfg = await alice.get('/_matrix/client/v1/media/config');
    expect(cfg.body).toEqual({ 'm.upload.size': 1024 * 1024 });
    const big = await call(hs, 'POST', '/_matrix/media/v3/upload', {
      token: alice.accessToken,
      raw: Buffer.alloc(1024 * 1024 + 1),
      contentType: 'application/octet-stream',
    });
    expect(big.status).toBe(413);
    expect(big.body.errcode).toBe('M_TOO_LARGE');
  });

  it('serves and sets profile fields', async () => {
    const none = await call(hs, 'GET', `${C}/profile/${encodeURIComponent('@ghost:hs.test')}`);
    expect(none.body.errcode).toBe('M_NOT_FOUND');
    const uid = encodeURIComponent(alice.userId);
    expect(
      (await alice.put(`${C}/profile/${uid}/avatar_url`, { avatar_url: 'mxc://hs.test/abc' })).status,
    ).toBe(200);
    expect((await alice.put(`${C}/profile/${uid}/displayname`, { displayname: 'Alice A' })).status).toBe(200);
    expect((await call(hs, 'GET', `${C}/profile/${uid}`)).body).toEqual({
      displayname: 'Alice A',
      avatar_url: 'mxc://hs.test/abc',
    });
    expect((await call(hs, 'GET', `${C}/profile/${uid}/avatar_url`)).body).toEqual({
      avatar_url: 'mxc://hs.test/abc',
    });
    const bad = await alice.put(`${C}/profile/${uid}/displayname`, { displayname: 42 });
    expect(bad.body.errcode).toBe('M_BAD_JSON');
  });

  it('hands out TURN credentials derived from the shared secret (TURN REST API)', async () => {
    const r = await alice.get(`${C}/voip/turnServer`);
    expect(r.status).toBe(200);
    expect(r.body.uris).toEqual(['turn:127.0.0.1:3478?transport=udp']);
    expect(r.body.ttl).toBe(600);
    const [expiry, user] = (r.body.username as string).split(/:(.*)/s);
    expect(user).toBe(alice.userId);
    expect(Number(expiry)).toBeGreaterThan(Date.now() / 1000);
    expect(r.body.password).toBe(createHmac('sha1', 's3cret').update(r.body.username).digest('base64'));
  });

  it('answers an empty object for turnServer when no TURN server is configured', async () => {
    const plain = await startMatrixHomeserver();
    try {
      const u = await plain.registerUser('x', 'pw');
      const r = await call(plain, 'GET', `${C}/voip/turnServer`, { token: u.accessToken });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({});
      expect(u.userId).toBe('@x:matrix.test');
    } finally {
      await plain.stop();
    }
  });
});
