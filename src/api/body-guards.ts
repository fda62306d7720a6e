import { HttpStatus } from '@nestjs/common';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ApiError } from './api-error';

/**
 * Deepest nesting a JSON request body may have. Real bodies are a few levels deep; Nest's ValidationPipe
 * and class-transformer walk bodies recursively, so a body of 100,000 nested arrays (well under the size
 * limit) would overflow the stack and answer 500.
 */
export const MAX_JSON_DEPTH = 64;

/** Whether `value` nests deeper than `max` (arrays and objects count; walked without recursion). */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth + 1 > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v as Record<string, unknown>))
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return false;
}

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Runs after the JSON body parser, for the API: a body that is not JSON is a 415 (the parser skips it, and
 * validation would report a confusing "must be a JSON object"), and a body nested deeper than
 * MAX_JSON_DEPTH is a 400 before any recursive code sees it.
 */
export function apiBodyGuards(): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    if (!req.path.startsWith('/api/') || !['POST', 'PUT', 'PATCH'].includes(req.method)) return next();
    if (hasBody(req) && !req.is(['application/json', 'application/*+json']))
      return next(
        new ApiError(
          HttpStatus.UNSUPPORTED_MEDIA_TYPE,
          'UNSUPPORTED_MEDIA_TYPE',
          `the request body must be application/json, not ${req.headers['content-type'] ?? 'untyped'}`,
        ),
      );
    if (nestedDeeperThan(req.body, MAX_JSON_DEPTH))
      return next(ApiError.validation(`the request body is nested deeper than ${MAX_JSON_DEPTH} levels`));
    next();
  };
}
