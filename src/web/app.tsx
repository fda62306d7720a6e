import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { AccountAddressForm } from './account-address-form';
import { AccountsPage } from './accounts-page';
import { BridgesPage } from './bridges-page';
import { BrowserCall } from './call';
import {
  ApiClient,
  type Account,
  type AdapterInfo,
  type Bridge,
  type Contact,
  type Conversation,
  type Endpoint,
  type EventFrame,
  type Me,
  type MergeSuggestion,
  type Message,
} from './api';
import { BuddyList, MergeSuggestions, OwnStatus } from './buddy-list';
import { ChatView, Inbox } from './chat';
import { EventStream, type StreamState } from './event-stream';
import { SignIn } from './sign-in';

const TOKEN_KEY = 'switchboard.token';
type Tab = 'people' | 'inbox' | 'bridges' | 'accounts';

export function App() {
  const [token, setToken] = useState<string | null>(() => localStorage.getItem(TOKEN_KEY));
  const signOut = useCallback(() => {
    localStorage.removeItem(TOKEN_KEY);
    setToken(null);
  }, []);
  if (!token)
    return (
      <SignIn
        onSignedIn={(t) => {
          localStorage.setItem(TOKEN_KEY, t);
          setToken(t);
        }}
      />
    );
  return <Client key={token} token={token} onSignOut={signOut} />;
}

/** Debounces reloads that several events in a row would otherwise trigger one by one. */
function useDebounced(fn: () => void, ms: number): () => void {
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const latest = useRef(fn);
  latest.current = fn;
  useEffect(() => () => clearTimeout(timer.current), []);
  return useCallback(() => {
    clearTimeout(timer.current);
    timer.current = setTimeout(() => latest.current(), ms);
  }, [ms]);
}

function Client({ token, onSignOut }: { token: string; onSignOut: () => void }) {
  const api = useMemo(() => new ApiClient(token, onSignOut), [token, onSignOut]);
  const [me, setMe] = useState<Me>();
  const [tab, setTab] = useState<Tab>('people');
  const [contacts, setContacts] = useState<Contact[]>([]);
  const [suggestions, setSuggestions] = useState<MergeSuggestion[]>([]);
  const [conversations, setConversations] = useState<Conversation[]>([]);
  const [accounts, setAccounts] = useState<Account[]>([]);
  const [bridges, setBridges] = useState<Bridge[]>([]);
  const [call, setCall] = useState<{ call: BrowserCall; name: string; v: number }>();
  const callRef = useRef<BrowserCall | undefined>(undefined);
  const [adapters, setAdapters] = useState<AdapterInfo[]>([]);
  const [openId, setOpenId] = useState<string>();
  const [messages, setMessages] = useState<Message[]>([]);
  const [stream, setStream] = useState<StreamState>('connecting');
  const [error, setError] = useState<string>();
  const openRef = useRef(openId);
  openRef.current = openId;

  const report = (err: unknown) => setError((err as Error).message);
  const loadContacts = () =>
    Promise.all([
      api.contacts().then(setContacts, report),
      api.suggestions().then(setSuggestions, report),
    ]).then(() => undefined);
  const loadConversations = () => api.conversations().then(setConversations, report);
  const loadAccounts = () => api.accounts().then(setAccounts, report);
  const loadBridges = () => api.bridges().then(setBridges, report);
  const loadMessages = (id: string) =>
    api.messages(id).then((list) => {
      if (openRef.current !== id) return;
      setMessages(list);
      // What the open chat shows has been read; the unread badge follows through conversation.updated.
      void api.markRead(id).catch(report);
    }, report);
  const reloadContacts = useDebounced(() => void loadContacts(), 150);
  const reloadConversations = useDebounced(() => void loadConversations(), 150);
  const reloadMessages = useDebounced(() => {
    if (openRef.current) void loadMessages(openRef.current);
  }, 100);

  const loadAll = () => {
    void loadContacts();
    void loadConversations();
    void loadAccounts();
    void loadBridges();
    if (openRef.current) void loadMessages(openRef.current);
  };

  const onFrame = (f: EventFrame) => {
    switch (f.type) {
      case 'account.state':
        setAccounts((list) =>
          list.some((a) => a.id === f.data.accountId)
            ? list.map((a) =>
                a.id === f.data.accountId
                  ? { ...a, state: f.data.state, stateMessage: f.data.message ?? null }
                  : a,
              )
            : (void loadAccounts(), list),
        );
        // A disconnected account turns its endpoints `unknown`: the aggregated presence is the server's.
        reloadContacts();
        return;
      case 'contact.updated':
        reloadContacts();
        return;
      case 'presence.changed': {
        const d = f.data;
        setContacts((list) => {
          if (!d.personId || !list.some((p) => p.id === d.personId)) {
            reloadContacts();
            return list;
          }
          return list.map((p) =>
            p.id === d.personId
              ? {
                  ...p,
                  presence: d.personPresence,
                  endpoints: p.endpoints.map((e) =>
                    e.id === d.endpointId ? { ...e, presence: d.presence } : e,
                  ),
                }
              : p,
          );
        });
        return;
      }
      case 'conversation.updated':
        reloadConversations();
        return;
      case 'message.received':
      case 'message.updated': {
        const m = f.data;
        if (m.conversationId === openRef.current)
          setMessages((list) =>
            list.some((x) => x.id === m.id) ? list.map((x) => (x.id === m.id ? m : x)) : [...list, m],
          );
        reloadConversations();
        return;
      }
      case 'message.status': {
        const d = f.data;
        if (d.conversationId !== openRef.current) return;
        setMessages((list) => {
          if (list.some((x) => x.id === d.id))
            return list.map((x) => (x.id === d.id ? { ...x, status: d.status } : x));
          // Our own new message (sent from here or another client): its text comes with the history.
          reloadMessages();
          return list;
        });
        return;
      }
      case 'replay.truncated':
      case 'typing':
      case 'bridge.updated':
        void loadBridges();
        return;
      case 'call.state':
        void callRef.current?.onFrame(f.data).catch(report);
        return;
    }
  };
  const frameRef = useRef(onFrame);
  frameRef.current = onFrame;
  const loadAllRef = useRef(loadAll);
  loadAllRef.current = loadAll;

  useEffect(() => {
    api.me().then(setMe, report);
    api.adapters().then(setAdapters, report);
    loadAllRef.current();
    const s = new EventStream(token, {
      onFrame: (f) => frameRef.current(f),
      onState: setStream,
      onResync: () => loadAllRef.current(),
      onUnauthorized: onSignOut,
    });
    s.start();
    return () => s.stop();
  }, [api]);

  const openConversation = (id: string) => {
    setOpenId(id);
    openRef.current = id;
    setMessages([]);
    void loadMessages(id);
  };

  const chatWith = async (endpoint: Endpoint) => {
    const conv = await api.openDirect(endpoint.id);
    await loadConversations();
    openConversation(conv.id);
  };

  const send = async (text: string) => {
    if (!openId) return;
    const clientId = crypto.randomUUID();
    await api.send(openId, text, clientId);
    void loadMessages(openId);
  };

  /** The call button: the gateway picks the route (and says why none fits); this browser is one leg. */
  const callPerson = async (person: Contact) => {
    if (callRef.current && !['ended', 'failed'].includes(callRef.current.state))
      throw new Error('a call is already going on');
    const routes = await api.callRoutes(person.id);
    if (!routes.routes.length)
      throw new Error(
        `cannot call ${person.displayName}: ${routes.rejected.map((r) => r.reason).join('; ')}`,
      );
    const { iceServers } = await api.iceServers().catch(() => ({ iceServers: [] as RTCIceServer[] }));
    const c = new BrowserCall(
      api,
      (x) => setCall({ call: x, name: person.displayName, v: Date.now() }),
      iceServers,
    );
    callRef.current = c;
    setCall({ call: c, name: person.displayName, v: Date.now() });
    try {
      await c.start(person.id);
    } catch (err) {
      c.close();
      callRef.current = undefined;
      setCall(undefined);
      throw err;
    }
  };

  const openConv = conversations.find((c) => c.id === openId);
  const unread = conversations.reduce((n, c) => n + c.unread, 0);

  return (
    <div class="client">
      <header class="top">
        <strong class="brand">Switchboard</strong>
        <nav>
          {(['people', 'inbox', 'bridges', 'accounts'] as const).map((t) => (
            <button key={t} class={tab === t ? 'active' : ''} data-tab={t} onClick={() => setTab(t)}>
              {t === 'people' ? 'People' : t === 'inbox' ? 'Inbox' : t === 'bridges' ? 'Bridges' : 'Accounts'}
              {t === 'inbox' && unread > 0 && <span class="unread">{unread}</span>}
            </button>
          ))}
        </nav>
        <span class={`stream stream-${stream}`} title="Live updates">
          {stream === 'live' ? 'live' : stream === 'closed' ? 'offline' : `${stream}…`}
        </span>
        <span class="me">{me?.username}</span>
        <button onClick={onSignOut}>Sign out</button>
      </header>
      {call && (
        <div class="call-bar" data-call-state={call.call.state}>
          <span>
            Call with {call.name}: <strong class="call-state">{call.call.state}</strong>
            {call.call.endReason && ` (${call.call.endReason})`}
          </span>
          {call.call.state === 'connected' && (
            <span class="audio-in" data-packets-in={call.call.packetsIn} title="Audio packets received">
              {call.call.packetsIn > 0 ? 'sound arriving' : 'no sound yet'}
            </span>
          )}
          {!['ended', 'failed'].includes(call.call.state) ? (
            <button class="hang-up" onClick={() => void call.call.hangUp().catch(report)}>
              Hang up
            </button>
          ) : (
            <button class="dismiss-call" onClick={() => setCall(undefined)}>
              Close
            </button>
          )}
          <audio id="call-audio" autoPlay />
        </div>
      )}
      {error && (
        <p class="error banner" role="alert" onClick={() => setError(undefined)}>
          {error}
        </p>
      )}
      {tab === 'bridges' ? (
        <main class="single">
          <BridgesPage
            bridges={bridges}
            conversations={conversations}
            accounts={accounts}
            onCreate={async (name, ids) => {
              await api.createBridge(name, ids);
              await loadBridges();
            }}
            onDelete={async (id) => {
              await api.deleteBridge(id);
              await loadBridges();
            }}
          />
        </main>
      ) : tab === 'accounts' ? (
        <main class="single">
          <AccountsPage
            accounts={accounts}
            adapters={adapters}
            onAdd={async (adapter, label, options) => {
              await api.createAccount(adapter, label || undefined, options);
              await loadAccounts();
            }}
            onDelete={async (id) => {
              await api.deleteAccount(id);
              await loadAccounts();
              reloadContacts();
              reloadConversations();
            }}
          />
        </main>
      ) : (
        <main class="split">
          <aside>
            {tab === 'people' ? (
              <>
                <OwnStatus
                  onLoad={() => api.ownPresence()}
                  onSet={(state, status) => api.setPresence(state, status)}
                />
                <AccountAddressForm
                  key="add-buddy"
                  name="add-buddy"
                  title="Add a buddy"
                  placeholder="nick, JID or Matrix id"
                  action="Add"
                  accounts={accounts}
                  onSubmit={async (accountId, address) => {
                    await api.addContact(accountId, address);
                    reloadContacts();
                    return `Asked the network to add ${address}.`;
                  }}
                />
                <MergeSuggestions
                  suggestions={suggestions}
                  contacts={contacts}
                  onMerge={async (id, other) => {
                    await api.merge(id, other);
                    await loadContacts();
                  }}
                  onNotSame={async (id, other) => {
                    await api.notSame(id, other);
                    await loadContacts();
                  }}
                />
                <BuddyList
                  contacts={contacts}
                  accounts={accounts}
                  onChat={chatWith}
                  onMerge={async (id, other) => {
                    await api.merge(id, other);
                    await loadContacts();
                  }}
                  onSplit={async (id, endpointId) => {
                    await api.split(id, endpointId);
                    await loadContacts();
                  }}
                  onCall={callPerson}
                />
              </>
            ) : (
              <>
                <AccountAddressForm
                  key="join-room"
                  name="join-room"
                  title="Join a room"
                  placeholder="#channel, room@conference… or #room:server"
                  action="Join"
                  accounts={accounts}
                  onSubmit={async (accountId, address) => {
                    const conv = await api.joinRoom(accountId, address);
                    await loadConversations();
                    openConversation(conv.id);
                    return undefined;
                  }}
                />
                <Inbox
                  conversations={conversations}
                  accounts={accounts}
                  openId={openId}
                  onOpen={openConversation}
                />
              </>
            )}
          </aside>
          <ChatView conversation={openConv} messages={messages} onSend={send} />
        </main>
      )}
    </div>
  );
}
