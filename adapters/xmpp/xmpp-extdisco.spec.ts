import xml from '@xmpp/xml';
import { iceServersFromExtdisco, NS_EXTDISCO } from './xmpp-extdisco';

describe('XEP-0215 external services as ICE servers', () => {
  it('maps stun and turn services with their credentials and expiry', () => {
    const services = xml(
      'services',
      { xmlns: NS_EXTDISCO },
      xml('service', { type: 'stun', host: 'stun.example.org', port: '3478', transport: 'udp' }),
      xml('service', {
        type: 'turn',
        host: 'turn.example.org',
        port: '3478',
        transport: 'udp',
        username: '1700000000:alice',
        password: 'c2VjcmV0',
        expires: '2026-11-26T20:00:00Z',
        restricted: '1',
      }),
      xml('service', { type: 'turns', host: 'turn.example.org', port: '5349', transport: 'tcp' }),
      xml('service', { type: 'ftp', host: 'files.example.org' }),
      xml('service', { type: 'turn', host: 'evil.example.org?transport=tcp&x=' }),
      xml('service', { type: 'stun' }),
    );
    expect(iceServersFromExtdisco(services)).toEqual([
      { urls: ['stun:stun.example.org:3478'] },
      {
        urls: ['turn:turn.example.org:3478?transport=udp'],
        username: '1700000000:alice',
        credential: 'c2VjcmV0',
        expiresAt: '2026-11-26T20:00:00.000Z',
      },
      { urls: ['turns:turn.example.org:5349?transport=tcp'] },
    ]);
    expect(iceServersFromExtdisco(undefined)).toEqual([]);
  });
});
