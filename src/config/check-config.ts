import { ConfigError } from './config.error';
import { loadConfig } from './config.loader';
import { redactConfig } from './config.redact';

/**
 * `check-config [file]`: loads the configuration as the gateway would (the file, else $SWITCHBOARD_CONFIG,
 * else config/switchboard.yaml; then the environment) and prints it with secrets masked. Exit codes:
 * 0 valid, 2 a configuration problem (the message names the file, the key and what is wrong), 1 anything else.
 */
export function runCheckConfig(
  argv: readonly string[],
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): number {
  const args = argv.filter((a) => a !== '--');
  if (args.some((a) => a === '-h' || a === '--help') || args.length > 1) {
    err.write('usage: check-config [config-file]\n');
    return args.length > 1 ? 2 : 0;
  }
  try {
    const config = loadConfig(args[0] !== undefined ? { file: args[0] } : {});
    out.write(`${JSON.stringify(redactConfig(config), null, 2)}\n`);
    return 0;
  } catch (e) {
    if (e instanceof ConfigError) {
      err.write(`${e.message}\n`);
      return 2;
    }
    err.write(`check-config: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  }
}

if (require.main === module) process.exitCode = runCheckConfig(process.argv.slice(2));
