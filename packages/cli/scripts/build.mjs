#!/usr/bin/env node
/**
 * Bundles the CLI with esbuild into two CommonJS files (the package is ESM, hence `.cjs`):
 *
 *   dist/latchkey.cjs   the entry: the command tree and its small parser, help, version,
 *                       completion, the exit policy — all `--help` and `version` need (~17 kB,
 *                       no dependency);
 *   dist/commands.cjs   the commands that talk to a server or the config, with zod and the
 *                       contract schemas (~0.5 MB), required only when such a command runs.
 *
 * CommonJS because Node 20 starts a CommonJS file ~10 ms faster than an ES module, and P6 allows
 * only ~7 ms over `node -e 0` (1.3 × ~24 ms). The entry must stay free of node:stream, node:tty
 * and node:net too (see src/stdio.ts and src/bin.ts): each costs milliseconds to load.
 * `@latchkey/contract` is bundled from its TypeScript sources, so no prior `tsc` is needed: the
 * root `prepare` script runs this on every `npm ci`/`npm install`, and `npm run build` does too.
 */
import { chmodSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const cli = fileURLToPath(new URL('../', import.meta.url));
const contract = fileURLToPath(new URL('../../contract/src/', import.meta.url));
const outdir = `${cli}dist`;

const shared = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minify: true,
  legalComments: 'none',
  // import() of the commands file becomes require(): the file is CommonJS too.
  supported: { 'dynamic-import': false },
  alias: {
    '@latchkey/contract/token': `${contract}token.ts`,
    '@latchkey/contract': `${contract}index.ts`,
  },
  logLevel: 'warning',
};

/** In the entry bundle, `import('./commands/index.js')` becomes `require('./commands.cjs')`. */
const commandsElsewhere = {
  name: 'commands-elsewhere',
  setup(builder) {
    builder.onResolve({ filter: /^\.\/commands\/index\.js$/ }, () => ({ path: './commands.cjs', external: true }));
  },
};

rmSync(outdir, { recursive: true, force: true });
await Promise.all([
  build({
    ...shared,
    entryPoints: [`${cli}src/bin.ts`],
    outfile: `${outdir}/latchkey.cjs`,
    plugins: [commandsElsewhere],
    banner: { js: '#!/usr/bin/env node' },
  }),
  build({ ...shared, entryPoints: [`${cli}src/commands/index.ts`], outfile: `${outdir}/commands.cjs` }),
]);
chmodSync(`${outdir}/latchkey.cjs`, 0o755);
