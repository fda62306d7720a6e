import { QueryFailedError } from 'typeorm';
import { isDatabaseUnavailable, toErrorBody } from './error.filter';
import { SendError } from '../sdk';

describe('isDatabaseUnavailable', () => {
  it.each([
    ['SQLite read-only file', { code: 'SQLITE_READONLY' }],
    ['SQLite write I/O error', { code: 'SQLITE_IOERR_WRITE' }],
    ['SQLite full disk', { code: 'SQLITE_FULL' }],
    ['connection refused', { code: 'ECONNREFUSED' }],
    ['connection reset', { code: 'ECONNRESET' }],
    ['PostgreSQL admin shutdown', { code: '57P01' }],
    ['PostgreSQL starting up', { code: '57P03' }],
    ['PostgreSQL connection failure', { code: '08006' }],
    ['pg connection cut mid-query', new Error('Connection terminated unexpectedly')],
    ['pg pool connect timeout', new Error('timeout exceeded when trying to connect')],
  ])('%s → true', (_name, err) => {
    expect(isDatabaseUnavailable(err)).toBe(true);
  });

  it('reads the code of a TypeORM QueryFailedError from its driver error', () => {
    const err = new QueryFailedError('INSERT …', [], Object.assign(new Error('boom'), { code: '57P01' }));
    expect(isDatabaseUnavailable(err)).toBe(true);
  });

  it.each([
    ['a unique violation', { code: '23505' }],
    ['a syntax error', { code: '42601' }],
    ['a constraint on SQLite', { code: 'SQLITE_CONSTRAINT_UNIQUE' }],
    ['a plain error', new Error('something else')],
    ['null', null],
  ])('%s → false', (_name, err) => {
    expect(isDatabaseUnavailable(err)).toBe(false);
  });

  it('maps an unavailable database to 503 with the JSON error shape', () => {
    expect(toErrorBody(new Error('Connection terminated unexpectedly'))).toEqual({
      status: 503,
      body: { error: { code: 'UNAVAILABLE', message: expect.any(String) } },
    });
  });
});

describe('toErrorBody: an adapter SendError that reached a request', () => {
  it('is a 422 NETWORK_REFUSED with the reason when the network said no for good', () => {
    expect(toErrorBody(new SendError('M_FORBIDDEN: not invited', false, 'M_FORBIDDEN'))).toEqual({
      status: 422,
      body: {
        error: {
          code: 'NETWORK_REFUSED',
          message: 'the network refused it: M_FORBIDDEN: not invited',
          details: { reason: 'M_FORBIDDEN' },
        },
      },
    });
  });

  it('is a 503 when the network may answer later, and a 429 with its wait when it rate limits', () => {
    expect(toErrorBody(new SendError('no answer', true)).status).toBe(503);
    const limited = toErrorBody(new SendError('slow down', true, 'rate_limited', 2500));
    expect(limited).toMatchObject({
      status: 429,
      retryAfterMs: 2500,
      body: { error: { code: 'RATE_LIMITED' } },
    });
  });
});
