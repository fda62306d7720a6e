import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../../config';
import type { Logger } from '../../common/logger';
import { ApiToken, User } from '../../storage/entities';
import { CONFIG, DATA_SOURCE, LOGGER } from '../../tokens';
import { ApiError } from '../api-error';
import { isUniqueViolation } from '../error.filter';
import { SlidingWindowLimiter } from '../../common/sliding-window-limiter';
import { hashPassword, hashToken, newToken, verifyPassword } from './password';

export interface AuthUser {
  id: string;
  username: string;
  isAdmin: boolean;
}

export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._-]{1,63}$/;

@Injectable()
export class AuthService {
  private readonly limiter: SlidingWindowLimiter;
  // A verified token is cached briefly so that every request does not cost a database read.
  private readonly tokenCache = new Map<string, { user: AuthUser; until: number }>();
  // Tokens logged out lately (hash -> until when to remember): an authenticate() that read the token's row
  // before the logout deleted it must neither cache nor accept it afterwards. Kept as long as a cache entry lives.
  private readonly revoked = new Map<string, number>();

  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    const rl = config.security.loginRateLimit;
    this.limiter = new SlidingWindowLimiter(rl.maxAttempts, rl.windowSeconds * 1000);
  }

  private get users() {
    return this.ds.getRepository(User);
  }
  private get tokens() {
    return this.ds.getRepository(ApiToken);
  }

  /** Creates the first admin from config/env when the gateway has no user yet. */
  async ensureFirstAdmin(): Promise<void> {
    if ((await this.users.count()) > 0) return;
    const { username, password } = this.config.admin;
    if (!password) {
      this.logger.warn(
        'no user exists and SWITCHBOARD_ADMIN_PASSWORD is not set: set it (or admin.password in the config file) and restart to create the first admin',
      );
      return;
    }
    try {
      await this.createUser(username, password, true);
    } catch (err) {
      // Another instance of a cluster booting at the same time created it while this one hashed.
      if (err instanceof ApiError && err.getStatus() === 409) return;
      throw err;
    }
    this.logger.info('created the first admin user', { username });
  }

  async createUser(username: string, password: string, isAdmin = false): Promise<AuthUser> {
    const name = username.trim().toLowerCase();
    if (!USERNAME_PATTERN.test(name))
      throw ApiError.validation(
        'username must be 2-64 characters: lowercase letters, digits, dot, dash or underscore',
        [{ field: 'username' }],
      );
    if (password.length < 8)
      throw ApiError.validation('password must be at least 8 characters', [{ field: 'password' }]);
    if (await this.users.exists({ where: { username: name } }))
      throw ApiError.conflict(`user "${name}" already exists`);
    const user = this.users.create({
      id: randomUUID(),
      username: name,
      passwordHash: await hashPassword(password),
      isAdmin,
      createdAt: Date.now(),
    });
    try {
      await this.users.insert(user);
    } catch (err) {
      // The same name created by another request while this one hashed: the unique index decided.
      if (isUniqueViolation(err)) throw ApiError.conflict(`user "${name}" already exists`);
      throw err;
    }
    return { id: user.id, username: user.username, isAdmin: user.isAdmin };
  }

  async login(
    username: string,
    password: string,
    clientAddress: string,
  ): Promise<{ token: string; expiresAt: string }> {
    const name = username.trim().toLowerCase();
    const key = `${name}|${clientAddress}`;
    const wait = this.limiter.retryAfter(key);
    if (wait > 0)
      throw new ApiError(
        HttpStatus.TOO_MANY_REQUESTS,
        'RATE_LIMITED',
        `too many failed logins; try again in ${Math.ceil(wait / 1000)} s`,
      );
    // Counted as failed before the password is checked: attempts sent all at once would otherwise all pass
    // the check above while the first ones hash, and the limit would not hold. A success clears it.
    this.limiter.record(key);
    const user = await this.users.findOne({ where: { username: name } });
    // Verify against a dummy hash when the user is unknown so that timing does not reveal which names exist.
    const ok = user
      ? await verifyPassword(password, user.passwordHash)
      : (await verifyPassword(password, DUMMY_HASH), false);
    if (!user || !ok) throw ApiError.unauthorized('wrong username or password');
    this.limiter.reset(key);
    const token = newToken();
    const now = Date.now();
    const expiresAt = now + this.config.security.tokenTtlHours * 3600_000;
    await this.tokens.insert({
      id: randomUUID(),
      userId: user.id,
      tokenHash: hashToken(token),
      createdAt: now,
      expiresAt,
      lastUsedAt: null,
    });
    return { token, expiresAt: new Date(expiresAt).toISOString() };
  }

  /** The user a bearer token belongs to, or undefined when it is unknown or expired. */
  async authenticate(token: string): Promise<AuthUser | undefined> {
    const h = hashToken(token);
    const cached = this.tokenCache.get(h);
    if (cached && cached.until > Date.now()) return cached.user;
    const row = await this.tokens.findOne({ where: { tokenHash: h } });
    if (!row || row.expiresAt < Date.now()) return undefined;
    const user = await this.users.findOne({ where: { id: row.userId } });
    if (!user || this.revoked.has(h)) return undefined;
    const authUser = { id: user.id, username: user.username, isAdmin: user.isAdmin };
    if (this.tokenCache.size > 10_000) this.tokenCache.clear();
    this.tokenCache.set(h, { user: authUser, until: Date.now() + TOKEN_CACHE_MS });
    return authUser;
  }

  async logout(token: string): Promise<void> {
    const h = hashToken(token);
    const now = Date.now();
    for (const [k, until] of this.revoked) if (until < now) this.revoked.delete(k);
    this.revoked.set(h, now + TOKEN_CACHE_MS);
    this.tokenCache.delete(h);
    await this.tokens.delete({ tokenHash: h });
  }
}

const TOKEN_CACHE_MS = 30_000;

// A valid scrypt hash of a random string: only used to spend the same time on unknown usernames.
const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
