'use strict';
// Lets plain `node` run the TypeScript sources (`node -r ./test/support/ts-register.js src/….ts`), for
// tests that spawn a real child process and for small scripts. Each .ts file is compiled with @swc/core
// using the project's .swcrc (CommonJS, inline source maps, as Jest does), and '@switchboard/sdk'
// resolves to src/sdk/index.ts as in tsconfig's paths and Jest's moduleNameMapper.
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');
const swc = require('@swc/core');

const root = path.resolve(__dirname, '..', '..');
const { $schema: _schema, ...swcrc } = JSON.parse(fs.readFileSync(path.join(root, '.swcrc'), 'utf8'));
const sdkEntry = path.join(root, 'src', 'sdk', 'index.ts');

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return request === '@switchboard/sdk' ? sdkEntry : resolveFilename.call(this, request, ...rest);
};

require.extensions['.ts'] = function compileTs(module, filename) {
  const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
    ...swcrc,
    swcrc: false,
    filename,
    sourceMaps: 'inline',
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};

// Stack traces point at the .ts lines.
process.setSourceMapsEnabled(true);
