import { ConfigError, loadConfig, redactConfig, type AppConfig } from '../config';
import { createLogger } from '../common/logger';
import { BootError, startGateway } from '../main';
import { runDoctor } from './doctor';
import { openDatabase, pendingMigrations, runMigrations } from '../storage';
import { storageConfigOf } from '../main';

const USAGE = `Usage: switchboard <command>

Commands:
  start     start the gateway (HTTP API, WebSocket events, web client, adapters)
  migrate   apply pending database migrations and exit
  doctor    check the configuration, storage, queue and adapters and say what is wrong
  config    print the effective configuration with secrets masked

Environment: SWITCHBOARD_CONFIG, PORT, HOST, SWITCHBOARD_DATA_DIR, DATABASE_URL, REDIS_URL,
SWITCHBOARD_ADMIN_USER, SWITCHBOARD_ADMIN_PASSWORD, SWITCHBOARD_SECRET_KEY, SWITCHBOARD_LOG_LEVEL.
`;

/** Exit codes: 0 ok, 1 a runtime failure, 2 a configuration problem the operator must fix. */
export async function main(argv: string[]): Promise<number | undefined> {
  const [command = 'start', ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (rest.length > 0 && command !== 'start') {
    process.stderr.write(`switchboard ${command}: unexpected arguments: ${rest.join(' ')}\n`);
    return 2;
  }
  if (command === 'doctor') return runDoctor();
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`switchboard: configuration error: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  switch (command) {
    case 'start':
      return start(config);
    case 'migrate': {
      const ds = await openDatabase(storageConfigOf(config), { migrate: false });
      try {
        const pending = await pendingMigrations(ds);
        await runMigrations(ds);
        process.stdout.write(
          pending.length
            ? `applied ${pending.length} migration(s): ${pending.join(', ')}\n`
            : 'the database is up to date\n',
        );
        return 0;
      } finally {
        await ds.destroy();
      }
    }
    case 'config':
      process.stdout.write(JSON.stringify(redactConfig(config), null, 2) + '\n');
      return 0;
    default:
      process.stderr.write(`switchboard: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

async function start(config: AppConfig): Promise<number | undefined> {
  const logger = createLogger(config.log);
  try {
    const gw = await startGateway(config, { logger, installProcessHandlers: true });
    process.stdout.write(`Switchboard is running at ${gw.url}  (API docs: ${gw.url}/api/docs)\n`);
    let closing = false;
    const shutdown = (signal: string): void => {
      if (closing) return;
      closing = true;
      logger.info('shutting down', { signal });
      void gw.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
    return undefined;
  } catch (err) {
    if (err instanceof BootError || err instanceof ConfigError) {
      process.stderr.write(`switchboard: cannot start: ${err.message}\n`);
      return 2;
    }
    logger.error('the gateway failed to start', { err, stack: err instanceof Error ? err.stack : undefined });
    process.stderr.write(`switchboard: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
