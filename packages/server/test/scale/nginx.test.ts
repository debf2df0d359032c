/**
 * The shipped deployment example, run on loopback: Debian's nginx with deploy/nginx/latchkey.conf
 * (only its listen port and upstream ports replaced) in front of two `latchkey-server`
 * instances on one throw-away PostgreSQL database. Sign in on instance A directly, create a
 * token, use it through nginx (both upstreams answer), revoke it through instance B, and see it
 * refused through nginx and by both instances directly.
 *
 * Without nginx the test is skipped with a loud line, unless CI is set (then it fails).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPostgresDatabase, postgresAvailable } from '../support/databases.js';
import { createToken, issueSignInPath, revokeToken, signIn, sleep, useToken } from './support.js';
import { findNginx, startNginx, substitutedFile, type RunningProxy } from '../support/proxy-process.mjs';
import { ensureServerBuilt, freePort, repositoryRoot, startServer, type ServerProcess } from '../support/server-process.mjs';

const SHIPPED_CONFIG = join(repositoryRoot, 'deploy/nginx/latchkey.conf');

/** The shipped site file with only the loopback ports substituted. */
function siteConfigFor(ports: { listen: number; upstreams: [number, number] }): string {
  return substitutedFile(SHIPPED_CONFIG, [
    [/^(\s*)listen 80;$/m, `$1listen 127.0.0.1:${ports.listen};`],
    [/^(\s*)server 127\.0\.0\.1:8081 /m, `$1server 127.0.0.1:${ports.upstreams[0]} `],
    [/^(\s*)server 127\.0\.0\.1:8082 /m, `$1server 127.0.0.1:${ports.upstreams[1]} `],
  ]);
}

type Nginx = RunningProxy & { accessLog: string };

async function startNginxFor(binary: string, dir: string, port: number, upstreams: [number, number]): Promise<Nginx> {
  const home = join(dir, 'nginx');
  const accessLog = join(home, 'access.log');
  // An access log naming the upstream each request went to.
  const proxy = await startNginx({
    binary,
    home,
    site: siteConfigFor({ listen: port, upstreams }),
    port,
    workerConnections: 512,
    httpDirectives: `log_format upstreams '$request_method $request_uri $status $upstream_addr';\n    access_log ${accessLog} upstreams;`,
    readyPath: '/healthz',
    ready: (status) => status === 200,
  });
  return { ...proxy, accessLog };
}

/** A GET from a chosen loopback source address (so nginx sees a client other than itself). */
function getFrom(
  localAddress: string,
  url: string,
  headers: Record<string, string>,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { localAddress, headers, timeout: 10_000 }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

interface Setup {
  a: ServerProcess;
  b: ServerProcess;
  nginx: Nginx;
  publicUrl: string;
  env: Record<string, string>;
  db: pg.Client;
}

const nginxBinary = findNginx();
let setup: Setup | undefined;
let skipReason: string | undefined;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  if (!nginxBinary) {
    if (process.env.CI) throw new Error('nginx is not installed (.ci/run installs the Debian package)');
    process.stderr.write('\n!!! nginx not found (apt-get install nginx): SKIPPING the nginx deployment test.\n\n');
    skipReason = 'nginx is not installed';
    return;
  }
  ensureServerBuilt();
  if (!(await postgresAvailable())) {
    skipReason = 'PostgreSQL is not available';
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-nginx-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const database = await createTestPostgresDatabase();
  cleanups.push(() => database.drop());
  try {
    const nginxPort = await freePort();
    const publicUrl = `http://127.0.0.1:${nginxPort}`;
    // The instances trust nginx (on 127.0.0.1) to tell them the client's address. No REDIS_URL:
    // this test is about revocation; the shared failure budget is the multi-instance test's.
    const env = { DATABASE_URL: database.url, PUBLIC_URL: publicUrl, TRUST_PROXY: '127.0.0.1' };
    const a = await startServer({ name: 'A', env });
    cleanups.unshift(() => a.stop());
    const b = await startServer({ name: 'B', env });
    cleanups.unshift(() => b.stop());
    const nginx = await startNginxFor(nginxBinary, dir, nginxPort, [a.port, b.port]);
    cleanups.unshift(() => nginx.stop());
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    cleanups.unshift(() => db.end());
    setup = { a, b, nginx, publicUrl, env, db };
  } catch (error) {
    await runCleanups();
    throw error;
  }
}, 90_000);

async function runCleanups(): Promise<void> {
  // Processes first (newest first), then the database and the directory.
  for (const cleanup of cleanups.splice(0)) await Promise.resolve(cleanup()).catch(() => undefined);
}

afterAll(runCleanups, 30_000);

/** Upstream addresses nginx used for requests to `path`, from its access log. */
function upstreamsFor(accessLog: string, path: string): string[] {
  return readFileSync(accessLog, 'utf8')
    .split('\n')
    .filter((line) => line.split(' ')[1] === path)
    .map((line) => line.split(' ')[3]!);
}

describe('deploy/nginx/latchkey.conf in front of two instances on one PostgreSQL', () => {
  it('a token created on A works through nginx on both upstreams, and once revoked through B is refused everywhere', async (context) => {
    if (!setup) return context.skip(skipReason ?? 'not set up');
    const { a, b, nginx, publicUrl, env, db } = setup;

    // Sign in on instance A directly; the session holds on any instance.
    const session = await signIn(a.base, a.signInPath ?? issueSignInPath(env));
    const token = await createToken(a.base, session, publicUrl, 'through-nginx');

    // First use through nginx, from another loopback address, with a forged X-Forwarded-For:
    // the instance records the address nginx saw, not the one the client claimed.
    const first = await getFrom('127.0.0.2', `${nginx.base}/api/v1/me?first`, {
      authorization: `Bearer ${token.secret}`,
      'x-forwarded-for': '198.51.100.7',
    });
    expect(first).toBe(200);
    let lastUsedIp: string | null = null;
    for (let waited = 0; waited < 3_000 && !lastUsedIp; waited += 100) {
      const { rows } = await db.query<{ last_used_ip: string | null }>('select last_used_ip from tokens where id = $1', [token.id]);
      lastUsedIp = rows[0]?.last_used_ip ?? null;
      if (!lastUsedIp) await sleep(100);
    }
    expect(lastUsedIp).toBe('127.0.0.2');

    // More uses through nginx: round robin spreads them over both instances.
    const before: number[] = [];
    for (let i = 0; i < 6; i++) before.push(await useToken(nginx.base, token.secret));
    expect(before).toEqual(Array(6).fill(200));
    const upstreamsBefore = new Set(upstreamsFor(nginx.accessLog, '/api/v1/me'));
    expect(upstreamsBefore).toEqual(new Set([`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`]));

    // Revoke through instance B, directly.
    expect(await revokeToken(b.base, session, publicUrl, token.id)).toBe(204);

    // Refused at once: through nginx (on both upstreams), and by each instance directly.
    const after: number[] = [];
    for (let i = 0; i < 4; i++) after.push(await useToken(nginx.base, token.secret, {}, '/api/v1/me?after'));
    expect(after).toEqual(Array(4).fill(401));
    expect(new Set(upstreamsFor(nginx.accessLog, '/api/v1/me?after'))).toEqual(
      new Set([`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`]),
    );
    expect(await useToken(a.base, token.secret)).toBe(401);
    expect(await useToken(b.base, token.secret)).toBe(401);

    // The console session works through nginx too (cookie, CSRF and Origin checks behind a proxy).
    const viaNginx = await fetch(`${nginx.base}/api/v1/tokens`, {
      method: 'POST',
      headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken, origin: publicUrl, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'made-through-nginx' }),
    });
    expect(viaNginx.status).toBe(201);
  });
});
