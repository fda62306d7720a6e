import { useState } from 'preact/hooks';
import type { Account, Contact, Endpoint, OwnPresenceState, SetPresenceResult } from './api';
import { groupByPresence, PRESENCE_LABEL } from './presence';

export function PresenceDot({ state }: { state: string }) {
  return <span class={`dot dot-${state}`} title={state} aria-label={state} />;
}

/** Sets your own presence and status message on every connected account. */
export function OwnStatus({
  onSet,
}: {
  onSet: (state: OwnPresenceState, status: string) => Promise<SetPresenceResult>;
}) {
  const [state, setState] = useState<OwnPresenceState>('available');
  const [status, setStatus] = useState('');
  const [note, setNote] = useState<string>();

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
}: {
  contacts: Contact[];
  accounts: Account[];
  onChat: (endpoint: Endpoint) => Promise<void>;
}) {
  const [picking, setPicking] = useState<string>();
  const [error, setError] = useState<string>();
  const label = (accountId: string) => {
    const a = accounts.find((x) => x.id === accountId);
    return a ? (a.label ?? a.adapter) : 'unknown account';
  };

  const open = async (endpoint: Endpoint) => {
    setError(undefined);
    try {
      await onChat(endpoint);
      setPicking(undefined);
    } catch (err) {
      setError((err as Error).message);
    }
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
        <section class={`group group-${g.state}`} data-presence={g.state}>
          <h3>
            {PRESENCE_LABEL[g.state]} <span class="count">{g.people.length}</span>
          </h3>
          <ul>
            {g.people.map((p) => (
              <li class="person" data-person={p.id}>
                <button
                  class="person-row"
                  onClick={() =>
                    p.endpoints.length === 1 && p.endpoints[0]
                      ? void open(p.endpoints[0])
                      : setPicking(picking === p.id ? undefined : p.id)
                  }
                >
                  <PresenceDot state={p.presence.state} />
                  <span class="name">{p.displayName}</span>
                  {p.presence.status && <span class="status-message">{p.presence.status}</span>}
                  <span class="badges">
                    {[...new Set(p.endpoints.map((e) => e.network))].map((n) => (
                      <span class={`badge badge-${n}`}>{n}</span>
                    ))}
                  </span>
                </button>
                {picking === p.id && (
                  <div class="network-picker" role="menu">
                    <span>Chat via:</span>
                    {p.endpoints.map((e) => (
                      <button role="menuitem" onClick={() => void open(e)}>
                        <PresenceDot state={e.presence.state} />
                        {e.network} · {e.address} ({label(e.accountId)})
                      </button>
                    ))}
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
