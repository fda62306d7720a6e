// Types and a small client for the gateway's HTTP API (../shared/API.md, src/api/**). The browser bundle
// cannot import the server's modules, so the shapes are restated here and kept to what the client reads.

export const PRESENCE_STATES = ['available', 'away', 'busy', 'offline', 'unknown'] as const;
export type PresenceState = (typeof PRESENCE_STATES)[number];
export type OwnPresenceState = Exclude<PresenceState, 'unknown'>;

export interface Presence {
  state: PresenceState;
  status?: string;
  since?: string;
}

export interface Endpoint {
  id: string;
  accountId: string;
  network: string;
  address: string;
  displayName: string;
  presence: Presence;
  capabilities: Record<string, unknown>;
}

export interface Contact {
  id: string;
  displayName: string;
  presence: Presence;
  endpoints: Endpoint[];
}

/** Two people the gateway thinks are the same human, and why (same name, e-mail, handle …). */
export interface MergeSuggestion {
  contactId: string;
  otherId: string;
  reasons: { kind: string; value: string }[];
}

export interface Bridge {
  id: string;
  name?: string;
  conversations: string[];
  options: Record<string, unknown>;
  source: 'api' | 'config';
  createdAt: string;
}

export type AccountState =
  'connecting' | 'connected' | 'transient_disconnect' | 'bad_credentials' | 'logged_out' | 'error';

export interface Account {
  id: string;
  adapter: string;
  label: string | null;
  state: AccountState;
  stateMessage: string | null;
  options: Record<string, unknown>;
  createdAt: string;
}

export interface AdapterInfo {
  id: string;
  displayName: string;
  version: string;
  capabilities: Record<string, unknown>;
}

export interface Conversation {
  id: string;
  accountId: string;
  network: string;
  kind: 'direct' | 'group';
  title: string;
  address?: string;
  unread: number;
  lastMessageAt: string | null;
}

export type MessageStatus = 'queued' | 'sent' | 'delivered' | 'failed';

export interface Message {
  id: string;
  conversationId: string;
  sender: { endpointId?: string; displayName: string; self: boolean };
  text: string;
  html?: string;
  replyTo?: string;
  editedAt?: string;
  deleted?: boolean;
  sentAt: string;
  status: MessageStatus;
}

export interface Me {
  id: string;
  username: string;
  isAdmin: boolean;
}

export interface SetPresenceResult {
  presence: Presence;
  accounts: { accountId: string; network: string; ok: boolean; error?: string }[];
}

/** What `POST /conversations` answers (the list adds unread and lastMessageAt). */
export type OpenedConversation = Pick<Conversation, 'id' | 'accountId' | 'kind' | 'title' | 'address'>;

/** Frames of `GET /api/v1/events`; `data` is typed for the ones the client acts on. */
export type EventFrame = { at: string; seq: number } & (
  | {
      type: 'account.state';
      data: { accountId: string; adapter: string; state: AccountState; message?: string };
    }
  | { type: 'contact.updated'; data: { id?: string; personId?: string | null } }
  | {
      type: 'presence.changed';
      data: {
        endpointId: string;
        personId: string | null;
        accountId: string;
        presence: Presence;
        personPresence: Presence;
      };
    }
  | { type: 'conversation.updated'; data: { id: string } }
  | { type: 'message.received'; data: Message }
  | { type: 'message.updated'; data: Message }
  | {
      type: 'message.status';
      data: { id: string; conversationId: string; status: MessageStatus; reason?: string };
    }
  | { type: 'replay.truncated'; data: { reason: string } }
  | { type: 'call.state'; data: CallStateData }
  | { type: 'typing' | 'bridge.updated'; data: unknown }
);

export type CallState = 'negotiating' | 'ringing' | 'connected' | 'ended' | 'failed';

/** A `call.state` frame: the gateway's SDP answer to this browser comes in the first one. */
export interface CallStateData {
  id: string;
  state: CallState;
  endReason?: string;
  network?: string;
  address?: string;
  sdp?: string;
}

/** `GET /contacts/:id/call-routes`: why each endpoint can or cannot be called. */
export interface CallRoutes {
  routes: { network: string; address: string; reasons?: string[] }[];
  rejected: { network?: string; address?: string; reason: string }[];
}

/** An error answer of the API: `{error:{code,message}}` with its HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class ApiClient {
  constructor(
    readonly token: string | null,
    private readonly onUnauthorized: () => void = () => undefined,
  ) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let res: Response;
    try {
      res = await fetch(`api/v1${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, 'NETWORK', 'The gateway cannot be reached.');
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const err = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
      if (res.status === 401 && this.token) this.onUnauthorized();
      throw new ApiError(res.status, err?.code ?? 'HTTP_' + res.status, err?.message ?? res.statusText);
    }
    return json as T;
  }

  login(username: string, password: string) {
    return this.request<{ token: string }>('POST', '/auth/login', { username, password });
  }
  me() {
    return this.request<Me>('GET', '/me');
  }
  contacts() {
    return this.request<Contact[]>('GET', '/contacts');
  }
  /** Your own presence as the gateway keeps it (applied to each account as it connects). */
  ownPresence() {
    return this.request<{ state: OwnPresenceState; status?: string; since?: string }>('GET', '/presence');
  }
  setPresence(state: OwnPresenceState, status: string) {
    return this.request<SetPresenceResult>('PUT', '/presence', { state, status });
  }
  merge(personId: string, otherId: string) {
    return this.request<Contact>('POST', `/contacts/${encodeURIComponent(personId)}/merge`, { otherId });
  }
  bridges() {
    return this.request<Bridge[]>('GET', '/bridges');
  }
  createBridge(name: string, conversations: string[]) {
    return this.request<Bridge>('POST', '/bridges', { conversations, ...(name ? { name } : {}) });
  }
  deleteBridge(id: string) {
    return this.request<void>('DELETE', `/bridges/${encodeURIComponent(id)}`);
  }
  callRoutes(contactId: string) {
    return this.request<CallRoutes>(
      'GET',
      `/contacts/${encodeURIComponent(contactId)}/call-routes?media=audio`,
    );
  }
  iceServers() {
    return this.request<{ iceServers: RTCIceServer[] }>('GET', '/calls/ice-servers');
  }
  placeCall(contactId: string, sdp: string) {
    return this.request<{ id: string; state: CallState }>('POST', '/calls', {
      contactId,
      media: 'audio',
      sdp,
    });
  }
  hangUp(id: string) {
    return this.request<unknown>('DELETE', `/calls/${encodeURIComponent(id)}`);
  }
  suggestions() {
    return this.request<MergeSuggestion[]>('GET', '/contacts/suggestions');
  }
  notSame(personId: string, otherId: string) {
    return this.request<unknown>('POST', `/contacts/${encodeURIComponent(personId)}/not-same`, { otherId });
  }
  split(personId: string, endpointId: string) {
    return this.request<{ from: Contact; split: Contact }>(
      'POST',
      `/contacts/${encodeURIComponent(personId)}/split`,
      { endpointId },
    );
  }
  accounts() {
    return this.request<Account[]>('GET', '/accounts');
  }
  adapters() {
    return this.request<AdapterInfo[]>('GET', '/adapters');
  }
  createAccount(adapter: string, label: string | undefined, options: Record<string, unknown>) {
    return this.request<{ id: string; adapter: string; state: AccountState }>('POST', '/accounts', {
      adapter,
      ...(label ? { label } : {}),
      options,
    });
  }
  deleteAccount(id: string) {
    return this.request<void>('DELETE', `/accounts/${encodeURIComponent(id)}`);
  }
  conversations() {
    return this.request<Conversation[]>('GET', '/conversations');
  }
  openDirect(endpointId: string) {
    return this.request<OpenedConversation>('POST', '/conversations', { endpointId });
  }
  joinRoom(accountId: string, address: string) {
    return this.request<OpenedConversation>('POST', '/conversations', { accountId, address });
  }
  addContact(accountId: string, address: string) {
    return this.request<unknown>('POST', `/accounts/${encodeURIComponent(accountId)}/contacts`, { address });
  }
  markRead(conversationId: string) {
    return this.request<{ id: string; unread: number }>(
      'POST',
      `/conversations/${encodeURIComponent(conversationId)}/read`,
    );
  }
  messages(conversationId: string) {
    return this.request<Message[]>('GET', `/conversations/${encodeURIComponent(conversationId)}/messages`);
  }
  send(conversationId: string, text: string, clientId: string) {
    return this.request<{ id: string; status: MessageStatus }>(
      'POST',
      `/conversations/${encodeURIComponent(conversationId)}/messages`,
      { text, clientId },
    );
  }
}
