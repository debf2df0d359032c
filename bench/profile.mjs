#!/usr/bin/env node
/**
 * `npm run profile`: where a request's server CPU goes (docs/performance.md). The built server
 * runs under `node --cpu-prof` on a seeded SQLite database (1,000 tokens) while wrk drives one
 * route at a time — hello (`GET /healthz`), an authenticated `GET /api/v1/me`, forward auth
 * `GET /api/v1/verify` — with the same rotating Authorization header. The profiles (open them
 * in Chrome DevTools › Performance, or speedscope) go to bench/results/profiles/ (ignored by
 * git); the table printed here sorts each profile's self time into the server's parts and gives
 * it per request, so the cost of authentication is the difference between the columns.
 *
 *   npm run profile                       3 s warm-up, 10 s profiled per route
 *   npm run profile -- --seconds 5 --warmup 1
 *   npm run profile -- --postgres         the same on a throw-away PostgreSQL database
 *                                         (LATCHKEY_BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres)
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { markLoadTokensUsed } from './lib/seed.mjs';
import { seedInWorker } from './lib/seed-worker.mjs';
import { startLatchkey, stopAll } from './lib/processes.mjs';
import { checkWrk, runWrk } from './lib/wrk.mjs';

const root = fileURLToPath(new URL('../', import.meta.url));
const { values: args } = parseArgs({ options: { seconds: { type: 'string' }, warmup: { type: 'string' }, postgres: { type: 'boolean', default: false } } });
const seconds = Number(args.seconds ?? 10);
const warmupSeconds = Number(args.warmup ?? 3);

const TARGETS = [
  { name: 'hello', path: '/healthz' },
  { name: 'me', path: '/api/v1/me' },
  { name: 'verify', path: '/api/v1/verify' },
];

/**
 * The server's parts, by where a function comes from (the first rule that matches wins). Paths
 * are those of the built server (packages/*\/dist) and of node_modules.
 */
const PARTS = [
  ['GC', (frame) => frame.functionName === '(garbage collector)'],
  ['idle', (frame) => frame.functionName === '(idle)'],
  ['start-up', (frame) => /^node:internal\/modules\//.test(frame.url)],
  ['auth hook', (frame) => /server\/dist\/http\/(authenticate|authorization-header|principal)\.js/.test(frame.url)],
  // The token's checksum and SHA-256 (node's crypto and zlib's crc32 run on its behalf).
  [
    'token check',
    (frame) =>
      /server\/dist\/tokens\/|contract\/dist\/token(-format)?\.js|server\/dist\/kernel\/(ip-allowlist|lru-map)|^node:internal\/crypto\//.test(frame.url) ||
      (frame.url === 'node:zlib' && frame.functionName === 'crc32'),
  ],
  ['throttle', (frame) => /server\/dist\/auth-failures\//.test(frame.url)],
  ['database', (frame) => /server\/dist\/database\/|node_modules\/(better-sqlite3|kysely|pg)\//.test(frame.url)],
  ['logging', (frame) => /server\/dist\/http\/logging\.js|node_modules\/(pino|sonic-boom|fast-redact|thread-stream)/.test(frame.url)],
  ['routes & presenters', (frame) => /server\/dist\/(accounts|verification|namespaces|health)\/|token-view\.js|timestamps\.js/.test(frame.url)],
  ['app hooks & serializer', (frame) => /server\/dist\//.test(frame.url)],
  ['fastify', (frame) => /node_modules\/(fastify|find-my-way|@fastify|avvio|fast-json-stringify|light-my-request|fastify-type-provider-zod|zod)\//.test(frame.url)],
  // Node's HTTP parser and writer, sockets, streams, timers, and the native socket writes.
  [
    'node http & net',
    (frame) =>
      /^node:(_http|http|net|stream|internal\/(streams|http|net|timers|async_hooks|stream_base_commons)|events|buffer|string_decoder)/.test(frame.url) ||
      (frame.url === '' && /^(writev|write\w*|read\w*|onStreamRead|close|shutdown)$/.test(frame.functionName)),
  ],
  ['microtasks & other native', (frame) => frame.url === ''],
  ['other', () => true],
];

function partOf(frame) {
  return PARTS.find(([, matches]) => matches(frame))[0];
}

/** Self time per part, in microseconds, from a V8 .cpuprofile. */
function selfTimeByPart(profile) {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const byPart = new Map(PARTS.map(([name]) => [name, 0]));
  for (let index = 0; index < profile.samples.length; index++) {
    const node = nodes.get(profile.samples[index]);
    const delta = profile.timeDeltas[index] ?? 0;
    const part = partOf(node.callFrame);
    byPart.set(part, byPart.get(part) + delta);
  }
  return byPart;
}

async function main() {
  console.log(`wrk: ${checkWrk()}`);
  const work = mkdtempSync(join(tmpdir(), 'latchkey-profile-'));
  const profiles = join(root, 'bench/results/profiles');
  mkdirSync(profiles, { recursive: true });
  try {
    const database = { url: args.postgres ? await throwAwayPostgres() : `sqlite:${join(work, 'profile.db')}` };
    Object.assign(database, await seedInWorker({ databaseUrl: database.url, total: 1000, loadTokens: 1000, extraTokens: 0 }));
    const results = [];
    for (const target of TARGETS) {
      await markLoadTokensUsed(database.url, database.loadAccountIds);
      const dir = mkdtempSync(join(work, `${target.name}-`));
      const server = await startLatchkey({ databaseUrl: database.url, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${target.name}.cpuprofile`] });
      const url = `${server.base}${target.path}`;
      await runWrk({ url, tokens: database.tokens, seconds: warmupSeconds });
      const run = await runWrk({ url, tokens: database.tokens, seconds });
      await server.stop(); // the profile is written as the process exits
      const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
      if (!file) throw new Error(`no profile written for ${target.name}`);
      const text = readFileSync(join(dir, file), 'utf8');
      const kept = join(profiles, `${target.name}.cpuprofile`);
      await import('node:fs').then((fs) => fs.writeFileSync(kept, text));
      // Warm-up requests are in the profile too: per request means over every request served.
      const requests = run.requests * ((warmupSeconds + seconds) / seconds);
      results.push({ target, run, requests, byPart: selfTimeByPart(JSON.parse(text)), kept });
      console.log(`${target.name.padEnd(7)} ${target.path.padEnd(16)} ${Math.round(run.reqPerSec).toLocaleString('en-US').padStart(7)} req/s, non-2xx ${run.non2xx}, profile ${kept.slice(root.length)}`);
    }

    console.log('\nserver CPU per request, µs (self time of each part ÷ requests served; idle left out):\n');
    const header = ['part', ...results.map((result) => result.target.name), ...results.slice(1).map((result) => `${result.target.name} − hello`)];
    const rows = PARTS.map(([part]) => part).filter((part) => part !== 'idle');
    const perRequest = (result, part) => result.byPart.get(part) / result.requests;
    const table = [header];
    for (const part of rows) {
      table.push([
        part,
        ...results.map((result) => perRequest(result, part).toFixed(1)),
        ...results.slice(1).map((result) => (perRequest(result, part) - perRequest(results[0], part)).toFixed(1)),
      ]);
    }
    const total = (result) => rows.reduce((sum, part) => sum + perRequest(result, part), 0);
    table.push(['total', ...results.map((result) => total(result).toFixed(1)), ...results.slice(1).map((result) => (total(result) - total(results[0])).toFixed(1))]);
    const widths = header.map((_, column) => Math.max(...table.map((row) => row[column].length)));
    for (const row of table) console.log(row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  '));
  } finally {
    await stopAll();
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    rmSync(work, { recursive: true, force: true });
  }
}

const cleanups = [];

/** A fresh PostgreSQL database, dropped when the profile is done; its URL. */
async function throwAwayPostgres() {
  const { default: pg } = await import('pg');
  const adminUrl = process.env.LATCHKEY_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  cleanups.push(() => admin.end());
  const name = `latchkey_profile_${process.pid}_${Date.now().toString(36)}`;
  await admin.query(`create database ${name}`);
  cleanups.push(() => admin.query(`drop database if exists ${name} with (force)`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
