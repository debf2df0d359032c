#!/usr/bin/env node
/**
 * P10 (docs/performance.md): requests through nginx with `auth_request` to Latchkey, against the
 * same nginx proxying the same upstream without authentication, in the same run. Goal ≥ 0.50.
 *
 * - "nginx auth_request": deploy/nginx/forward-auth.conf as shipped (only its three ports
 *   replaced), in front of the upstream, asking a fresh `latchkey-server` on the 1k-token SQLite
 *   database about every request.
 * - "nginx plain proxy": the same nginx binary and settings, the same kind of upstream block
 *   (no keepalive, as in the shipped file), `proxy_pass` only.
 * - Both: nginx with one worker, a fresh nginx, upstream (and Latchkey) for every run; wrk
 *   (1 thread, 50 connections) on `/` rotating over the thousand valid tokens on both sides; the
 *   upstream is a Node `http` server answering 200 "ok", in its own process. Rounds alternate
 *   A B A B …; P10 is the median of the per-round ratios.
 *
 * `npm run bench` calls `measureP10`; `node bench/p10-forward-auth.mjs [--quick]` runs P10 alone
 * (it seeds its own 1k-token SQLite database) and prints the goal line.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { findNginx, forwardAuthNginxSite, startNginx } from '../packages/server/test/support/proxy-process.mjs';
import { killOnExit } from '../packages/server/test/support/server-process.mjs';
import { startLatchkey, stopAll } from './lib/processes.mjs';
import { markLoadTokensUsed } from './lib/seed.mjs';
import { seedInWorker } from './lib/seed-worker.mjs';
import { cpuMicros, fmt, freePort, median, tailBuffer, waitForOk } from './lib/util.mjs';
import { checkWrk, runWrk } from './lib/wrk.mjs';

const root = fileURLToPath(new URL('../', import.meta.url));
const SHIPPED = `${root}deploy/nginx/forward-auth.conf`;

/** The upstream: Node's own http hello, as its own process. */
async function startUpstream() {
  const port = await freePort();
  const code = `require('node:http').createServer((req, res) => res.end('ok')).listen(${port}, '127.0.0.1')`;
  // Never outlives the bench, even one that fails half-way.
  const child = killOnExit(spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'ignore', 'pipe'] }));
  const errors = tailBuffer();
  child.stderr.on('data', (chunk) => errors.push(chunk));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  try {
    await waitForOk(`http://127.0.0.1:${port}/`, { isAlive: () => child.exitCode === null });
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`the upstream did not start: ${error.message}\n${errors.text}`);
  }
  return {
    pid: child.pid,
    port,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

function plainSite(listen, upstreamPort) {
  return `upstream protected_service {
    server 127.0.0.1:${upstreamPort};
}
server {
    listen 127.0.0.1:${listen};
    server_tokens off;
    location / {
        proxy_pass http://protected_service;
    }
}
`;
}

/**
 * Runs the P10 rounds. `database` is the seeded 1k-token SQLite database ({ url, tokens,
 * loadAccountIds }). Resolves with { ratio, ratios, runs } or { skipped } when nginx is missing.
 */
export async function measureP10({ database, rounds, warmupSeconds, measureSeconds, connections = 50, threads = 1, log = () => {} }) {
  const binary = findNginx();
  if (!binary) return { skipped: 'nginx is not installed (apt-get install -y nginx)' };
  const work = mkdtempSync(join(tmpdir(), 'latchkey-bench-p10-'));
  const setups = [
    {
      name: 'nginx auth_request',
      start: async () => {
        await markLoadTokensUsed(database.url, database.loadAccountIds);
        const latchkey = await startLatchkey({ databaseUrl: database.url });
        const upstream = await startUpstream();
        const listen = await freePort();
        const site = forwardAuthNginxSite(SHIPPED, readFileSync(SHIPPED, 'utf8'), { listen, latchkey: Number(new URL(latchkey.base).port), service: upstream.port });
        return { listen, site, processes: [latchkey, upstream], measured: latchkey, measuredName: 'latchkey' };
      },
    },
    {
      name: 'nginx plain proxy',
      start: async () => {
        const upstream = await startUpstream();
        const listen = await freePort();
        return { listen, site: plainSite(listen, upstream.port), processes: [upstream], measured: upstream, measuredName: 'upstream' };
      },
    },
  ];
  const runs = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const setup of setups) {
        const home = join(work, `r${round}-${setup.name.replace(/\W+/g, '-')}`);
        mkdirSync(home);
        const { listen, site, processes, measured, measuredName } = await setup.start();
        let nginx;
        try {
          nginx = await startNginx({ binary, home: join(home, 'nginx'), site, port: listen, workerConnections: 1024 });
          const load = { url: `${nginx.base}/`, tokens: database.tokens, connections, threads };
          await runWrk({ ...load, seconds: warmupSeconds });
          const cpuBefore = cpuMicros(measured.pid);
          const result = await runWrk({ ...load, seconds: measureSeconds });
          const cpuUsPerReq = (cpuMicros(measured.pid) - cpuBefore) / result.requests;
          runs.push({ round, setup: setup.name, ...result, cpuUsPerReq });
          log(
            `round ${round}  ${setup.name.padEnd(20)} ${fmt.int(result.reqPerSec).padStart(8)} req/s  ` +
              `${measuredName} cpu ${fmt.fixed(cpuUsPerReq, 1).padStart(6)} µs/req  ` +
              `p50 ${fmt.ms(result.latencyUs.p50).padStart(9)}  p99 ${fmt.ms(result.latencyUs.p99).padStart(9)}` +
              (result.non2xx || result.socketErrors ? `  (${result.non2xx} non-2xx, ${result.socketErrors} socket errors)` : ''),
          );
        } finally {
          await nginx?.stop();
          for (const process of processes) await process.stop();
        }
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const ratios = [];
  for (let round = 1; round <= rounds; round++) {
    const auth = runs.find((run) => run.round === round && run.setup === setups[0].name);
    const plain = runs.find((run) => run.round === round && run.setup === setups[1].name);
    if (auth && plain) ratios.push(auth.reqPerSec / plain.reqPerSec);
  }
  const errors = runs.filter((run) => run.non2xx || run.socketErrors).map((run) => `round ${run.round} ${run.setup}: ${run.non2xx} non-2xx, ${run.socketErrors} socket errors`);
  return { ratio: median(ratios), ratios, runs, errors };
}

// Alone: `node bench/p10-forward-auth.mjs [--quick]`.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, rounds: { type: 'string' } }, strict: true });
  const log = (line = '') => process.stdout.write(`${line}\n`);
  const work = mkdtempSync(join(tmpdir(), 'latchkey-bench-p10-db-'));
  try {
    log(checkWrk());
    const url = `sqlite:${join(work, 'small.db')}`;
    const seeded = await seedInWorker({ databaseUrl: url, total: 1_000, loadTokens: 1_000 });
    const result = await measureP10({
      database: { url, ...seeded },
      rounds: Number(values.rounds ?? (values.quick ? 2 : 5)),
      warmupSeconds: values.quick ? 1 : 3,
      measureSeconds: values.quick ? 2 : 10,
      log,
    });
    if (result.skipped) log(`P10: not measured (${result.skipped})`);
    else {
      for (const error of result.errors) log(`!! ${error}`);
      log(`P10 per round: [${result.ratios.map((ratio) => ratio.toFixed(3)).join(' ')}]`);
      log(`P10: ${result.ratio.toFixed(2)} (goal ≥ 0.50)`);
    }
  } catch (error) {
    log(`P10 failed: ${error?.stack ?? error}`);
    process.exitCode = 1;
  } finally {
    stopAll();
    rmSync(work, { recursive: true, force: true });
  }
}
