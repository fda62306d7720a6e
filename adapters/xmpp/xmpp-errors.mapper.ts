import type { ConnectionStatus } from '@switchboard/sdk';
import { StanzaLimitError } from './bounded-xml.parser';
import { TlsVerificationError } from './xmpp-tls.socket';

const text = (e: unknown): string => (e instanceof Error ? e.message || e.name : String(e));

/**
 * What a failed login or a broken stream means for the account. Bad passwords are not retried; a
 * certificate we cannot trust is an error the user must act on (retried with backoff in case the server's
 * certificate is fixed); everything else is transient.
 */
export function classifyFailure(e: unknown): ConnectionStatus {
  const name = e instanceof Error ? e.name : undefined;
  const condition = (e as { condition?: unknown } | null)?.condition;
  if (name === 'SASLError' && typeof condition === 'string') {
    if (['invalid-mechanism', 'encryption-required', 'mechanism-too-weak'].includes(condition))
      return {
        state: 'error',
        code: `sasl_${condition}`,
        message: `the server and this client share no usable login mechanism (${condition})`,
      };
    if (condition === 'temporary-auth-failure')
      return {
        state: 'transient_disconnect',
        code: 'sasl_temporary',
        message: 'the server could not check the password right now',
      };
    return {
      state: 'bad_credentials',
      code: `sasl_${condition}`,
      message: `the server refused the login (${condition})`,
      retryable: false,
    };
  }
  if (e instanceof TlsVerificationError) return { state: 'error', code: e.code, message: e.message };
  if (name === 'XMLError')
    return {
      state: 'transient_disconnect',
      code: 'not_well_formed',
      message: `dropped the connection: ${text(e)}`,
    };
  if (e instanceof StanzaLimitError)
    return { state: 'transient_disconnect', code: e.code, message: `dropped the connection: ${e.message}` };
  if (name === 'StreamError' && typeof condition === 'string') {
    if (condition === 'conflict')
      return {
        state: 'logged_out',
        code: 'session_replaced',
        message: 'another client logged in with the same resource',
        retryable: false,
      };
    if (condition === 'not-authorized')
      return { state: 'bad_credentials', code: 'stream_not_authorized', message: text(e), retryable: false };
    return {
      state: 'transient_disconnect',
      code: `stream_${condition}`,
      message: `the server ended the stream: ${text(e)}`,
    };
  }
  if (e instanceof Error && e.message === 'No compatible mechanism')
    return {
      state: 'error',
      code: 'sasl_no_mechanism',
      message: 'the server offers no login mechanism this client supports',
    };
  if (e instanceof Error && e.name === 'ScramError')
    return { state: 'error', code: 'sasl_scram', message: e.message };
  const errno = (e as { code?: unknown } | null)?.code;
  if (typeof errno === 'string' && /^E[A-Z]+$/.test(errno))
    return {
      state: 'transient_disconnect',
      code: 'connect_failed',
      message: `could not reach the server: ${text(e)}`,
    };
  return { state: 'transient_disconnect', code: 'connect_failed', message: text(e) };
}
