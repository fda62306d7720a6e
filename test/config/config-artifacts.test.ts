import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

// config/switchboard.schema.json, config/switchboard.example.yaml and the tables in
// docs/configuration.md are generated from the schema; this fails when a committed copy is stale.
it('the generated config artifacts are up to date (else run: node scripts/gen-config-schema.js)', () => {
  const root = resolve(__dirname, '..', '..');
  const run = spawnSync(process.execPath, [join(root, 'scripts', 'gen-config-schema.js'), '--check'], {
    cwd: root,
    encoding: 'utf8',
  });
  expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
  expect(run.stdout).toBe('config artifacts are up to date\n');
});
