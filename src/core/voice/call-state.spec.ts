import { type CallEvent, type CallStatus, glareWinner, nextCallStatus } from './call-state';

const S = (state: CallStatus['state'], endReason?: CallStatus['endReason']): CallStatus => ({
  state,
  ...(endReason ? { endReason } : {}),
});

describe('nextCallStatus', () => {
  const table: [CallStatus, CallEvent['type'], CallStatus | undefined][] = [
    [S('negotiating'), 'ringing', S('ringing')],
    [S('negotiating'), 'answered', S('connected')],
    [S('ringing'), 'answered', S('connected')],
    [S('ringing'), 'ringing', undefined],
    [S('connected'), 'ringing', undefined],
    [S('connected'), 'answered', undefined],
    [S('negotiating'), 'hangup', S('ended', 'hangup')],
    [S('ringing'), 'hangup', S('ended', 'hangup')],
    [S('connected'), 'hangup', S('ended', 'hangup')],
    [S('ringing'), 'rejected', S('ended', 'rejected')],
    [S('negotiating'), 'rejected', S('ended', 'rejected')],
    [S('connected'), 'rejected', S('ended', 'hangup')],
    [S('ringing'), 'busy', S('ended', 'busy')],
    [S('negotiating'), 'busy', S('ended', 'busy')],
    [S('connected'), 'busy', undefined],
    [S('ringing'), 'timeout', S('ended', 'no_answer')],
    [S('negotiating'), 'timeout', S('ended', 'no_answer')],
    [S('connected'), 'timeout', undefined],
    [S('negotiating'), 'error', S('failed', 'failed')],
    [S('connected'), 'error', S('failed', 'failed')],
    [S('ended', 'hangup'), 'answered', undefined],
    [S('ended', 'busy'), 'hangup', undefined],
    [S('failed', 'failed'), 'ringing', undefined],
  ];
  it.each(table)('%j + %s → %j', (from, type, to) => {
    expect(nextCallStatus(from, { type })).toEqual(to);
  });
});

describe('glareWinner', () => {
  it('both sides agree: the lower id survives', () => {
    expect(glareWinner('a', 'b')).toBe('ours');
    expect(glareWinner('b', 'a')).toBe('theirs');
  });
});
