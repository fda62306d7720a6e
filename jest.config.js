// Two projects: fast pure unit specs beside the code, and cross-module tests under test/ that start
// real servers. Both run in one `npm test`; `--selectProjects unit` runs only the fast ones.
const fs = require('node:fs');
const swc = JSON.parse(fs.readFileSync(__dirname + '/.swcrc', 'utf8'));
// matrix-js-sdk (and a few of its dependencies) ship only ES modules, which Jest's CommonJS runtime cannot
// require on Node 20; swc compiles just those packages to CommonJS. Everything else in node_modules stays as is.
const esmOnly = [
  'matrix-js-sdk',
  'bs58',
  'base-x',
  'uuid',
  'jwt-decode',
  '@matrix-org/matrix-sdk-crypto-wasm',
];
const esmPath = `/node_modules/(?:${esmOnly.join('|')})/`;
const shared = {
  transform: {
    '^.+\\.ts$': ['@swc/jest', { ...swc, swcrc: false }],
    [`${esmPath}.+\\.m?js$`]: ['@swc/jest', { ...swc, swcrc: false }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(?:${esmOnly.join('|')})/)`],
  moduleNameMapper: { '^@switchboard/sdk$': '<rootDir>/src/sdk/index.ts' },
  testEnvironment: 'node',
  // Scratch copies of the tree (.tmp/) and build output would be a second @switchboard/sdk to the module map.
  modulePathIgnorePatterns: ['<rootDir>/.tmp/', '<rootDir>/dist/'],
};
module.exports = {
  // Real-server tests start processes; the default 5 s is too short for their hooks.
  testTimeout: 120000,
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/adapters/**/*.spec.ts'],
    },
    {
      ...shared,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
    },
  ],
};
