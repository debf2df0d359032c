import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const contractSource = (file: string) => fileURLToPath(new URL(`./packages/contract/src/${file}`, import.meta.url));

// Node >= 25 defines global localStorage/sessionStorage, undefined without --localstorage-file;
// vitest's happy-dom environment keeps globals that exist, so the console's component tests would
// get Node's instead of happy-dom's. Node 20 has no such flag (nor the globals).
const withoutNodeWebStorage = process.allowedNodeEnvironmentFlags.has('--experimental-webstorage')
  ? ['--no-experimental-webstorage']
  : [];

export default defineConfig({
  resolve: {
    // Tests run against the sources; the build (tsc -b) is checked by `npm run typecheck`.
    alias: [
      { find: /^@latchkey\/contract\/([a-z-]+)$/, replacement: contractSource('$1.ts') },
      { find: /^@latchkey\/contract$/, replacement: contractSource('index.ts') },
      { find: /^@latchkey\/verify$/, replacement: fileURLToPath(new URL('./packages/verify/src/index.ts', import.meta.url)) },
    ],
  },
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'packages/*/src/**/*.test.tsx',
      'packages/*/test/**/*.test.ts',
      'scripts/**/*.test.ts',
    ],
    environment: 'node',
    execArgv: withoutNodeWebStorage,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: more workers than that only adds contention.
    maxWorkers: 2,
    reporters: ['default', './scripts/summary-reporter.ts'],
  },
});
