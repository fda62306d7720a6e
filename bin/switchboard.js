#!/usr/bin/env node
'use strict';
// The `switchboard` command (npm start, npx switchboard start|migrate|doctor). It runs the compiled gateway
// from dist/, which `npm install` builds (the package's prepare script) and `npm run build` rebuilds.
const path = require('node:path');
const fs = require('node:fs');
const entry = path.join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write(
    'switchboard: the gateway is not built yet; run `npm install` (or `npm run build`) first.\n',
  );
  process.exit(1);
}
require(entry)
  .main(process.argv.slice(2))
  .then((code) => {
    if (typeof code === 'number') process.exitCode = code;
  });
