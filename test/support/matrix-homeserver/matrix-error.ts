/** Error codes this homeserver returns, as named by the Client-Server API spec (v1.x, "Standard error response"). */
export type MatrixErrcode =
  | 'M_FORBIDDEN'
  | 'M_UNKNOWN_TOKEN'
  | 'M_MISSING_TOKEN'
  | 'M_BAD_JSON'
  | 'M_NOT_JSON'
  | 'M_NOT_FOUND'
  | 'M_LIMIT_EXCEEDED'
  | 'M_UNRECOGNIZED'
  | 'M_UNKNOWN'
  | 'M_USER_IN_USE'
  | 'M_INVALID_USERNAME'
  | 'M_ROOM_IN_USE'
  | 'M_INVALID_PARAM'
  | 'M_TOO_LARGE'
  | 'M_UNSUPPORTED_ROOM_VERSION'
  | 'M_MISSING_PARAM'
  | 'M_BAD_ALIAS';

/** A spec error: the HTTP status plus the `{ errcode, error, ...extra }` body. */
export class MatrixError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: MatrixErrcode,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'MatrixError';
  }

  toJSON(): Record<string, unknown> {
    return { errcode: this.errcode, error: this.message, ...this.extra };
  }
}

export const forbidden = (msg: string): MatrixError => new MatrixError(403, 'M_FORBIDDEN', msg);
export const notFound = (msg: string): MatrixError => new MatrixError(404, 'M_NOT_FOUND', msg);
export const badJson = (msg: string): MatrixError => new MatrixError(400, 'M_BAD_JSON', msg);
export const invalidParam = (msg: string): MatrixError => new MatrixError(400, 'M_INVALID_PARAM', msg);
