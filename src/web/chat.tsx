import { useEffect, useRef, useState } from 'preact/hooks';
import type { Account, Conversation, Message } from './api';

export function Inbox({
  conversations,
  accounts,
  openId,
  onOpen,
}: {
  conversations: Conversation[];
  accounts: Account[];
  openId: string | undefined;
  onOpen: (id: string) => void;
}) {
  if (!conversations.length) return <p class="empty">No conversations yet. Click a person to start one.</p>;
  return (
    <ul class="inbox">
      {conversations.map((c) => (
        <li key={c.id}>
          <button
            class={`conversation${c.id === openId ? ' open' : ''}`}
            data-conversation={c.id}
            onClick={() => onOpen(c.id)}
          >
            <span class="title">{c.title}</span>
            <span class={`badge badge-${c.network}`}>{c.network}</span>
            <span class="via">{accountLabel(accounts, c.accountId)}</span>
            {c.unread > 0 && <span class="unread">{c.unread}</span>}
            {c.lastMessageAt && <time class="when">{shortTime(c.lastMessageAt)}</time>}
          </button>
        </li>
      ))}
    </ul>
  );
}

function accountLabel(accounts: Account[], id: string): string {
  const a = accounts.find((x) => x.id === id);
  return a ? (a.label ?? a.adapter) : '';
}

function shortTime(iso: string): string {
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  return today
    ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleDateString([], { month: 'short', day: 'numeric' });
}

const STATUS_MARK: Record<Message['status'], string> = {
  queued: '…',
  sent: '✓',
  delivered: '✓✓',
  failed: '✗ not sent',
};

export function ChatView({
  conversation,
  messages,
  onSend,
}: {
  conversation: Conversation | undefined;
  messages: Message[];
  onSend: (text: string) => Promise<void>;
}) {
  const [text, setText] = useState('');
  const [error, setError] = useState<string>();
  const list = useRef<HTMLOListElement>(null);

  useEffect(() => {
    list.current?.scrollTo({ top: list.current.scrollHeight });
  }, [messages.length, conversation?.id]);

  if (!conversation) return <div class="chat empty">Pick a conversation or a person.</div>;

  const submit = async (e: Event) => {
    e.preventDefault();
    const body = text.trim();
    if (!body) return;
    setError(undefined);
    try {
      await onSend(body);
      setText('');
    } catch (err) {
      setError((err as Error).message);
    }
  };

  return (
    <div class="chat" data-conversation={conversation.id}>
      <header>
        <h2>{conversation.title}</h2>
        <span class={`badge badge-${conversation.network}`}>{conversation.network}</span>
      </header>
      <ol class="messages" ref={list}>
        {messages.map((m) => (
          <li key={m.id} class={`message${m.sender.self ? ' self' : ''}`} data-status={m.status}>
            <span class="sender">{m.sender.self ? 'You' : m.sender.displayName}</span>
            {m.deleted ? (
              <span class="text deleted">message deleted</span>
            ) : (
              <span class="text">{m.text}</span>
            )}
            {m.editedAt && <span class="edited">(edited)</span>}
            <time class="when">{new Date(m.sentAt).toLocaleTimeString()}</time>
            {m.sender.self && <span class={`status status-${m.status}`}>{STATUS_MARK[m.status]}</span>}
          </li>
        ))}
      </ol>
      <form class="send-box" onSubmit={(e) => void submit(e)}>
        <input
          name="message"
          placeholder={`Message ${conversation.title}`}
          autoComplete="off"
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
        />
        <button type="submit">Send</button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
