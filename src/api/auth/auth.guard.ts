import { CanActivate, ExecutionContext, Injectable, SetMetadata, createParamDecorator } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { ApiError } from '../api-error';
import { AuthService, type AuthUser } from './auth.service';

const PUBLIC = 'switchboard:public';
/** Marks a route that needs no token (login, health, metrics, docs). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC, true);

export type AuthedRequest = Request & { user?: AuthUser };

export function bearerToken(header: string | string[] | undefined): string | undefined {
  const h = Array.isArray(header) ? header[0] : header;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

/** Global guard: every route needs a valid bearer token unless marked @Public(). */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly auth: AuthService,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, [ctx.getHandler(), ctx.getClass()])) return true;
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const token = bearerToken(req.headers.authorization);
    if (!token) throw ApiError.unauthorized();
    const user = await this.auth.authenticate(token);
    if (!user) throw ApiError.unauthorized('the token is unknown or expired: log in again');
    req.user = user;
    return true;
  }
}

/** The signed-in user of this request (the guard guarantees one on non-public routes). */
export const CurrentUser = createParamDecorator((_: unknown, ctx: ExecutionContext): AuthUser => {
  const user = ctx.switchToHttp().getRequest<AuthedRequest>().user;
  if (!user) throw ApiError.unauthorized();
  return user;
});
