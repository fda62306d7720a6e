import path from 'node:path';
import type { XmppClient } from '../../adapters/xmpp';
import type { RemoteEvent } from '../../src/sdk';
import type { RawIrcClient } from '../irc/raw-irc-client';
import { accountOptions, connectedClient, startXmppGateway } from '../xmpp/xmpp-harness';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from './gateway';
import { startInspircd, type InspircdOptions, type InspircdServer } from './inspircd';
import { startMatrixHomeserver, type MatrixHomeserver, type RegisteredUser } from './matrix-homeserver';
import { startProsody, type ProsodyOptions, type ProsodyServer } from './prosody';

/**
 * The pieces the bridge end-to-end tests (test/bridges) share: the three servers with their users, the
 * gateway's relay accounts on them, and readers for what the relay wrote on each network. Every user's
 * password is `<name>-password`; the gateway's account on each network is the user `relay`.
 */

const root = path.resolve(__dirname, '../..');

export type MessageEvent = Extract<RemoteEvent, { type: 'message' }>;

/** The Matrix test homeserver's name in the bridge tests (user ids are `@name:hs.test`). */
export const MATRIX_SERVER_NAME = 'hs.test';
/** The gateway's own Matrix user: the sender of every copy relayed into a Matrix room. */
export const MATRIX_RELAY = `@relay:${MATRIX_SERVER_NAME}`;

/** The IRC, XMPP and Matrix adapters of this repository, as a gateway config's `adapters`. */
export const BRIDGE_ADAPTERS: { id: string; path: string }[] = ['irc', 'xmpp', 'matrix'].map((id) => ({
  id,
  path: path.join(root, 'adapters', id),
}));
/** Quick retries and parallel lanes, so that hundreds of copies go out within a test's patience. */
export const BRIDGE_QUEUE = { backoffBaseMs: 50, backoffMaxMs: 1000, concurrency: 8 };

export interface BridgeServers<M extends string> {
  irc: InspircdServer;
  xmpp: ProsodyServer;
  hs: MatrixHomeserver;
  /** The Matrix users asked for (besides the relay), by localpart. */
  matrix: Record<M, RegisteredUser>;
  stop(): Promise<void>;
}

/**
 * InspIRCd, prosody and the Matrix test homeserver (named {@link MATRIX_SERVER_NAME}), with the user
 * `relay` and `xmppUsers` registered on prosody, and `relay` and `matrixUsers` (localpart → display name)
 * on the homeserver. Stops whatever it started if a step fails.
 */
export async function startBridgeServers<M extends string>(opts: {
  xmppUsers: string[];
  matrixUsers: Record<M, string>;
  inspircd?: InspircdOptions;
  prosody?: ProsodyOptions;
}): Promise<BridgeServers<M>> {
  const started = await Promise.allSettled([
    startInspircd(opts.inspircd),
    startProsody(opts.prosody),
    startMatrixHomeserver({ serverName: MATRIX_SERVER_NAME }),
  ] as const);
  const stop = async (): Promise<void> => {
    await Promise.all(started.flatMap((s) => (s.status === 'fulfilled' ? [s.value.stop()] : [])));
  };
  try {
    const [irc, xmpp, hs] = started.map((s) => {
      if (s.status === 'rejected') throw s.reason;
      return s.value;
    }) as [InspircdServer, ProsodyServer, MatrixHomeserver];
    await Promise.all(['relay', ...opts.xmppUsers].map((u) => xmpp.registerUser(u, `${u}-password`)));
    await hs.registerUser('relay', 'relay-password');
    const matrix = {} as Record<M, RegisteredUser>;
    for (const [name, displayname] of Object.entries(opts.matrixUsers) as [M, string][])
      matrix[name] = await hs.registerUser(name, `${name}-password`, { displayname });
    return { irc, xmpp, hs, matrix, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * A gateway in this process (startTestGateway) with {@link BRIDGE_ADAPTERS} and {@link BRIDGE_QUEUE}, plus
 * `overrides`, and the admin logged in to its API.
 */
export async function startBridgeGateway(
  overrides: Record<string, unknown> = {},
): Promise<{ env: Awaited<ReturnType<typeof startTestGateway>>; me: Api }> {
  const env = await startTestGateway({ adapters: BRIDGE_ADAPTERS, queue: BRIDGE_QUEUE, ...overrides });
  try {
    return { env, me: await new Api(env.gw.url).login('admin', ADMIN_PASSWORD) };
  } catch (err) {
    await env.stop();
    throw err;
  }
}

/** Waits until the account's state is `connected` (30 s by default: a network's first login can be slow). */
export async function accountConnected(
  api: Api,
  accountId: string,
  what = `account ${accountId} connected`,
  timeoutMs = 30_000,
): Promise<void> {
  await eventually(
    async () => (await api.call('GET', `/api/v1/accounts/${accountId}`)).json.state === 'connected',
    what,
    timeoutMs,
  );
}

/** Adds an account through the API (expecting 201) and waits until it is connected; returns its id. */
export async function addAccount(
  api: Api,
  adapter: string,
  options: object,
  timeoutMs = 30_000,
): Promise<string> {
  const r = await api.call('POST', '/api/v1/accounts', { adapter, options });
  expect(r.status).toBe(201);
  const id = r.json.id as string;
  await accountConnected(api, id, `${adapter} connected`, timeoutMs);
  return id;
}

/** Opens a conversation (joins a room) through the API, expecting 201; returns its id. */
export async function joinConversation(api: Api, accountId: string, address: string): Promise<string> {
  const r = await api.call('POST', '/api/v1/conversations', { accountId, address });
  expect(r.status).toBe(201);
  return r.json.id as string;
}

/** The relay's IRC account options: nick `relay`, no flood throttling (bursts of copies go out at once). */
export function ircRelayOptions(irc: InspircdServer) {
  return { host: irc.host, port: irc.port, tls: false, nick: 'relay', floodBurst: 100, floodIntervalMs: 1 };
}

/** The relay's XMPP account options (the user `relay` on prosody). */
export function xmppRelayOptions(xmpp: ProsodyServer) {
  return accountOptions(xmpp, 'relay', 'relay-password');
}

/** The relay's Matrix account options ({@link MATRIX_RELAY}), with a short sync so that it follows quickly. */
export function matrixRelayOptions(hs: MatrixHomeserver) {
  return { homeserverUrl: hs.url, userId: MATRIX_RELAY, password: 'relay-password', syncTimeoutMs: 1000 };
}

/** The relay's three accounts, added in this order (IRC, XMPP, Matrix) and connected; their ids. */
export async function addRelayAccounts(
  api: Api,
  servers: { irc: InspircdServer; xmpp: ProsodyServer; hs: MatrixHomeserver },
): Promise<{ irc: string; xmpp: string; matrix: string }> {
  const irc = await addAccount(api, 'irc', ircRelayOptions(servers.irc));
  const xmpp = await addAccount(api, 'xmpp', xmppRelayOptions(servers.xmpp));
  const matrix = await addAccount(api, 'matrix', matrixRelayOptions(servers.hs));
  return { irc, xmpp, matrix };
}

export type XmppPeople<K extends string> = Awaited<ReturnType<typeof startXmppGateway>> & {
  /** Each person's connected client, by account id. */
  clients: Record<K, XmppClient>;
};

/**
 * The people on XMPP: the adapter library run as plain clients (recording what each receives in
 * `host.eventsOf(accountId)`), one account per entry of `users` (account id → prosody user), connected.
 * Joins no room. Stops the clients' host if a login fails.
 */
export async function startXmppPeople<K extends string>(
  xmpp: ProsodyServer,
  users: Record<K, string>,
): Promise<XmppPeople<K>> {
  const people = await startXmppGateway();
  try {
    const clients = {} as Record<K, XmppClient>;
    for (const [accountId, user] of Object.entries(users) as [K, string][]) {
      await people.supervisor.start({
        accountId,
        adapterId: 'xmpp',
        options: accountOptions(xmpp, user, `${user}-password`),
      });
    }
    for (const accountId of Object.keys(users) as K[])
      clients[accountId] = await connectedClient(people.supervisor, accountId);
    return { ...people, clients };
  } catch (err) {
    await people.stop();
    throw err;
  }
}

/** The messages the relay wrote in the MUC `muc` (its occupant `<muc>/relay`), as `accountId` received them. */
export function relayMessagesInMuc(
  people: { host: { eventsOf(accountId: string): RemoteEvent[] } },
  accountId: string,
  muc: string,
): MessageEvent[] {
  return (people.host.eventsOf(accountId) as MessageEvent[]).filter(
    (e) => e.type === 'message' && e.roomId === muc && e.sender.userId === `${muc}/relay`,
  );
}

export interface IrcMessage {
  /** The sender's nick. */
  nick: string;
  command: 'PRIVMSG' | 'NOTICE';
  /** A channel or a nick. */
  target: string;
  text: string;
}

/** Every PRIVMSG and NOTICE `client` received from a user (not the server), oldest first. */
export function ircMessages(client: RawIrcClient): IrcMessage[] {
  return client.lines
    .map((l) => /^(?:@\S+ )?:([^!\s]+)!\S+ (PRIVMSG|NOTICE) (\S+) :(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ nick: m[1]!, command: m[2] as IrcMessage['command'], target: m[3]!, text: m[4]! }));
}

/** A Matrix client-server API call (`/_matrix/client/v3<p>`) as `user`; throws unless the answer is 200. */
export async function matrixCall(
  hs: MatrixHomeserver,
  user: RegisteredUser,
  method: string,
  p: string,
  body?: object,
): Promise<Record<string, unknown>> {
  const res = await fetch(`${hs.url}/_matrix/client/v3${p}`, {
    method,
    headers: { authorization: `Bearer ${user.accessToken}`, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  // The error body as text: a proxy or a crashed server may not answer JSON.
  if (res.status !== 200) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

/** Sends an `m.room.message` with `content` as `user`, under the transaction id `txnId`; its event id. */
export async function matrixSend(
  hs: MatrixHomeserver,
  user: RegisteredUser,
  roomId: string,
  txnId: string,
  content: object,
): Promise<string> {
  const sent = await matrixCall(
    hs,
    user,
    'PUT',
    `/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txnId}`,
    content,
  );
  return sent.event_id as string;
}

export interface MatrixEvent<C = Record<string, unknown>> {
  type: string;
  sender: string;
  event_id: string;
  content: C;
  redacts?: string;
}

/** The room's last `limit` events, oldest first, as `user` sees them (read again on each call). */
export async function matrixRoomEvents<C = Record<string, unknown>>(
  hs: MatrixHomeserver,
  user: RegisteredUser,
  roomId: string,
  limit: number,
): Promise<MatrixEvent<C>[]> {
  const page = await matrixCall(
    hs,
    user,
    'GET',
    `/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=${limit}`,
  );
  return (page.chunk as MatrixEvent<C>[]).reverse();
}

/** The messages the relay ({@link MATRIX_RELAY}) wrote among the room's last `limit` events, oldest first. */
export async function relayMessagesOnMatrix<C = Record<string, unknown>>(
  hs: MatrixHomeserver,
  user: RegisteredUser,
  roomId: string,
  limit: number,
): Promise<MatrixEvent<C>[]> {
  return (await matrixRoomEvents<C>(hs, user, roomId, limit)).filter(
    (e) => e.type === 'm.room.message' && e.sender === MATRIX_RELAY,
  );
}
