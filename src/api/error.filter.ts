import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus } from '@nestjs/common';
import type { Response } from 'express';
import type { Logger } from '../common/logger';
import { isSendError } from '../sdk';
import { ApiError, type ApiErrorBody, type ApiErrorCode } from './api-error';

const STATUS_CODES: Partial<Record<number, ApiErrorCode>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  503: 'UNAVAILABLE',
};

/** body-parser's errors carry `type` and `status`; map them to our codes before Nest sees a 500. */
export function bodyParserError(err: unknown): ApiError | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { type?: unknown; status?: unknown; limit?: unknown; message?: unknown };
  switch (e.type) {
    case 'entity.parse.failed':
      return new ApiError(HttpStatus.BAD_REQUEST, 'BAD_JSON', 'the request body is not valid JSON');
    case 'entity.too.large':
      return new ApiError(
        HttpStatus.PAYLOAD_TOO_LARGE,
        'PAYLOAD_TOO_LARGE',
        `the request body is larger than the limit of ${typeof e.limit === 'number' ? e.limit : '?'} bytes`,
      );
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ApiError(HttpStatus.UNSUPPORTED_MEDIA_TYPE, 'UNSUPPORTED_MEDIA_TYPE', String(e.message));
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new ApiError(HttpStatus.BAD_REQUEST, 'BAD_REQUEST', String(e.message));
    default:
      // Other client errors of the body parser (a corrupt gzip or brotli body …) carry their 4xx status.
      if (typeof e.status === 'number' && e.status >= 400 && e.status < 500 && err instanceof Error)
        return new ApiError(
          e.status,
          STATUS_CODES[e.status] ?? 'BAD_REQUEST',
          `the request body could not be read: ${err.message}`,
        );
      return undefined;
  }
}

/** Network errors and PostgreSQL's "server going away / not ready" class (57P0x) and connection class (08xxx). */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '08000',
  '08001',
  '08003',
  '08006',
]);

/**
 * The database (or the Redis queue behind it) cannot be reached right now: a retry later may succeed.
 * pg reports a connection cut mid-query without a code, only with this message.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; driverError?: { code?: unknown }; message?: unknown } | null;
  const code = e?.driverError?.code ?? e?.code;
  if (typeof code === 'string') {
    if (/^SQLITE_(READONLY|BUSY|CANTOPEN|IOERR|FULL)/.test(code) || UNAVAILABLE_CODES.has(code)) return true;
  }
  const message = typeof e?.message === 'string' ? e.message : '';
  return /Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect/.test(
    message,
  );
}

export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown; driverError?: { code?: unknown } } | null;
  const code = e?.driverError?.code ?? e?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}

/** A row refers to one that is gone (SQLite's FOREIGN KEY failure, PostgreSQL's 23503). */
export function isForeignKeyViolation(err: unknown): boolean {
  const e = err as { code?: unknown; driverError?: { code?: unknown } } | null;
  const code = e?.driverError?.code ?? e?.code;
  return code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || code === '23503';
}

/**
 * An adapter's SendError that reached a request (joining a room, adding a contact): the network's own
 * answer, so the user's, not the gateway's fault. Refused for good → 422 with the network's reason;
 * rate limited → 429 with Retry-After; anything passing → 503.
 */
function networkError(
  err: unknown,
): { status: number; body: ApiErrorBody; retryAfterMs?: number } | undefined {
  if (!isSendError(err)) return undefined;
  if (err.code === 'rate_limited' || err.retryAfterMs !== undefined)
    return {
      status: 429,
      body: { error: { code: 'RATE_LIMITED', message: `the network asks to slow down: ${err.message}` } },
      ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}),
    };
  if (err.retryable)
    return {
      status: 503,
      body: {
        error: { code: 'UNAVAILABLE', message: `the network did not answer: ${err.message}; try again` },
      },
    };
  return {
    status: 422,
    body: {
      error: {
        code: 'NETWORK_REFUSED',
        message: `the network refused it: ${err.message}`,
        details: { reason: err.code },
      },
    },
  };
}

/** Turns every error into `{ error: { code, message } }`; unknown errors are logged and answered 500 without detail. */
export function toErrorBody(
  err: unknown,
  logger?: Logger,
): { status: number; body: ApiErrorBody; retryAfterMs?: number } {
  if (err instanceof ApiError) return { status: err.getStatus(), body: err.getResponse() as ApiErrorBody };
  const parsed = bodyParserError(err);
  if (parsed) return { status: parsed.getStatus(), body: parsed.getResponse() as ApiErrorBody };
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const res = err.getResponse();
    let message = err.message;
    if (typeof res === 'object' && res !== null) {
      const m = (res as { message?: unknown }).message;
      if (Array.isArray(m)) message = m.map(String).join('; ');
      else if (typeof m === 'string') message = m;
    }
    return {
      status,
      body: {
        error: { code: STATUS_CODES[status] ?? (status >= 500 ? 'INTERNAL' : 'BAD_REQUEST'), message },
      },
    };
  }
  if (isDatabaseUnavailable(err)) {
    logger?.error('storage unavailable', { err });
    return {
      status: 503,
      body: { error: { code: 'UNAVAILABLE', message: 'storage is unavailable; try again shortly' } },
    };
  }
  const refused = networkError(err);
  if (refused) return refused;
  if (isUniqueViolation(err)) {
    return { status: 409, body: { error: { code: 'CONFLICT', message: 'that already exists' } } };
  }
  logger?.error('unhandled error in request', { err, stack: err instanceof Error ? err.stack : undefined });
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error' } } };
}

@Catch()
export class ApiErrorFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') return;
    const res = host.switchToHttp().getResponse<Response>();
    const { status, body, retryAfterMs } = toErrorBody(exception, this.logger);
    if (res.headersSent) return;
    if (retryAfterMs !== undefined)
      res.setHeader('Retry-After', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
    res.status(status).json(body);
  }
}
