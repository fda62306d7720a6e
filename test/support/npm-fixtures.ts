import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';

const fixtures = path.resolve(__dirname, '../fixtures');

/**
 * Installs the fixture packages the way an operator would: `npm pack` each one, then `npm install` the
 * tarballs into a fresh prefix. They have no dependencies, so nothing is fetched (--offline). The SDK is
 * a peer the gateway itself provides, so npm is told not to install peers (--legacy-peer-deps).
 */
export function installFixtures(dir: string, names: string[]): string {
  const packs = path.join(dir, 'packs');
  const prefix = path.join(dir, 'install');
  mkdirSync(packs);
  mkdirSync(prefix);
  const npmEnv = {
    ...process.env,
    npm_config_update_notifier: 'false',
    npm_config_cache: path.join(dir, 'npm-cache'),
  };
  for (const n of names)
    execFileSync('npm', ['pack', path.join(fixtures, n), '--pack-destination', packs, '--silent'], {
      env: npmEnv,
      cwd: dir,
    });
  const tarballs = readdirSync(packs).map((f) => path.join(packs, f));
  execFileSync(
    'npm',
    [
      'install',
      '--prefix',
      prefix,
      '--no-audit',
      '--no-fund',
      '--offline',
      '--legacy-peer-deps',
      ...tarballs,
    ],
    { env: npmEnv, cwd: dir, stdio: 'pipe' },
  );
  return prefix;
}
