import { defineConfig } from 'vite';

// The client is served by the gateway at `/`; relative asset paths keep it working behind any prefix.
const here = decodeURIComponent(new URL('.', import.meta.url).pathname);

export default defineConfig({
  root: here,
  base: './',
  // Preact's automatic JSX runtime (also declared in tsconfig.json for the type check).
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: `${here}../../dist/web`,
    emptyOutDir: true,
    sourcemap: true,
  },
});
