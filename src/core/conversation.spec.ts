import { AccountId, RemoteRoomId } from '../sdk';
import { markRead, withMessage, type Conversation } from './conversation';
import { ConversationId } from './ids';

const conversation: Conversation = {
  id: ConversationId('c1'),
  accountId: AccountId('a1'),
  network: 'irc',
  remoteId: RemoteRoomId('#switchboard'),
  kind: 'group',
  title: '#switchboard',
  unread: 2,
  lastMessageAt: '2026-01-01T10:00:00Z',
};

describe('conversation bookkeeping', () => {
  it('counts messages from others as unread and moves lastMessageAt forward', () => {
    const next = withMessage(conversation, { sentAt: '2026-01-01T11:00:00Z', sender: { self: false } });
    expect(next).toMatchObject({ unread: 3, lastMessageAt: '2026-01-01T11:00:00Z' });
    expect(conversation.unread).toBe(2); // not mutated
  });

  it('does not move lastMessageAt back for backfilled history', () => {
    const next = withMessage(conversation, { sentAt: '2025-12-31T00:00:00Z', sender: { self: false } });
    expect(next.lastMessageAt).toBe('2026-01-01T10:00:00Z');
  });

  it('treats a message of our own as having read the conversation', () => {
    expect(withMessage(conversation, { sentAt: '2026-01-01T11:00:00Z', sender: { self: true } }).unread).toBe(
      0,
    );
    expect(markRead(conversation).unread).toBe(0);
  });

  it('takes the first message of a new conversation', () => {
    const { lastMessageAt: _ignored, ...fresh } = conversation;
    expect(
      withMessage(fresh, { sentAt: '2026-01-01T09:00:00Z', sender: { self: false } }).lastMessageAt,
    ).toBe('2026-01-01T09:00:00Z');
  });
});
