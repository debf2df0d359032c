#!/usr/bin/env node
/**
 * P11 (docs/performance.md): how long after a revoke's 204 a warm @latchkey/verify verifier in
 * another process first refuses the token, under about 1,000 verifications a second. Goal: p99
 * ≤ 50 ms.
 *
 * - A fresh `latchkey-server` on its own SQLite database; a first administrator signed in through
 *   `latchkey-server signin-link`; a service token (introspect) and the trial tokens created over
 *   HTTP.
 * - The verifier runs in its own process (bench/lib/p11-verifier.mjs), following the revocation
 *   stream, verifying 100 background tokens in turn plus the trial's token at ~1,000/s in all.
 * - Each trial: the token is verified until cached; DELETE /api/v1/tokens/:id; the time from the
 *   204's arrival to the verifier's first refusal (clocks: performance.timeOrigin + now in both
 *   processes). 1,000 trials (LATCHKEY_P11_TRIALS=N for fewer); P11 is their 99th percentile.
 *
 * `npm run bench` calls `measureP11`; `node bench/p11-revocation.mjs` runs it alone.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { freePort, issueSignInLink, startServer } from '../packages/server/test/support/server-process.mjs';

const root = fileURLToPath(new URL('../', import.meta.url));
const now = () => performance.timeOrigin + performance.now();
const BACKGROUND_TOKENS = 100;

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

/** Signs in with a one-time link; the session cookie and CSRF token. */
async function signIn(base, link) {
  const response = await fetch(`${base}${new URL(link).pathname}`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
  const cookie = response.headers.getSetCookie().find((line) => line.startsWith('__Host-latchkey_session='))?.split(';')[0];
  if (response.status !== 303 || !cookie) throw new Error(`sign-in answered ${response.status}`);
  const me = await (await fetch(`${base}/api/v1/me`, { headers: { cookie } })).json();
  return { cookie, csrfToken: me.csrfToken };
}

export async function measureP11({ trials = Number(process.env.LATCHKEY_P11_TRIALS) || 1_000, rate = 1_000, log = () => {} } = {}) {
  const build = spawnSync(`${root}node_modules/.bin/tsc`, ['-b', 'packages/verify'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) return { skipped: 'building packages/verify failed' };
  const work = mkdtempSync(join(tmpdir(), 'latchkey-bench-p11-'));
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const env = { DATABASE_URL: `sqlite:${join(work, 'p11.db')}`, PUBLIC_URL: publicUrl, TOKEN_MAX_PER_ACCOUNT: '100000', LOG_LEVEL: 'info' };
  const server = await startServer({ name: 'latchkey (P11)', env, port });
  let verifier;
  try {
    const session = await signIn(server.base, issueSignInLink(env));
    const headers = { cookie: session.cookie, 'x-csrf-token': session.csrfToken, origin: publicUrl };
    const create = async (name, scopes) => {
      const response = await fetch(`${server.base}/api/v1/tokens`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify(scopes ? { name, scopes } : { name }),
      });
      if (response.status !== 201) throw new Error(`create token answered ${response.status}: ${await response.text()}`);
      const body = await response.json();
      return { id: body.token.id, secret: body.secret };
    };
    const service = await create('p11-verifier', ['introspect']);
    const background = [];
    for (let index = 0; index < BACKGROUND_TOKENS; index++) background.push((await create(`p11-background-${index}`)).secret);

    verifier = spawn(process.execPath, [`${root}bench/lib/p11-verifier.mjs`], {
      env: { PATH: process.env.PATH ?? '', LATCHKEY_URL: server.base, LATCHKEY_TOKEN: service.secret, LATCHKEY_P11_RATE: String(rate) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const errors = [];
    const waiting = [];
    verifier.on('message', (message) => {
      if (message.type === 'error') errors.push(message.message);
      else waiting.shift()?.(message);
    });
    const next = (type) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the verifier sent no '${type}' within 30 s (${errors.slice(-3).join('; ')})`)), 30_000);
        waiting.push((message) => {
          clearTimeout(timer);
          if (message.type === type) resolve(message);
          else reject(new Error(`expected '${type}' from the verifier, got '${message.type}'`));
        });
      });
    await next('ready');
    verifier.send({ type: 'background', secrets: background });

    const delays = [];
    let uncached = 0;
    const startedAt = now();
    for (let trial = 0; trial < trials; trial++) {
      const token = await create(`p11-trial-${trial}`);
      verifier.send({ type: 'watch', secret: token.secret });
      const warm = await next('warm');
      if (!warm.cached) uncached++;
      const refused = next('refused');
      const response = await fetch(`${server.base}/api/v1/tokens/${token.id}`, { method: 'DELETE', headers });
      const revokedAt = now();
      await response.arrayBuffer();
      if (response.status !== 204) throw new Error(`revoke answered ${response.status}`);
      const { at } = await refused;
      // The refusal may even come before this process has read the 204: the stream is that fast.
      delays.push(Math.max(0, at - revokedAt));
    }
    const elapsedS = (now() - startedAt) / 1000;
    verifier.send({ type: 'stop' });
    const { verifications } = await next('stopped');
    const sorted = [...delays].sort((a, b) => a - b);
    const result = {
      p99: percentile(sorted, 99),
      p50: percentile(sorted, 50),
      max: sorted.at(-1),
      trials,
      verificationsPerSecond: verifications / elapsedS,
      uncached,
      errors: errors.length > 0 ? [`verifier: ${errors.length} errors, the last: ${errors.at(-1)}`] : [],
    };
    log(`${trials} trials in ${elapsedS.toFixed(0)} s, ${Math.round(result.verificationsPerSecond)} verifications/s in the verifier process; ` +
      `revoke 204 → first refusal p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms, max ${result.max.toFixed(1)} ms` +
      (uncached > 0 ? `; ${uncached} trials' tokens were not cached before the revoke` : ''));
    return result;
  } finally {
    if (verifier && verifier.exitCode === null) verifier.kill('SIGKILL');
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

// Alone: `node bench/p11-revocation.mjs` (LATCHKEY_P11_TRIALS=N for fewer trials).
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const log = (line = '') => process.stdout.write(`${line}\n`);
  try {
    const result = await measureP11({ log });
    if (result.skipped) log(`P11: not measured (${result.skipped})`);
    else {
      for (const error of result.errors) log(`!! ${error}`);
      log(`P11: ${result.p99.toFixed(1)} (goal ≤ 50 ms)`);
    }
  } catch (error) {
    log(`P11 failed: ${error?.stack ?? error}`);
    process.exitCode = 1;
  }
}
