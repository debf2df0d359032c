#!/usr/bin/env node
/**
 * docs/performance.md, P7: the console JavaScript shipped to the browser, gzipped, must stay within
 * 120 kB. Prints the measure after every build and fails the build above it. Also writes the
 * .gz and .br siblings of every script and stylesheet, which the server sends to browsers that
 * accept them (@fastify/static `preCompressed`).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';

const LIMIT_BYTES = 120 * 1000;
const assets = new URL('../dist/assets/', import.meta.url);
let total = 0;
for (const file of readdirSync(assets).filter((name) => /\.(js|css)$/.test(name))) {
  const path = join(assets.pathname, file);
  const source = readFileSync(path);
  const gzipped = gzipSync(source, { level: 9 });
  writeFileSync(`${path}.gz`, gzipped);
  writeFileSync(`${path}.br`, brotliCompressSync(source));
  if (!file.endsWith('.js')) continue;
  total += gzipped.length;
  console.log(`  ${file}: ${(gzipped.length / 1000).toFixed(1)} kB gzipped`);
}
const verdict = total <= LIMIT_BYTES ? 'within' : 'OVER';
console.log(`console JavaScript: ${(total / 1000).toFixed(1)} kB gzipped (${verdict} the P7 limit of ${LIMIT_BYTES / 1000} kB)`);
if (total > LIMIT_BYTES) process.exit(1);
