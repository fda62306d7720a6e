import Module from 'node:module';

export const SDK_MODULE = '@switchboard/sdk';

type ResolveFilename = (request: string, ...rest: unknown[]) => string;
let installed = false;

/**
 * Makes `require('@switchboard/sdk')` inside any adapter — a bundled folder, a path, or an npm package
 * installed anywhere — resolve to this gateway's own SDK module. Adapters then share the gateway's SDK
 * (one copy, the version the registry checked their range against), and an npm-package adapter needs no
 * SDK of its own: it names `@switchboard/sdk` as a peer dependency that the host provides.
 * (Jest resolves modules itself; its moduleNameMapper does the same there.)
 */
export function exposeSdkToAdapters(): void {
  if (installed) return;
  installed = true;
  const sdkEntry = require.resolve('../sdk');
  const mod = Module as unknown as { _resolveFilename: ResolveFilename };
  const original = mod._resolveFilename;
  mod._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]): string {
    return request === SDK_MODULE ? sdkEntry : original.call(this, request, ...rest);
  };
}
