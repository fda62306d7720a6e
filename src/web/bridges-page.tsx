import { useState } from 'preact/hooks';
import type { Account, Bridge, Conversation } from './api';

/** Bridges: rooms on different networks linked so that each sees the others' messages. */
export function BridgesPage({
  bridges,
  conversations,
  accounts,
  onCreate,
  onDelete,
}: {
  bridges: Bridge[];
  conversations: Conversation[];
  accounts: Account[];
  onCreate: (name: string, conversationIds: string[]) => Promise<void>;
  onDelete: (id: string) => Promise<void>;
}) {
  const [name, setName] = useState('');
  const [picked, setPicked] = useState<string[]>([]);
  const [error, setError] = useState<string>();
  const rooms = conversations.filter((c) => c.kind === 'group');
  const label = (c: Conversation | undefined) => {
    if (!c) return 'a conversation you left';
    const a = accounts.find((x) => x.id === c.accountId);
    return `${c.title} (${c.network}${a?.label ? `, ${a.label}` : ''})`;
  };
  const run = async (action: () => Promise<void>) => {
    setError(undefined);
    try {
      await action();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const toggle = (id: string) =>
    setPicked(picked.includes(id) ? picked.filter((x) => x !== id) : [...picked, id]);

  return (
    <section class="bridges-page">
      <h2>Bridges</h2>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {bridges.length === 0 ? (
        <p class="empty">No bridges yet.</p>
      ) : (
        <ul class="bridges">
          {bridges.map((b) => (
            <li key={b.id} class="bridge" data-bridge={b.id}>
              <strong>{b.name ?? 'Bridge'}</strong>
              {b.source === 'config' && <span class="badge">config file</span>}
              <span class="rooms">
                {b.conversations.map((id) => label(conversations.find((c) => c.id === id))).join(' ⇄ ')}
              </span>
              {b.source === 'api' && (
                <button class="delete-bridge" onClick={() => void run(() => onDelete(b.id))}>
                  Remove
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      <form
        class="add-bridge"
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            await onCreate(name.trim(), picked);
            setName('');
            setPicked([]);
          });
        }}
      >
        <h3>Link rooms</h3>
        <input
          name="bridge-name"
          placeholder="Name (optional)"
          maxLength={200}
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
        />
        {rooms.length < 2 ? (
          <p class="empty">Join at least two rooms (Inbox → Join a room) to link them.</p>
        ) : (
          rooms.map((c) => (
            <label key={c.id} class="room-choice">
              <input
                type="checkbox"
                name="bridge-room"
                value={c.id}
                checked={picked.includes(c.id)}
                onChange={() => toggle(c.id)}
              />
              {label(c)}
            </label>
          ))
        )}
        <button type="submit" disabled={picked.length < 2}>
          Link {picked.length >= 2 ? `${picked.length} rooms` : 'rooms'}
        </button>
      </form>
    </section>
  );
}
