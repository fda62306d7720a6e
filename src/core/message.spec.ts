import { RemoteUserId } from '../sdk';
import { ConversationId, EndpointId, MessageId } from './ids';
import {
  applyEdit,
  applyRedaction,
  canApplyEdit,
  canApplyRedaction,
  canTransition,
  isMessageStatus,
  isValidReplyTarget,
  MESSAGE_STATUSES,
  nextStatus,
  sameSender,
  type Message,
  type MessageStatus,
} from './message';

const alice = {
  remoteUserId: RemoteUserId('@alice:example.org'),
  endpointId: EndpointId('e-alice'),
  self: false,
};
const bob = { remoteUserId: RemoteUserId('@bob:example.org'), endpointId: EndpointId('e-bob'), self: false };
const me = { self: true };
const conv = ConversationId('c1');

function message(extra: Partial<Message> = {}): Message {
  return {
    id: MessageId('m1'),
    conversationId: conv,
    sender: { ...alice, displayName: 'Alice' },
    text: 'hello',
    html: '<b>hello</b>',
    formatted: {
      blocks: [
        { type: 'paragraph', children: [{ type: 'bold', children: [{ type: 'text', text: 'hello' }] }] },
      ],
    },
    replyTo: MessageId('m0'),
    attachments: [{ name: 'a.png', mimeType: 'image/png', url: 'mxc://x/y' }],
    sentAt: '2026-01-01T10:00:00Z',
    status: 'delivered',
    ...extra,
  };
}

describe('message status transitions', () => {
  const forward: [MessageStatus, MessageStatus][] = [
    ['queued', 'sent'],
    ['queued', 'delivered'],
    ['sent', 'delivered'],
    ['queued', 'failed'],
    ['sent', 'failed'],
    ['failed', 'queued'],
    ['failed', 'sent'],
    ['failed', 'delivered'],
  ];
  const backward: [MessageStatus, MessageStatus][] = [
    ['delivered', 'sent'],
    ['delivered', 'queued'],
    ['delivered', 'failed'],
    ['sent', 'queued'],
  ];

  it.each(forward)('%s → %s is legal', (from, to) => {
    expect(canTransition(from, to)).toBe(true);
    expect(nextStatus(from, to)).toBe(to);
  });

  it.each(backward)('%s → %s is refused (never backwards)', (from, to) => {
    expect(canTransition(from, to)).toBe(false);
    expect(nextStatus(from, to)).toBe(from);
  });

  it('keeps a status that is reported again', () => {
    for (const s of MESSAGE_STATUSES) expect(nextStatus(s, s)).toBe(s);
  });

  it('recognises the vocabulary', () => {
    expect(isMessageStatus('sent')).toBe(true);
    expect(isMessageStatus('read')).toBe(false);
    expect(isMessageStatus(1)).toBe(false);
  });
});

describe('senders, edits and redactions', () => {
  it('compares senders by network identity, then endpoint; unknown never matches', () => {
    expect(sameSender(alice, { remoteUserId: alice.remoteUserId, self: false })).toBe(true);
    expect(sameSender(alice, { endpointId: alice.endpointId, self: false })).toBe(true);
    expect(sameSender(alice, bob)).toBe(false);
    expect(sameSender(me, { self: true })).toBe(true);
    expect(sameSender(me, alice)).toBe(false);
    expect(sameSender({ self: false }, { self: false })).toBe(false);
  });

  it('applies an edit from the original sender only', () => {
    const original = message();
    expect(canApplyEdit(original, alice)).toBe(true);
    expect(canApplyEdit(original, bob)).toBe(false);
    expect(canApplyEdit(original, me)).toBe(false);

    const edited = applyEdit(original, { sender: alice, text: 'hello!', editedAt: '2026-01-01T10:01:00Z' });
    expect(edited).toEqual({
      ok: true,
      message: expect.objectContaining({
        text: 'hello!',
        editedAt: '2026-01-01T10:01:00Z',
        status: 'delivered',
      }),
    });
    // The old formatted body does not survive an edit that brings none.
    expect(edited.ok && edited.message.html).toBeUndefined();
    expect(edited.ok && edited.message.formatted).toBeUndefined();
    expect(applyEdit(original, { sender: bob, text: 'hijack', editedAt: '2026-01-01T10:01:00Z' })).toEqual({
      ok: false,
      reason: 'not_sender',
    });
    expect(original.text).toBe('hello'); // never mutated
  });

  it('refuses an edit older than the one already applied, and edits of deleted messages', () => {
    const edited = message({ editedAt: '2026-01-01T10:05:00Z', text: 'v2' });
    expect(applyEdit(edited, { sender: alice, text: 'v1', editedAt: '2026-01-01T10:01:00Z' })).toEqual({
      ok: false,
      reason: 'stale',
    });
    const deleted = message({ deleted: true });
    expect(canApplyEdit(deleted, alice)).toBe(false);
    expect(applyEdit(deleted, { sender: alice, text: 'x', editedAt: '2026-01-01T11:00:00Z' })).toEqual({
      ok: false,
      reason: 'deleted',
    });
  });

  it('redacts from the original sender only, keeping the place and dropping the content', () => {
    const original = message();
    expect(canApplyRedaction(original, bob)).toBe(false);
    expect(applyRedaction(original, bob)).toEqual({ ok: false, reason: 'not_sender' });
    const result = applyRedaction(original, alice);
    expect(result).toEqual({
      ok: true,
      message: {
        id: original.id,
        conversationId: conv,
        sender: original.sender,
        text: '',
        deleted: true,
        sentAt: original.sentAt,
        status: 'delivered',
      },
    });
  });
});

describe('reply references', () => {
  it('must point into the same conversation', () => {
    expect(isValidReplyTarget(conv, { conversationId: conv })).toBe(true);
    expect(isValidReplyTarget(conv, { conversationId: ConversationId('other') })).toBe(false);
    expect(isValidReplyTarget(conv, undefined)).toBe(false);
  });
});
