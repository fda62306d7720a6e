#!/usr/bin/env node
'use strict';
// Regenerates what is derived from the config schema (src/config/config.schema.ts):
// config/switchboard.schema.json, config/switchboard.example.yaml and the key table in
// docs/configuration.md. `--check` writes nothing and exits 1 when a committed copy is stale
// (test/config/config-artifacts.test.ts runs it).
require('../test/support/ts-register.js');
const fs = require('node:fs');
const path = require('node:path');
const prettier = require('prettier');
const docs = require('../src/config/config-docs.ts');

const root = path.resolve(__dirname, '..');

async function formatted(file, text) {
  const filepath = path.join(root, file);
  const options = (await prettier.resolveConfig(filepath)) ?? {};
  return prettier.format(text, { ...options, filepath });
}

async function render() {
  const docsPath = path.join(root, docs.DOCS_FILE);
  return [
    { file: docs.SCHEMA_FILE, content: await formatted(docs.SCHEMA_FILE, docs.renderJsonSchema()) },
    { file: docs.EXAMPLE_FILE, content: await formatted(docs.EXAMPLE_FILE, docs.renderExampleYaml()) },
    // Markdown is outside prettier's care here (.prettierignore), so the page is written as rendered.
    { file: docs.DOCS_FILE, content: docs.injectKeyTable(fs.readFileSync(docsPath, 'utf8')) },
  ];
}

async function main() {
  const check = process.argv.includes('--check');
  const stale = [];
  for (const { file, content } of await render()) {
    const target = path.join(root, file);
    const current = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : undefined;
    if (current === content) continue;
    stale.push(file);
    if (!check) fs.writeFileSync(target, content);
  }
  if (check && stale.length > 0) {
    process.stderr.write(
      `stale (the config schema changed): ${stale.join(', ')}\nrun: node scripts/gen-config-schema.js\n`,
    );
    process.exitCode = 1;
  } else {
    process.stdout.write(
      stale.length > 0 ? `wrote ${stale.join(', ')}\n` : 'config artifacts are up to date\n',
    );
  }
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
