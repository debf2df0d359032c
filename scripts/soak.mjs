#!/usr/bin/env node
/**
 * `npm run soak`: docs/security.md, item 26 at full length (packages/server/test/load/soak.mjs).
 * Builds the server if its build output is missing, prints the measured figures, exits 1 on any
 * violation.
 *
 *   npm run soak                       30 min, the first 5 min warm-up
 *   npm run soak -- --minutes 1        a smoke run (warm-up: a fifth of the run)
 *   npm run soak -- --rate 2000 --limiter-cap 1000 --addresses 5000 --sample-seconds 10
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('../', import.meta.url));

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    'warmup-minutes': { type: 'string' },
    rate: { type: 'string' },
    'limiter-cap': { type: 'string', default: '1000' },
    addresses: { type: 'string', default: '5000' },
    'sample-seconds': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});
if (values.help) {
  process.stdout.write(
    'Usage: npm run soak -- [--minutes 30] [--warmup-minutes 5] [--rate REQ_PER_S] [--limiter-cap 1000] ' +
      '[--addresses 5000] [--sample-seconds 10]\n',
  );
  process.exit(0);
}

const minutes = Number(values.minutes);
const warmupMinutes = values['warmup-minutes'] ? Number(values['warmup-minutes']) : Math.min(5, minutes / 5);
if (!(minutes > 0) || !(warmupMinutes >= 0 && warmupMinutes < minutes)) {
  process.stderr.write('--minutes must be > 0 and --warmup-minutes in [0, minutes)\n');
  process.exit(2);
}

if (!existsSync(`${root}packages/server/dist/main.js`) || !existsSync(`${root}packages/contract/dist/token.js`)) {
  const build = spawnSync('npx', ['tsc', '-b', 'packages/contract', 'packages/server'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(1);
}
const { runSoak, RSS_GROWTH_LIMIT, FD_SLACK, SOCKET_OVERHEAD } = await import('../packages/server/test/load/soak.mjs');

const sampleSeconds = values['sample-seconds'] ? Number(values['sample-seconds']) : Math.min(10, Math.max(1, (minutes * 60) / 30));
const outcome = await runSoak({
  minutes,
  warmupMinutes,
  rate: values.rate ? Number(values.rate) : undefined,
  limiterCap: Number(values['limiter-cap']),
  invalidAddresses: Number(values.addresses),
  sampleEveryMs: sampleSeconds * 1000,
  log: (line) => process.stdout.write(`${line}\n`),
});

const f = outcome.figures;
const lines = [
  `rate: ${f.rate} req/s scheduled${f.capacity ? ` (50% of the measured ${f.capacity} req/s)` : ''}, ${f.achievedRate} req/s sent, ${f.skipped} skipped`,
  `requests: ${f.requests}, invalid ${(f.invalidShare * 100).toFixed(1)}%; statuses ${JSON.stringify(f.statuses)}`,
  `RSS: ${f.baselineRssMiB.toFixed(1)} MiB after warm-up → ${f.finalRssMiB.toFixed(1)} MiB at the end (peak ${f.peakRssMiB.toFixed(1)} MiB): ` +
    `${(f.rssGrowth * 100).toFixed(1)}% (goal ≤ ${RSS_GROWTH_LIMIT * 100}%)`,
  `open fds other than sockets: ${f.fdRange[0]}–${f.fdRange[1]} after warm-up, baseline ${f.baselineFds} (goal ±${FD_SLACK}); ` +
    `sockets: at most ${f.maxSocketFds} (goal ≤ client connections + ${SOCKET_OVERHEAD})`,
  `limiter store: peak ${f.maxLimiterSize} keys (cap ${f.limiterCap}; ${f.failingAddresses} addresses failed)`,
  `samples: ${f.samples} (${f.samplesAfterWarmup} after warm-up)`,
];
process.stdout.write(`\n${lines.join('\n')}\n`);
if (outcome.violations.length > 0) {
  process.stdout.write(`\nSOAK FAILED:\n${outcome.violations.map((v) => `  - ${v}`).join('\n')}\n`);
  process.exit(1);
}
process.stdout.write('\nsoak passed\n');
