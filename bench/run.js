#!/usr/bin/env node
'use strict';
// `npm run bench`: runs every bench/*.bench.ts (or only those named on the command line) in its own
// process through the TypeScript hook, each writing bench/results/<name>.json, then prints a summary.
// Not part of `npm test`: numbers on a shared 2-core machine are for trends, not for pass/fail.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const only = process.argv.slice(2);
// A benchmark is bench/<name>.bench.ts or a folder bench/<name>/ holding <name>.bench.ts (with its helpers).
const files = fs
  .readdirSync(__dirname, { withFileTypes: true })
  .flatMap((e) => {
    if (e.isFile() && e.name.endsWith('.bench.ts')) return [e.name];
    const inFolder = path.join(e.name, `${e.name}.bench.ts`);
    if (e.isDirectory() && fs.existsSync(path.join(__dirname, inFolder))) return [inFolder];
    return [];
  })
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();
if (files.length === 0) {
  console.error(`no benchmark matches ${only.join(' ')}`);
  process.exit(2);
}
let failed = 0;
for (const f of files) {
  console.log(`\n== ${f}`);
  const r = spawnSync(process.execPath, ['-r', './test/support/ts-register.js', path.join('bench', f)], {
    cwd: root,
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    failed++;
    console.error(`${f} failed (exit ${r.status})`);
  }
}
// One report over every result file (bench/results/REPORT.md and the relay chart).
const report = spawnSync(
  process.execPath,
  ['-r', './test/support/ts-register.js', path.join('bench', 'report.ts')],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
if (report.status !== 0) failed++;
process.exit(failed ? 1 : 0);
