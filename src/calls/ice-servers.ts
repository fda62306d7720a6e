import { createHmac } from 'node:crypto';
import type { AppConfig } from '../config';

export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

/**
 * The ICE servers a client (the web client's RTCPeerConnection) uses: the configured STUN servers and the
 * TURN relay, with time-limited credentials when a shared secret is configured (the TURN REST API that
 * coturn's use-auth-secret checks: user "expiry:userId", password base64 HMAC-SHA1 of the user under the
 * secret), else the static user.
 */
export function iceServersFor(
  userId: string,
  calls: AppConfig['calls'],
  nowMs: number,
): { iceServers: IceServer[]; expiresAt?: string } {
  const iceServers: IceServer[] = [];
  if (calls.stunUrls.length) iceServers.push({ urls: [...calls.stunUrls] });
  if (calls.turnUrls.length === 0) return { iceServers };
  if (calls.turnSecret !== undefined) {
    const expiry = Math.floor(nowMs / 1000) + calls.turnTtlSeconds;
    const username = `${expiry}:${userId}`;
    const credential = createHmac('sha1', calls.turnSecret).update(username).digest('base64');
    iceServers.push({ urls: [...calls.turnUrls], username, credential });
    return { iceServers, expiresAt: new Date(expiry * 1000).toISOString() };
  }
  // The schema refuses turnUrls without credentials, so a static user is here.
  iceServers.push({
    urls: [...calls.turnUrls],
    username: calls.turnUsername ?? '',
    credential: calls.turnPassword ?? '',
  });
  return { iceServers };
}
