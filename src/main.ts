import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { WsAdapter } from '@nestjs/platform-ws';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import express, { type NextFunction, type Request, type Response } from 'express';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { AccountsService } from './accounts/accounts.service';
import { AuthService } from './api/auth/auth.service';
import { apiBodyGuards } from './api/body-guards';
import { toErrorBody } from './api/error.filter';
import { MetricsService } from './api/health/metrics.service';
import { apiValidationPipe } from './api/validation';
import { AppModule, type GatewayInfrastructure } from './app.module';
import { createLogger, type Logger } from './common/logger';
import { NestLoggerBridge } from './common/nest-logger';
import type { AppConfig } from './config';
import { createQueue, type QueuePort } from './queue';
import { loadAdapters, type AdapterSpec } from './registry/adapter-loader';
import { AdapterRegistry } from './registry/adapter-registry';
import { openDatabase, type StorageConfig } from './storage';
import { secretBoxFromEnvOrKeyFile, type SecretBox } from './storage/secret-box';

/** A boot failure an operator must fix (bad adapter, bad declared account): the CLI exits 2 with it. */
export class BootError extends Error {
  override name = 'BootError';
}

export interface RunningGateway {
  url: string;
  port: number;
  app: NestExpressApplication;
  close(): Promise<void>;
}

export function storageConfigOf(config: AppConfig): StorageConfig {
  return config.database.url
    ? { kind: 'postgres', url: config.database.url }
    : { kind: 'sqlite', path: config.database.sqlitePath, synchronous: config.database.sqliteSynchronous };
}

export function openQueue(config: AppConfig, logger: Logger): QueuePort {
  const options = {
    backoff: { baseMs: config.queue.backoffBaseMs, capMs: config.queue.backoffMaxMs },
    defaultMaxAttempts: config.queue.maxAttempts,
    logger: {
      log: (m: string) => logger.debug(m),
      warn: (m: string) => logger.warn(m),
      error: (m: string) => logger.error(m),
    },
  };
  return config.queue.redisUrl
    ? createQueue({ kind: 'redis', url: config.queue.redisUrl }, options)
    : createQueue(
        {
          kind: 'embedded',
          path: config.queue.embeddedPath,
          synchronous: config.database.sqliteSynchronous,
        },
        options,
      );
}

/** The config's adapter entries in the registry's words (disabled ones are not loaded at all). */
export function adapterSpecsOf(config: AppConfig): AdapterSpec[] {
  return config.adapters
    .filter((a) => a.enabled)
    .map((a) => ({
      id: a.id,
      options: a.options,
      ...(a.kind === 'path' ? { path: a.path } : a.kind === 'package' ? { package: a.package } : {}),
    }));
}

/** Adapters named by package are resolved from the config file's folder, the working directory and the project. */
export function loadConfiguredAdapters(config: AppConfig, logger: Logger) {
  const resolvePaths = [process.cwd(), projectRoot()];
  if (config.configFile) resolvePaths.unshift(path.dirname(config.configFile));
  return loadAdapters(adapterSpecsOf(config), { logger, resolvePaths });
}

export function secretBoxOf(config: AppConfig): SecretBox {
  return secretBoxFromEnvOrKeyFile(config.security.secretKey, config.dataDir);
}

/**
 * Starts the whole gateway: storage (migrated), queue, adapters, then the HTTP/WebSocket server. Anything
 * an operator must fix stops the boot with a message that names it.
 */
export async function startGateway(
  config: AppConfig,
  opts: { logger?: Logger; installProcessHandlers?: boolean } = {},
): Promise<RunningGateway> {
  const logger = opts.logger ?? createLogger(config.log);
  const opened: { close(): Promise<unknown> }[] = [];
  try {
    const dataSource = await openDatabase(storageConfigOf(config), { migrate: true });
    opened.push({ close: () => dataSource.destroy() });
    const secretBox = secretBoxOf(config);
    const queue = openQueue(config, logger.child({ component: 'queue' }));
    opened.push(queue);
    let registry: AdapterRegistry;
    try {
      registry = new AdapterRegistry(
        await loadConfiguredAdapters(config, logger.child({ component: 'registry' })),
      );
    } catch (err) {
      throw new BootError(err instanceof Error ? err.message : String(err));
    }
    const infra: GatewayInfrastructure = { config, dataSource, queue, registry, secretBox, logger };

    const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(infra), {
      bodyParser: false,
      logger: new NestLoggerBridge(logger.child({ component: 'nest' })),
      abortOnError: false,
    });
    opened.unshift({ close: () => app.close() });
    app.set('trust proxy', config.server.trustProxy ?? false);
    app.disable('x-powered-by');

    const metrics = app.get(MetricsService);
    app.use((req: Request, res: Response, next: NextFunction) => {
      const end = metrics.httpDuration.startTimer();
      res.on('finish', () => {
        const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
        metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
        end({ method: req.method, route });
      });
      next();
    });
    app.use(
      express.json({
        limit: config.server.bodyLimitBytes,
        strict: true,
        type: ['application/json', 'application/*+json'],
      }),
    );
    app.use(apiBodyGuards());
    // body-parser failures (bad JSON, too large) never reach Nest's filter: answer them in our shape here.
    app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
      if (res.headersSent) return next(err);
      const { status, body } = toErrorBody(err, logger);
      res.status(status).json(body);
    });
    serveWebClient(app, logger);
    app.useGlobalPipes(apiValidationPipe());
    app.useWebSocketAdapter(new WsAdapter(app));
    app.enableShutdownHooks();

    const doc = SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('Switchboard')
        .setDescription('One buddy list, one inbox and one call button across IRC, XMPP, Matrix and SIP.')
        .setVersion(readVersion())
        .addBearerAuth()
        .build(),
    );
    SwaggerModule.setup('api/docs', app, doc, { jsonDocumentUrl: 'api/docs-json' });

    const accounts = app.get(AccountsService);
    const problems = await accounts.validateConfigAccounts();
    if (problems.length)
      throw new BootError(`accounts in the config file are invalid:\n  - ${problems.join('\n  - ')}`);

    if (opts.installProcessHandlers) installProcessHandlers(accounts, logger);
    await app.get(AuthService).ensureFirstAdmin();
    await app.listen(config.server.port, config.server.host);
    await accounts.startAll();

    const port = (app.getHttpServer().address() as AddressInfo).port;
    const url = `http://${config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host}:${port}`;
    logger.info(`Switchboard is listening on ${url} (API docs at ${url}/api/docs)`, {
      mode: config.mode,
      adapters: registry.list().map((a) => a.id),
    });
    return {
      url,
      port,
      app,
      close: async () => {
        for (const o of opened)
          await o.close().catch((e: unknown) => logger.warn('error while closing', { err: e }));
      },
    };
  } catch (err) {
    for (const o of opened) await o.close().catch(() => undefined);
    throw err;
  }
}

/**
 * One misbehaving adapter must not take every account down: an uncaught error raised inside a client's
 * code is charged to that account (the supervisor restarts it); anything else is a gateway bug, logged,
 * and the process exits so its service manager restarts it (the queues make that lossless).
 */
function installProcessHandlers(accounts: AccountsService, logger: Logger): void {
  const onError = (kind: string) => (err: unknown) => {
    if (accounts.supervisor.handleUncaught(err)) return;
    logger.error(`${kind}: the gateway will exit`, {
      err,
      stack: err instanceof Error ? err.stack : undefined,
    });
    process.exit(1);
  };
  process.on('uncaughtException', onError('uncaught exception'));
  process.on('unhandledRejection', onError('unhandled rejection'));
}

/** The nearest folder above `from` that holds package.json: the project, from src/ and from dist/src/. */
function projectRoot(from = __dirname): string {
  let dir = from;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) return from;
    dir = up;
  }
  return dir;
}

/**
 * The browser client, built to dist/web, served at `/` with a fallback to index.html for its own routes;
 * the API, health, metrics, media and docs paths are never shadowed.
 */
function serveWebClient(app: NestExpressApplication, logger: Logger): void {
  const dir = path.join(projectRoot(), 'dist', 'web');
  const index = path.join(dir, 'index.html');
  if (!existsSync(index)) {
    logger.info('the web client is not built (npm run build builds it); serving the API only');
    return;
  }
  // Hashed assets may be cached; index.html must not be, or a new release keeps loading old assets.
  app.use(
    express.static(dir, {
      index: false,
      fallthrough: true,
      maxAge: '1h',
      setHeaders: (res, file) => {
        if (file.endsWith('.html')) res.setHeader('Cache-Control', 'no-cache');
      },
    }),
  );
  app.use((req: Request, res: Response, next: NextFunction) => {
    const apiPath = /^\/(api|healthz|metrics|media)(\/|$)/.test(req.path);
    if (req.method !== 'GET' || apiPath || !req.accepts('html')) return next();
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(index);
  });
}

function readVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require(path.join(projectRoot(), 'package.json')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}
