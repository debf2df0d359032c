#!/usr/bin/env node
/**
 * Bundles the CLI with esbuild into two CommonJS files (the package is ESM, hence `.cjs`):
 *
 *   dist/latchkey.cjs   the entry: citty, the command tree (each command's meta and args; the
 *                       lazy sub-command imports stay in this file, evaluated when named), the
 *                       runner on top of citty (help, completion, usage errors), the exit
 *                       policy — all `--help`, `version` and `completion` need (~30 kB);
 *   dist/actions.cjs    what the commands do when they talk to a server or the config, with zod
 *                       and the contract schemas (~0.5 MB), required only when such a command runs.
 *
 * CommonJS because Node 20 starts a CommonJS file ~10 ms faster than an ES module, and P6
 * (docs/performance.md) allows only ~10 ms over `node -e 0` (1.3 × ~34 ms; `npm run bench:cli`).
 * The entry must stay free of node:stream, node:tty and node:net too (see src/stdio.ts and
 * src/bin.ts): each costs milliseconds to load.
 * `@latchkey/contract` is bundled from its TypeScript sources, so no prior `tsc` is needed: the
 * root `prepare` script runs this on every `npm ci`/`npm install`, and `npm run build` does too.
 */
import { chmodSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
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
  // import() of the actions file becomes require(): the file is CommonJS too.
  supported: { 'dynamic-import': false },
  alias: {
    '@latchkey/contract/token-format': `${contract}token-format.ts`,
    '@latchkey/contract/relative-time': `${contract}relative-time.ts`,
    '@latchkey/contract/secrets': `${contract}secrets.ts`,
    '@latchkey/contract/token': `${contract}token.ts`,
    '@latchkey/contract/scopes': `${contract}scopes.ts`,
    '@latchkey/contract': `${contract}index.ts`,
  },
  logLevel: 'warning',
  write: false,
};

/** In the entry bundle, `import('../actions/index.js')` (load-actions.ts) becomes `require('./actions.cjs')`. */
const actionsElsewhere = {
  name: 'actions-elsewhere',
  setup(builder) {
    builder.onResolve({ filter: /^\.\.\/actions\/index\.js$/ }, () => ({ path: './actions.cjs', external: true }));
  },
};

const results = await Promise.all([
  build({
    ...shared,
    entryPoints: [`${cli}src/bin.ts`],
    outfile: `${outdir}/latchkey.cjs`,
    plugins: [actionsElsewhere],
    banner: { js: '#!/usr/bin/env node' },
  }),
  build({ ...shared, entryPoints: [`${cli}src/actions/index.ts`], outfile: `${outdir}/actions.cjs` }),
]);

// Each file is replaced by a rename, never deleted first: test files build in parallel while
// others run the binary, which must never find dist/ empty or a file half written.
mkdirSync(outdir, { recursive: true });
const written = new Set();
for (const file of results.flatMap((result) => result.outputFiles)) {
  const temporary = `${file.path}.${process.pid}.tmp`;
  writeFileSync(temporary, file.contents);
  chmodSync(temporary, file.path.endsWith('/latchkey.cjs') ? 0o755 : 0o644);
  renameSync(temporary, file.path);
  written.add(basename(file.path));
}
// Outputs of earlier layouts (commands.cjs) would linger otherwise; other builds' temporaries stay.
for (const name of readdirSync(outdir)) {
  if (!written.has(name) && !name.endsWith('.tmp')) rmSync(`${outdir}/${name}`, { force: true });
}
