// Type-aware lint plus the architecture's import boundaries (docs/architecture.md):
// src/sdk and src/core are pure TypeScript; an adapter imports only the SDK and its network library.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const frameworkAndIo = [
  '@nestjs/*',
  'typeorm',
  'better-sqlite3',
  'pg',
  'bullmq',
  'ioredis',
  'express',
  'ws',
  'irc-framework',
  'matrix-js-sdk',
  '@xmpp/*',
  'werift',
  'sip',
  'node:*',
  'fs',
  'net',
  'http',
  'https',
  'child_process',
];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      '.tmp/**',
      'test/fixtures/**',
      'bench/results/**',
      '**/*.js',
      '**/*.mjs',
      '**/*.cjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-extraneous-class': 'off',
    },
  },
  {
    files: ['src/sdk/**/*.ts', 'src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: frameworkAndIo,
              message:
                'src/sdk and src/core are pure TypeScript: no framework, network library, storage or I/O.',
            },
            {
              group: [
                '../registry/**',
                '../storage/**',
                '../queue/**',
                '../api/**',
                '../messaging/**',
                '../config/**',
                '../cli/**',
                '../web/**',
              ],
              message: 'src/sdk and src/core may not import the gateway.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/sdk/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['../*', '!../sdk', '!../ids'], message: 'src/sdk imports nothing of the gateway.' },
            { group: frameworkAndIo, message: 'src/sdk is pure TypeScript.' },
          ],
        },
      ],
    },
  },
  {
    files: ['adapters/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '**/src/**',
                '../../src/*',
                '@nestjs/*',
                'typeorm',
                'better-sqlite3',
                'pg',
                'bullmq',
                'ioredis',
              ],
              message: 'An adapter imports only @switchboard/sdk and its own network library.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.spec.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
    },
  },
);
