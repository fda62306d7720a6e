import { Socket as NetSocket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Client } from '@xmpp/client-core';
import ConnectionTCP from '@xmpp/connection-tcp';
import iqCalleeFactory, { type IqCallee } from '@xmpp/iq/callee';
import iqCallerFactory, { type IqCaller } from '@xmpp/iq/caller';
import middlewareFactory from '@xmpp/middleware';
import resourceBinding from '@xmpp/resource-binding';
import saslFactory from '@xmpp/sasl';
import sessionEstablishment from '@xmpp/session-establishment';
import streamFeaturesFactory from '@xmpp/stream-features';
import xml from '@xmpp/xml';
import { boundedParser, type ParserLimits } from './bounded-xml.parser';
import { NS } from './xmpp.namespaces';
import {
  Plain,
  type SaslMechanism,
  type SaslMechanismClass,
  ScramSha1,
  ScramSha256,
} from './xmpp-sasl.mechanisms';
import type { XmppEndpoint } from './xmpp.options';
import {
  TlsSocket,
  type TlsTrust,
  TlsVerificationError,
  tlsOptions,
  transportSocket,
} from './xmpp-tls.socket';

export interface ConnectionSettings {
  endpoint: XmppEndpoint;
  username: string;
  password: string;
  resource: string;
  trust: TlsTrust;
  limits: ParserLimits;
  allowPlaintext: boolean;
}

export interface XmppConnection {
  entity: Client;
  iqCaller: IqCaller;
  iqCallee: IqCallee;
}

/** A plain TCP socket that writes stanzas at once (no Nagle delay behind an unacknowledged one). */
class NoDelaySocket extends NetSocket {
  constructor() {
    super();
    this.setNoDelay(true);
  }
}

/** The stream @xmpp/connection drives, with a guard: data after the parser was dropped is ignored. */
class GuardedClient extends Client {
  override _onData(data: Buffer | string): void {
    if (!this.parser) return;
    super._onData(data);
  }
}

/**
 * Builds an XMPP client from the @xmpp/* 0.13 building blocks, as `@xmpp/client` does, but with this
 * adapter's transport policy: our TLS socket (certificate checked against the JID's domain, or an explicit
 * trust), a STARTTLS that is required rather than opportunistic, a refusal to authenticate over plaintext
 * unless the account allows it, and a bounded stream parser.
 */
export function createXmppConnection(s: ConnectionSettings): XmppConnection {
  const { endpoint, trust } = s;
  const tlsOpts: ConnectionOptions = tlsOptions(endpoint.domain, trust);
  const direct = endpoint.tls === 'direct';

  class Transport extends ConnectionTCP {
    override socketParameters(): unknown {
      return direct
        ? { host: endpoint.host, port: endpoint.port, ...tlsOpts }
        : { host: endpoint.host, port: endpoint.port };
    }
  }
  Object.assign(Transport.prototype, {
    // The stream's default namespace (the base class leaves the streams namespace there).
    NS: NS.client,
    Socket: direct
      ? class DirectTlsSocket extends TlsSocket {
          constructor() {
            super(trust);
          }
        }
      : NoDelaySocket,
    Parser: boundedParser(s.limits),
  });

  const entity = new GuardedClient({ service: endpoint.service, domain: endpoint.domain });
  entity.transports.push(Transport);
  // The library's default (2 s) for stream open/close answers is short for a loaded server.
  entity.timeout = 10_000;

  const middleware = middlewareFactory({ entity });
  const streamFeatures = streamFeaturesFactory({ middleware });
  const iqCaller = iqCallerFactory({ middleware, entity });
  const iqCallee = iqCalleeFactory({ middleware, entity });

  // Stream features, in priority order.
  streamFeatures.use('starttls', NS.tls, async ({ entity: e }, next) => {
    const raw = e.socket;
    if (endpoint.tls !== 'starttls' || !(raw instanceof NetSocket)) return next();
    const answer = await e.sendReceive(xml('starttls', { xmlns: NS.tls }));
    if (!answer.is('proceed', NS.tls))
      throw new TlsVerificationError('the server refused to start TLS', 'starttls_failed');
    const secure = new TlsSocket(trust);
    await new Promise<void>((resolve, reject) => {
      secure.once('connect', resolve);
      secure.once('error', reject);
      secure.connect({ socket: raw, ...tlsOpts });
    }).catch((err: unknown) => {
      raw.destroy();
      throw err;
    });
    (e as unknown as { _detachSocket(): void })._detachSocket();
    e._attachSocket(secure);
    await e.restart();
    return undefined;
  });
  streamFeatures.use('mechanisms', NS.sasl, async ({ entity: e }, next) => {
    if (!(e.socket instanceof TlsSocket) && !s.allowPlaintext)
      throw new TlsVerificationError(
        'the server did not secure the connection with TLS; refusing to send the password in plaintext',
        'tls_unavailable',
      );
    return next();
  });
  const sasl = saslFactory({ streamFeatures }, { username: s.username, password: s.password });
  // Mechanism preference: SCRAM-SHA-256, SCRAM-SHA-1, then PLAIN (over TLS only, see above). Each is
  // wrapped to remember the instance in use, so that the server's final SCRAM message (carried in
  // <success/>, which @xmpp/sasl does not look at) can be verified: the server must know the password too.
  let inUse: SaslMechanism | undefined;
  for (const Mech of [ScramSha256, ScramSha1, Plain] as SaslMechanismClass[]) {
    const Tracked = class extends Mech {
      constructor() {
        super();
        // eslint-disable-next-line @typescript-eslint/no-this-alias -- the SASL factory builds it; we need the instance
        inUse = this;
      }
    };
    sasl.use(Mech.mechanismName, Tracked);
  }
  entity.on('nonza', (el: xml.Element) => {
    if (!el.is('success', NS.sasl) || !inUse) return;
    const data = el.text();
    try {
      if (data) inUse.challenge(Buffer.from(data, 'base64').toString('latin1'));
    } catch (e) {
      entity.emit('error', e);
      transportSocket(entity.socket)?.destroy();
    } finally {
      inUse = undefined;
    }
  });
  resourceBinding({ iqCaller, streamFeatures }, s.resource);
  sessionEstablishment({ iqCaller, streamFeatures });

  return { entity, iqCaller, iqCallee };
}
