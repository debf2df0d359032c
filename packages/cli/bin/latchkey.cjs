#!/usr/bin/env node
// The installed command. The CLI itself is bundled into ../dist by the root `prepare` script
// (on `npm ci`/`npm install`) and by `npm run build`; this file exists before that, so npm can
// link the bin at install time.
try {
  require.resolve('../dist/latchkey.cjs');
} catch {
  process.stderr.write('latchkey is not built yet: run `npm run build` in the repository root.\n');
  process.exit(1);
}
require('../dist/latchkey.cjs');
