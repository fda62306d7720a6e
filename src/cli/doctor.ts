import { ConfigError, loadConfig, type AppConfig } from '../config';
import { createLogger } from '../common/logger';
import { loadConfiguredAdapters, openQueue, secretBoxOf, storageConfigOf } from '../main';
import { AdapterRegistry } from '../registry/adapter-registry';
import { checkDatabase, openDatabase, pendingMigrations } from '../storage';

interface Finding {
  ok: boolean;
  what: string;
  detail: string;
}

/** `switchboard doctor`: checks each part in turn and says in words what is wrong. Exit 0 only if all is well. */
export async function runDoctor(
  out: (line: string) => void = (l) => process.stdout.write(l + '\n'),
): Promise<number> {
  const findings: Finding[] = [];
  const add = (ok: boolean, what: string, detail: string): void => {
    findings.push({ ok, what, detail });
    out(`${ok ? '[ok]  ' : '[FAIL]'} ${what}: ${detail}`);
  };
  let config: AppConfig;
  try {
    config = loadConfig();
    add(
      true,
      'configuration',
      `${config.configFile ?? 'no file (defaults and environment)'}; ${config.mode} mode`,
    );
  } catch (err) {
    add(false, 'configuration', err instanceof ConfigError ? err.message : String(err));
    return 2;
  }
  const logger = createLogger({ level: 'error', format: config.log.format });

  try {
    const ds = await openDatabase(storageConfigOf(config), { migrate: false });
    try {
      const check = await checkDatabase(ds);
      add(check.ok, 'storage', check.message);
      const pending = await pendingMigrations(ds);
      add(
        pending.length === 0,
        'migrations',
        pending.length ? `pending: ${pending.join(', ')} (run: switchboard migrate)` : 'up to date',
      );
    } finally {
      await ds.destroy();
    }
  } catch (err) {
    add(false, 'storage', `cannot open the database: ${err instanceof Error ? err.message : String(err)}`);
  }

  try {
    secretBoxOf(config);
    add(
      true,
      'secret key',
      config.security.secretKey ? 'from configuration' : 'key file in the data directory',
    );
  } catch (err) {
    add(false, 'secret key', err instanceof Error ? err.message : String(err));
  }

  const queue = openQueue(config, logger);
  try {
    const check = await queue.check();
    add(check.ok, 'queue', check.message);
  } catch (err) {
    add(false, 'queue', err instanceof Error ? err.message : String(err));
  } finally {
    await queue.close().catch(() => undefined);
  }

  try {
    const registry = new AdapterRegistry(await loadConfiguredAdapters(config, logger));
    add(
      true,
      'adapters',
      registry
        .list()
        .map((a) => `${a.id} ${a.version}`)
        .join(', ') || 'none configured',
    );
    for (const [i, acc] of (config.accounts ?? []).entries()) {
      const res = await registry.validateAccountOptions(acc.adapter, acc.options);
      add(
        res.ok,
        `accounts[${i}] (${acc.adapter})`,
        res.ok ? 'options valid' : res.issues.map((x) => `options.${x.path}: ${x.message}`).join('; '),
      );
    }
  } catch (err) {
    add(false, 'adapters', err instanceof Error ? err.message : String(err));
  }

  const failed = findings.filter((f) => !f.ok).length;
  out(failed ? `${failed} problem(s) found.` : 'Everything looks right.');
  return failed ? 1 : 0;
}
