// `npm run test:faults`: the fault-injection tests too long for `npm test` (test/faults/*.faults.ts), with the
// same transforms as the main config. The short fault tests (*.test.ts) run in `npm test`.
const path = require('node:path');
const base = require('../../jest.config.js');
const e2e = base.projects.find((p) => p.displayName === 'e2e');

module.exports = {
  ...e2e,
  rootDir: path.resolve(__dirname, '../..'),
  displayName: 'faults',
  testMatch: ['<rootDir>/test/faults/**/*.faults.ts'],
  testTimeout: 1_800_000,
  // Helpers' scratch copies of the tree live in .tmp/ and would shadow the workspace packages.
  modulePathIgnorePatterns: ['<rootDir>/.tmp/'],
};
