import { useEffect, useState } from 'preact/hooks';
import type { Account, Contact, Endpoint, MergeSuggestion, OwnPresenceState, SetPresenceResult } from './api';
import { groupByPresence, PRESENCE_LABEL } from './presence';

export function PresenceDot({ state }: { state: string }) {
  return <span class={`dot dot-${state}`} title={state} aria-label={state} />;
}

/** Sets your own presence and status message on every connected account. */
export function OwnStatus({
  onLoad,
  onSet,
}: {
  onLoad: () => Promise<{ state: OwnPresenceState; status?: string }>;
  onSet: (state: OwnPresenceState, status: string) => Promise<SetPresenceResult>;
}) {
  // The gateway keeps your presence (and applies it to accounts as they connect): start from it.
  const [state, setState] = useState<OwnPresenceState>('available');
  const [status, setStatus] = useState('');
  const [note, setNote] = useState<string>();
  useEffect(() => {
    onLoad().then(
      (p) => {
        setState(p.state);
        setStatus(p.status ?? '');
      },
      () => undefined, // the form still works; the next set stores it
    );
  }, []);

  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      const r = await onSet(state, status);
      const failed = r.accounts.filter((a) => !a.ok);
      setNote(
        failed.length
          ? `Not set on ${failed.map((a) => `${a.network} (${a.error ?? 'failed'})`).join(', ')}`
          : `Set on ${r.accounts.length} account${r.accounts.length === 1 ? '' : 's'}`,
      );
    } catch (err) {
      setNote((err as Error).message);
    }
  };

  return (
    <form class="own-status" onSubmit={(e) => void submit(e)}>
      <PresenceDot state={state} />
      <select
        name="state"
        value={state}
        onChange={(e) => setState(e.currentTarget.value as OwnPresenceState)}
      >
        {(['available', 'away', 'busy', 'offline'] as const).map((s) => (
          <option value={s}>{PRESENCE_LABEL[s]}</option>
        ))}
      </select>
      <input
        name="status"
        placeholder="Status message"
        maxLength={512}
        value={status}
        onInput={(e) => setStatus(e.currentTarget.value)}
      />
      <button type="submit">Set</button>
      {note && <span class="note">{note}</span>}
    </form>
  );
}

export function BuddyList({
  contacts,
  accounts,
  onChat,
  onMerge,
  onSplit,
  onCall,
}: {
  contacts: Contact[];
  accounts: Account[];
  onChat: (endpoint: Endpoint) => Promise<void>;
  onMerge: (personId: string, otherId: string) => Promise<void>;
  onSplit: (personId: string, endpointId: string) => Promise<void>;
  onCall?: (person: Contact) => Promise<void>;
}) {
  // The person whose details (network picker, merge, split) are open.
  const [expanded, setExpanded] = useState<string>();
  const [mergeWith, setMergeWith] = useState('');
  const [error, setError] = useState<string>();
  const label = (accountId: string) => {
    const a = accounts.find((x) => x.id === accountId);
    return a ? (a.label ?? a.adapter) : 'unknown account';
  };

  const run = async (action: () => Promise<void>) => {
    setError(undefined);
    try {
      await action();
      setExpanded(undefined);
      setMergeWith('');
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const toggle = (id: string) => {
    setMergeWith('');
    setExpanded(expanded === id ? undefined : id);
  };

  const groups = groupByPresence(contacts);
  if (!contacts.length)
    return <p class="empty">No contacts yet. Add an account to see your buddies from its network.</p>;
  return (
    <div class="buddy-list">
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {groups.map((g) => (
        <section key={g.state} class={`group group-${g.state}`} data-presence={g.state}>
          <h3>
            {PRESENCE_LABEL[g.state]} <span class="count">{g.people.length}</span>
          </h3>
          <ul>
            {g.people.map((p) => (
              <li key={p.id} class="person" data-person={p.id}>
                <div class="person-line">
                  <button
                    class="person-row"
                    title={p.endpoints.length > 1 ? 'Choose a network to chat on' : 'Chat'}
                    onClick={() =>
                      p.endpoints.length === 1 && p.endpoints[0]
                        ? void run(() => onChat(p.endpoints[0]!))
                        : toggle(p.id)
                    }
                  >
                    <PresenceDot state={p.presence.state} />
                    <span class="name">{p.displayName}</span>
                    {p.presence.status && <span class="status-message">{p.presence.status}</span>}
                    <span class="badges">
                      {[...new Set(p.endpoints.map((e) => e.network))].map((n) => (
                        <span key={n} class={`badge badge-${n}`}>
                          {n}
                        </span>
                      ))}
                    </span>
                  </button>
                  <button class="more" title="Networks, merge and split" onClick={() => toggle(p.id)}>
                    ⋯
                  </button>
                </div>
                {expanded === p.id && (
                  <div class="network-picker">
                    {onCall && (
                      <button class="call" title="Call (audio)" onClick={() => void run(() => onCall(p))}>
                        Call
                      </button>
                    )}
                    <span>Chat via:</span>
                    {p.endpoints.map((e) => (
                      <div key={e.id} class="endpoint" data-endpoint={e.id}>
                        <button class="chat-via" onClick={() => void run(() => onChat(e))}>
                          <PresenceDot state={e.presence.state} />
                          {e.network} · {e.address} ({label(e.accountId)})
                          {e.presence.status && <span class="status-message">{e.presence.status}</span>}
                        </button>
                        {p.endpoints.length > 1 && (
                          <button class="split" onClick={() => void run(() => onSplit(p.id, e.id))}>
                            Split off
                          </button>
                        )}
                      </div>
                    ))}
                    {contacts.length > 1 && (
                      <div class="merge">
                        <select
                          name="merge-with"
                          value={mergeWith}
                          onChange={(e) => setMergeWith(e.currentTarget.value)}
                        >
                          <option value="">Same person as…</option>
                          {contacts
                            .filter((o) => o.id !== p.id)
                            .map((o) => (
                              <option key={o.id} value={o.id}>
                                {o.displayName} ({o.endpoints.map((e) => e.network).join(', ')})
                              </option>
                            ))}
                        </select>
                        <button
                          disabled={!mergeWith}
                          onClick={() => void run(() => onMerge(p.id, mergeWith))}
                        >
                          Merge
                        </button>
                      </div>
                    )}
                  </div>
                )}
              </li>
            ))}
          </ul>
        </section>
      ))}
    </div>
  );
}

const REASON_LABEL: Record<string, string> = {
  display_name: 'same name',
  email: 'same e-mail',
  phone: 'same phone',
  handle: 'same handle',
};

/**
 * People the gateway thinks are one human: the user merges them, or says they are not the same (kept
 * by the server: that pair is never suggested again).
 */
export function MergeSuggestions({
  suggestions,
  contacts,
  onMerge,
  onNotSame,
}: {
  suggestions: MergeSuggestion[];
  contacts: Contact[];
  onMerge: (personId: string, otherId: string) => Promise<void>;
  onNotSame: (personId: string, otherId: string) => Promise<void>;
}) {
  const [error, setError] = useState<string>();
  const byId = new Map(contacts.map((c) => [c.id, c]));
  const shown = suggestions.filter((s) => byId.has(s.contactId) && byId.has(s.otherId));
  if (!shown.length) return null;
  const who = (c: Contact) =>
    `${c.displayName} (${[...new Set(c.endpoints.map((e) => e.network))].join(', ')})`;
  const run = async (action: () => Promise<void>) => {
    setError(undefined);
    try {
      await action();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <section class="suggestions" aria-label="Possibly the same person">
      <h3>Same person?</h3>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <ul>
        {shown.map((s) => {
          const a = byId.get(s.contactId)!;
          const b = byId.get(s.otherId)!;
          return (
            <li
              key={`${s.contactId}|${s.otherId}`}
              class="suggestion"
              data-pair={`${s.contactId}|${s.otherId}`}
            >
              <span class="who">
                {who(a)} and {who(b)}
              </span>
              <span class="why">
                {s.reasons.map((r) => `${REASON_LABEL[r.kind] ?? r.kind}: ${r.value}`).join('; ')}
              </span>
              <span class="actions">
                <button
                  class="merge-suggested"
                  onClick={() => void run(() => onMerge(s.contactId, s.otherId))}
                >
                  Merge
                </button>
                <button class="not-same" onClick={() => void run(() => onNotSame(s.contactId, s.otherId))}>
                  Not the same
                </button>
              </span>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
