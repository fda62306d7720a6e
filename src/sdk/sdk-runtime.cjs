'use strict';
// The @switchboard/sdk workspace package's entry at run time: the compiled SDK. (The gateway itself
// points every adapter's require of '@switchboard/sdk' at its own copy: src/registry/sdk-alias.ts.)
module.exports = require('../../dist/src/sdk/index.js');
