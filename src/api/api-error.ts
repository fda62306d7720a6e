import { HttpException, HttpStatus } from '@nestjs/common';

/** Stable error codes clients may switch on (API.md: `{ error: { code, message } }`). */
export type ApiErrorCode =
  | 'BAD_REQUEST'
  | 'BAD_JSON'
  | 'VALIDATION_FAILED'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'RATE_LIMITED'
  | 'UNAVAILABLE'
  /** The network itself turned the request down (a room that does not exist, one we may not join). */
  | 'NETWORK_REFUSED'
  | 'INTERNAL';

export interface ApiErrorBody {
  error: { code: ApiErrorCode; message: string; details?: unknown };
}

/** The one exception the API throws; the filter turns it (and everything else) into the JSON shape. */
export class ApiError extends HttpException {
  constructor(
    status: HttpStatus,
    readonly code: ApiErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(
      { error: { code, message, ...(details !== undefined ? { details } : {}) } } satisfies ApiErrorBody,
      status,
    );
  }

  static notFound(what: string): ApiError {
    return new ApiError(HttpStatus.NOT_FOUND, 'NOT_FOUND', `${what} not found`);
  }
  static badRequest(message: string, details?: unknown): ApiError {
    return new ApiError(HttpStatus.BAD_REQUEST, 'BAD_REQUEST', message, details);
  }
  static validation(message: string, details?: unknown): ApiError {
    return new ApiError(HttpStatus.BAD_REQUEST, 'VALIDATION_FAILED', message, details);
  }
  static unauthorized(message = 'authentication required: send Authorization: Bearer <token>'): ApiError {
    return new ApiError(HttpStatus.UNAUTHORIZED, 'UNAUTHORIZED', message);
  }
  static forbidden(message: string): ApiError {
    return new ApiError(HttpStatus.FORBIDDEN, 'FORBIDDEN', message);
  }
  static conflict(message: string): ApiError {
    return new ApiError(HttpStatus.CONFLICT, 'CONFLICT', message);
  }
  static unavailable(message: string): ApiError {
    return new ApiError(HttpStatus.SERVICE_UNAVAILABLE, 'UNAVAILABLE', message);
  }
}
