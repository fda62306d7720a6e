import { StanzaLimitError } from './bounded-xml.parser';
import { classifyFailure } from './xmpp-errors.mapper';
import { TlsVerificationError } from './xmpp-tls.socket';

const err = (name: string, props: Record<string, unknown> = {}, message = 'x') =>
  Object.assign(Object.assign(new Error(message), { name }), props);

describe('classifyFailure', () => {
  it('maps refused logins to bad credentials, not retried', () => {
    expect(classifyFailure(err('SASLError', { condition: 'not-authorized' }))).toMatchObject({
      state: 'bad_credentials',
      code: 'sasl_not-authorized',
      retryable: false,
    });
    expect(classifyFailure(err('SASLError', { condition: 'temporary-auth-failure' })).state).toBe(
      'transient_disconnect',
    );
    expect(classifyFailure(err('SASLError', { condition: 'invalid-mechanism' })).state).toBe('error');
  });

  it('maps TLS, parser and stream problems', () => {
    expect(classifyFailure(new TlsVerificationError('no', 'tls_untrusted'))).toMatchObject({
      state: 'error',
      code: 'tls_untrusted',
    });
    expect(classifyFailure(new StanzaLimitError('big', 'stanza_too_large'))).toMatchObject({
      state: 'transient_disconnect',
      code: 'stanza_too_large',
    });
    expect(classifyFailure(err('XMLError')).code).toBe('not_well_formed');
    expect(classifyFailure(err('StreamError', { condition: 'conflict' }))).toMatchObject({
      state: 'logged_out',
      retryable: false,
    });
    expect(classifyFailure(err('StreamError', { condition: 'system-shutdown' }))).toMatchObject({
      state: 'transient_disconnect',
      code: 'stream_system-shutdown',
    });
    expect(classifyFailure(err('Error', { code: 'ECONNREFUSED' })).code).toBe('connect_failed');
    expect(classifyFailure(err('TimeoutError', {}, '')).message).toBe('TimeoutError');
  });
});
