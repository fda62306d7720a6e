import { createHmac } from 'node:crypto';
import { iceServersFor } from './ice-servers';

const base = {
  mediaAddress: '127.0.0.1',
  answerTimeoutSeconds: 45,
  stunUrls: ['stun:s.example:3478'],
  turnUrls: [] as string[],
  turnTtlSeconds: 600,
};

describe('iceServersFor', () => {
  it('gives STUN alone when no TURN is configured', () => {
    expect(iceServersFor('u1', base, 0)).toEqual({ iceServers: [{ urls: ['stun:s.example:3478'] }] });
  });

  it('derives time-limited TURN REST credentials from the shared secret', () => {
    const now = Date.UTC(2026, 0, 1);
    const r = iceServersFor('u1', { ...base, turnUrls: ['turn:t.example'], turnSecret: 's3' }, now);
    const expiry = now / 1000 + 600;
    expect(r.expiresAt).toBe(new Date(expiry * 1000).toISOString());
    expect(r.iceServers[1]).toEqual({
      urls: ['turn:t.example'],
      username: `${expiry}:u1`,
      credential: createHmac('sha1', 's3').update(`${expiry}:u1`).digest('base64'),
    });
  });

  it('hands out a static TURN user when there is no secret', () => {
    const r = iceServersFor(
      'u1',
      {
        ...base,
        stunUrls: [],
        turnUrls: ['turn:t.example'],
        turnUsername: 'a',
        turnPassword: 'p',
      },
      0,
    );
    expect(r).toEqual({ iceServers: [{ urls: ['turn:t.example'], username: 'a', credential: 'p' }] });
  });
});
