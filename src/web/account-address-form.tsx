import { useState } from 'preact/hooks';
import type { Account } from './api';

/**
 * An account picker and an address: used to add a buddy on a network and to join a room or channel. Only
 * connected accounts are offered, since the gateway refuses both on an account that is not connected.
 */
export function AccountAddressForm({
  name,
  title,
  placeholder,
  action,
  accounts,
  onSubmit,
}: {
  name: string;
  title: string;
  placeholder: string;
  action: string;
  accounts: Account[];
  onSubmit: (accountId: string, address: string) => Promise<string | undefined>;
}) {
  const usable = accounts.filter((a) => a.state === 'connected');
  const [accountId, setAccountId] = useState('');
  const [address, setAddress] = useState('');
  const [note, setNote] = useState<{ ok: boolean; text: string }>();
  const chosen = usable.some((a) => a.id === accountId) ? accountId : (usable[0]?.id ?? '');

  const submit = async (e: Event) => {
    e.preventDefault();
    setNote(undefined);
    try {
      const done = await onSubmit(chosen, address.trim());
      setAddress('');
      if (done) setNote({ ok: true, text: done });
    } catch (err) {
      setNote({ ok: false, text: (err as Error).message });
    }
  };

  return (
    <details class={`address-form ${name}`}>
      <summary>{title}</summary>
      <form onSubmit={(e) => void submit(e)}>
        <select name="account" value={chosen} onChange={(e) => setAccountId(e.currentTarget.value)}>
          {usable.map((a) => (
            <option key={a.id} value={a.id}>
              {a.label ?? a.adapter} ({a.adapter})
            </option>
          ))}
        </select>
        <input
          name="address"
          placeholder={placeholder}
          value={address}
          maxLength={512}
          required
          onInput={(e) => setAddress(e.currentTarget.value)}
        />
        <button type="submit" disabled={!chosen}>
          {action}
        </button>
      </form>
      {!usable.length && <p class="note">No connected account.</p>}
      {note && (
        <p class={note.ok ? 'note' : 'error'} role={note.ok ? 'status' : 'alert'}>
          {note.text}
        </p>
      )}
    </details>
  );
}
