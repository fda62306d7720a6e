import { useState } from 'preact/hooks';
import type { Account, AdapterInfo } from './api';
import { ACCOUNT_STATE_WORDS, OPTION_HINTS, parseOptions } from './presence';

export function AccountsPage({
  accounts,
  adapters,
  onAdd,
  onDelete,
}: {
  accounts: Account[];
  adapters: AdapterInfo[];
  onAdd: (adapter: string, label: string, options: Record<string, unknown>) => Promise<void>;
  onDelete: (id: string) => Promise<void>;
}) {
  const [adapter, setAdapter] = useState('');
  const [label, setLabel] = useState('');
  const [options, setOptions] = useState('');
  const [error, setError] = useState<string>();
  const [confirming, setConfirming] = useState<string>();
  const chosen = adapter || adapters[0]?.id || '';

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      await onAdd(chosen, label.trim(), parseOptions(options));
      setLabel('');
      setOptions('');
    } catch (err) {
      setError((err as Error).message);
    }
  };

  const remove = async (id: string) => {
    setError(undefined);
    try {
      await onDelete(id);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setConfirming(undefined);
    }
  };

  return (
    <div class="accounts">
      <table>
        <thead>
          <tr>
            <th>Account</th>
            <th>Network</th>
            <th>State</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {accounts.map((a) => (
            <tr key={a.id} data-account={a.id} data-state={a.state}>
              <td>{a.label ?? a.adapter}</td>
              <td>
                <span class={`badge badge-${a.adapter}`}>{a.adapter}</span>
              </td>
              <td class={`state state-${a.state}`}>
                {ACCOUNT_STATE_WORDS[a.state] ?? a.state}
                {a.stateMessage && <div class="state-message">{a.stateMessage}</div>}
              </td>
              <td>
                {confirming === a.id ? (
                  <button class="danger" onClick={() => void remove(a.id)}>
                    Really delete
                  </button>
                ) : (
                  <button onClick={() => setConfirming(a.id)}>Delete</button>
                )}
              </td>
            </tr>
          ))}
          {!accounts.length && (
            <tr>
              <td colSpan={4} class="empty">
                No accounts yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <form class="add-account" onSubmit={(e) => void submit(e)}>
        <h3>Add an account</h3>
        <label>
          Network
          <select name="adapter" value={chosen} onChange={(e) => setAdapter(e.currentTarget.value)}>
            {adapters.map((a) => (
              <option key={a.id} value={a.id}>
                {a.displayName} ({a.id} {a.version})
              </option>
            ))}
          </select>
        </label>
        <label>
          Label
          <input
            name="label"
            value={label}
            maxLength={200}
            onInput={(e) => setLabel(e.currentTarget.value)}
          />
        </label>
        <label>
          Options (key = value lines, or a JSON object)
          <textarea
            name="options"
            rows={6}
            placeholder={OPTION_HINTS[chosen] ?? 'key = value'}
            value={options}
            onInput={(e) => setOptions(e.currentTarget.value)}
          />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={!chosen}>
          Add account
        </button>
      </form>
    </div>
  );
}
