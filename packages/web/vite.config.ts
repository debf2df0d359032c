/**
 * Builds the console into dist/: index.html plus hashed files under dist/assets, which
 * latchkey-server serves (packages/server/src/console/console-routes.ts) with a nonce-based CSP.
 * Nothing inline: every script and style is a file, and nothing is inlined as a data: URI.
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, type UserConfig } from 'vite';

const contractSource = (file: string) => fileURLToPath(new URL(`../contract/src/${file}`, import.meta.url));

const config = {
  plugins: [react()],
  resolve: {
    // The sources, so the console builds without the contract's dist; only the browser-safe
    // subpaths (never `/token` or `/secrets`: node:crypto).
    alias: [
      { find: /^@latchkey\/contract$/, replacement: contractSource('index.ts') },
      { find: /^@latchkey\/contract\/(jitless|relative-time|return-path|token-format|webhook-events)$/, replacement: contractSource('$1.ts') },
    ],
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'es2022',
    reportCompressedSize: true,
  },
  server: {
    // `npx vite` in packages/web, with latchkey-server on :8080 (PUBLIC_URL=http://localhost:5173).
    proxy: { '/api': 'http://127.0.0.1:8080', '/auth': 'http://127.0.0.1:8080' },
  },
} satisfies UserConfig;

export default defineConfig(({ command }) => {
  // `vite build` always ships React's production build and JSX runtime, whatever NODE_ENV the
  // caller has (vitest sets "test", which would give jsxDEV with source file names).
  if (command === 'build') process.env.NODE_ENV = 'production';
  return config;
});
