#!/usr/bin/env node
/**
 * P6: `latchkey --help` and `latchkey version` wall time vs `node -e 0` (docs/performance.md, P6).
 * Runs the installed bin (node_modules/.bin/latchkey, as `npx latchkey` does after its
 * lookup), alternating A B C A B C … and reporting the median of the per-round ratios.
 *
 *   npm run bench:cli            ROUNDS=41 npm run bench:cli
 *
 * Raw samples and ratios go to bench/results/cli-startup.json (ignored by git).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const latchkey = `${root}node_modules/.bin/latchkey`;
const rounds = Number(process.env.ROUNDS ?? 31);
const GOAL = 1.3;

if (!existsSync(`${root}packages/cli/dist/latchkey.cjs`)) {
  const build = spawnSync(process.execPath, [`${root}packages/cli/scripts/build.mjs`], { stdio: 'inherit' });
  if (build.status !== 0) process.exit(1);
}

const cases = {
  'node -e 0': [process.execPath, ['-e', '0']],
  'latchkey --help': [latchkey, ['--help']],
  'latchkey version': [latchkey, ['version']],
};
const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };

function time([command, args]) {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { stdio: 'ignore', env });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${result.status}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

for (const command of Object.values(cases)) time(command); // warm the file cache
const samples = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
const ratios = { 'latchkey --help': [], 'latchkey version': [] };
for (let round = 0; round < rounds; round++) {
  const order = round % 2 ? Object.keys(cases).reverse() : Object.keys(cases);
  const times = {};
  for (const name of order) times[name] = time(cases[name]);
  for (const name of Object.keys(cases)) samples[name].push(times[name]);
  for (const name of Object.keys(ratios)) ratios[name].push(times[name] / times['node -e 0']);
}

for (const [name, values] of Object.entries(samples)) {
  console.log(`${name.padEnd(18)} median ${median(values).toFixed(1)} ms`);
}
const help = median(ratios['latchkey --help']);
const version = median(ratios['latchkey version']);
console.log(`latchkey --help / node -e 0   ${help.toFixed(2)}`);
console.log(`latchkey version / node -e 0  ${version.toFixed(2)}`);
const worst = Math.max(help, version);
console.log(`P6: ${worst.toFixed(2)} (goal ≤ ${GOAL})`);

mkdirSync(`${root}bench/results`, { recursive: true });
writeFileSync(
  `${root}bench/results/cli-startup.json`,
  `${JSON.stringify({ node: process.version, rounds, goal: GOAL, p6: worst, medianRatios: { help, version }, samplesMs: samples, ratios }, null, 2)}\n`,
);
process.exitCode = worst <= GOAL ? 0 : 1;
