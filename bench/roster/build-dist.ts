// Compiles the gateway (src/ without the web client, and adapters/) to JavaScript in a private folder, the
// way `npm run build` makes dist/, so the benchmark runs the gateway as production does (plain node, no
// compile-on-require) without touching the shared dist/ that other work in this tree builds and tests.
import { transformFileSync } from '@swc/core';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'web' || e.name === 'node_modules' ? [] : sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') && !/\.(spec|test)\.ts$/.test(e.name)
      ? [p]
      : [];
  });
}

/**
 * `sourceRoot` (default: this tree) is where src/ and adapters/ are read from; it must lie inside this tree
 * so that the output finds node_modules. Returns the output folder, holding src/ and adapters/ as dist/ does; `src/cli/main.js` is the entry. */
export function buildGateway(outDir: string, sourceRoot = root): string {
  const { $schema: _schema, ...swcrc } = JSON.parse(
    readFileSync(path.join(root, '.swcrc'), 'utf8'),
  ) as Record<string, unknown>;
  rmSync(outDir, { recursive: true, force: true });
  for (const file of [
    ...sources(path.join(sourceRoot, 'src')),
    ...sources(path.join(sourceRoot, 'adapters')),
  ]) {
    const { code } = transformFileSync(file, {
      ...swcrc,
      swcrc: false,
      sourceMaps: false,
      module: { type: 'commonjs' },
    });
    const out = path.join(outDir, path.relative(sourceRoot, file)).replace(/\.ts$/, '.js');
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, code);
  }
  return outDir;
}
