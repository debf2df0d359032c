/**
 * docs/security.md, item 54: forward auth through real proxies. Debian's nginx with
 * deploy/nginx/forward-auth.conf and Debian's Caddy with deploy/caddy/Caddyfile — each as shipped,
 * with only its listen address and upstream ports replaced — stand in front of a small real
 * service, asking a real `latchkey-server` (SQLite) about every request:
 *
 * - a valid token reaches the service with Latchkey's identity headers (and without the token);
 * - identity headers a client sends itself never reach it;
 * - an unknown, revoked, out-of-scope or wrong-namespace token, or none, never reaches it, and
 *   the client gets Latchkey's status and challenge;
 * - with Latchkey down the proxy answers 5xx: never a pass.
 *
 * Without nginx or Caddy the test fails under CI (.ci/run installs both) and is skipped loudly
 * otherwise.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken as createTokenWith, revokeToken, startSignedInLatchkey, type Session } from './support.js';
import {
  findCaddy,
  findNginx,
  forwardAuthCaddySite,
  forwardAuthNginxSite,
  startCaddy,
  startNginx,
  type ForwardAuthPorts,
  type RunningProxy,
} from '../support/proxy-process.mjs';
import { ensureServerBuilt, freePort, repositoryRoot, type ServerProcess } from '../support/server-process.mjs';

const NGINX_CONFIG = join(repositoryRoot, 'deploy/nginx/forward-auth.conf');
const CADDY_CONFIG = join(repositoryRoot, 'deploy/caddy/Caddyfile');
const IDENTITY = ['latchkey-account-id', 'latchkey-account-email', 'latchkey-token-id', 'latchkey-token-scopes', 'latchkey-token-expires-at'];

/** The service behind the proxy: answers 200 and remembers the headers of every request it got. */
function startService(): Promise<{ server: Server; port: number; seen: IncomingHttpHeaders[] }> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((request, response) => {
    seen.push(request.headers);
    response.writeHead(200, { 'content-type': 'text/plain' }).end('service');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port, seen })));
}

type Proxy = RunningProxy;

async function startShippedNginx(binary: string, dir: string, latchkeyPort: number, servicePort: number): Promise<Proxy> {
  const ports: ForwardAuthPorts = { listen: await freePort(), latchkey: latchkeyPort, service: servicePort };
  const site = forwardAuthNginxSite(NGINX_CONFIG, readFileSync(NGINX_CONFIG, 'utf8'), ports);
  // Up once it answers at all (without a token: Latchkey's 401, passed on).
  return startNginx({ binary, home: join(dir, 'nginx'), site, port: ports.listen });
}

async function startShippedCaddy(binary: string, dir: string, latchkeyPort: number, servicePort: number): Promise<Proxy> {
  const ports: ForwardAuthPorts = { listen: await freePort(), latchkey: latchkeyPort, service: servicePort };
  const site = forwardAuthCaddySite(CADDY_CONFIG, readFileSync(CADDY_CONFIG, 'utf8'), ports);
  return startCaddy({ binary, home: join(dir, 'caddy'), site, port: ports.listen });
}

const binaries = { nginx: findNginx(), caddy: findCaddy() };

interface Setup {
  latchkey: ServerProcess;
  databasePath: string;
  publicUrl: string;
  session: Session;
  accountId: string;
  service: Awaited<ReturnType<typeof startService>>;
  proxies: Proxy[];
}

let setup: Setup | undefined;
let skipReason: string | undefined;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  const missing = Object.entries(binaries).filter(([, path]) => !path).map(([name]) => name);
  if (missing.length > 0) {
    if (process.env.CI) throw new Error(`${missing.join(' and ')} not installed (.ci/run installs the Debian packages)`);
    process.stderr.write(`\n!!! ${missing.join(' and ')} not found (apt-get install nginx caddy): SKIPPING the forward-auth proxy tests.\n\n`);
    skipReason = `${missing.join(' and ')} not installed`;
    return;
  }
  ensureServerBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-forward-auth-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  try {
    // The proxies, on 127.0.0.1, tell Latchkey the client's address.
    const { latchkey, publicUrl, session, accountId } = await startSignedInLatchkey(dir, ADMIN_EMAIL);
    const latchkeyPort = latchkey.port;
    cleanups.unshift(() => latchkey.stop());
    const service = await startService();
    cleanups.unshift(() => new Promise<void>((resolve) => service.server.close(() => resolve())));
    const nginx = await startShippedNginx(binaries.nginx!, dir, latchkeyPort, service.port);
    cleanups.unshift(() => nginx.stop());
    const caddy = await startShippedCaddy(binaries.caddy!, dir, latchkeyPort, service.port);
    cleanups.unshift(() => caddy.stop());
    setup = { latchkey, databasePath: join(dir, 'latchkey.db'), publicUrl, session, accountId, service, proxies: [nginx, caddy] };
  } catch (error) {
    await runCleanups();
    throw error;
  }
}, 120_000);

async function runCleanups(): Promise<void> {
  for (const cleanup of cleanups.splice(0)) await Promise.resolve(cleanup()).catch(() => undefined);
}

afterAll(runCleanups, 30_000);

function createToken({ name, ...fields }: { name: string } & Record<string, unknown>): Promise<{ id: string; secret: string; expiresAt: string }> {
  return createTokenWith(setup!.latchkey.base, setup!.session, setup!.publicUrl, name, fields);
}

/** A request through `proxy`; the service's hits during it are returned with the answer. */
async function through(proxy: Proxy, path: string, headers: Record<string, string> = {}) {
  const before = setup!.service.seen.length;
  const response = await fetch(`${proxy.base}${path}`, { headers, signal: AbortSignal.timeout(15_000) });
  const body = await response.text();
  return { status: response.status, headers: response.headers, body, reached: setup!.service.seen.slice(before) };
}

const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

const ADMIN_EMAIL = 'operator@example.test';

/** Writes the account's email behind the server's back (it notices writes by other connections). */
function setEmail(email: string | null): void {
  const database = new SQLite(setup!.databasePath, { timeout: 5_000 });
  try {
    database.prepare('update accounts set email = ? where id = ?').run(email, setup!.accountId);
  } finally {
    database.close();
  }
}

describe.each(['nginx', 'caddy'])('forward auth through %s (item 54)', (proxyName) => {
  const proxy = () => setup!.proxies.find((candidate) => candidate.name === proxyName)!;

  it('a valid token reaches the service with the identity headers, not the token', async (context) => {
    if (skipReason) return context.skip(skipReason);
    const token = await createToken({ name: `${proxyName}-valid`, scopes: ['namespaces:read'] });
    const result = await through(proxy(), '/dashboard', bearer(token.secret));
    expect(result.status, `${result.body}\n${proxy().output()}`).toBe(200);
    expect(result.reached).toHaveLength(1);
    const seen = result.reached[0]!;
    expect(seen['latchkey-account-id']).toBe(setup!.accountId);
    expect(seen['latchkey-token-id']).toBe(token.id);
    expect(seen['latchkey-token-scopes']).toBe('namespaces:read');
    expect(seen['latchkey-token-expires-at']).toBe(token.expiresAt);
    expect(seen.authorization).toBeUndefined();
  });

  it('identity headers a client sends itself never reach the service', async (context) => {
    if (skipReason) return context.skip(skipReason);
    const token = await createToken({ name: `${proxyName}-spoof` });
    const forged = Object.fromEntries(IDENTITY.map((name) => [name, `forged-${name}`]));
    const result = await through(proxy(), '/dashboard', { ...bearer(token.secret), ...forged });
    expect(result.status).toBe(200);
    const seen = result.reached[0]!;
    for (const name of IDENTITY) expect(String(seen[name] ?? ''), name).not.toContain('forged');
    expect(seen['latchkey-account-id']).toBe(setup!.accountId);
    // An account without an email: Latchkey sends an empty email header, and a forged one must
    // not survive in its place (nginx drops the empty header, Caddy passes it empty).
    setEmail(null);
    try {
      const nameless = await through(proxy(), '/dashboard', { ...bearer(token.secret), ...forged });
      expect(nameless.status).toBe(200);
      expect(nameless.reached[0]!['latchkey-account-email'] ?? '').toBe('');
      expect(nameless.reached[0]!['latchkey-account-id']).toBe(setup!.accountId);
    } finally {
      setEmail(ADMIN_EMAIL);
    }
    // Without a token, forged headers get nowhere at all.
    const anonymous = await through(proxy(), '/dashboard', forged);
    expect(anonymous.status).toBe(401);
    expect(anonymous.reached).toEqual([]);
  });

  it('no token, an unknown or a revoked token never reaches the service: 401 with the challenge', async (context) => {
    if (skipReason) return context.skip(skipReason);
    const revoked = await createToken({ name: `${proxyName}-revoked` });
    expect((await through(proxy(), '/dashboard', bearer(revoked.secret))).status).toBe(200);
    expect(await revokeToken(setup!.latchkey.base, setup!.session, setup!.publicUrl, revoked.id)).toBe(204);
    const unknown = `lk_pat_1${'A'.repeat(43)}`;
    for (const headers of [{}, bearer(revoked.secret), bearer(unknown), { authorization: 'Basic dXNlcjpwYXNz' }]) {
      const result = await through(proxy(), '/dashboard', headers);
      expect(result.status, JSON.stringify(headers)).toBe(401);
      expect(result.headers.get('www-authenticate')).toMatch(/^Bearer realm="api"/);
      expect(result.reached).toEqual([]);
    }
    expect((await through(proxy(), '/dashboard', bearer(revoked.secret))).headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('a namespace location admits a token for that namespace with namespaces:write, and nothing else', async (context) => {
    if (skipReason) return context.skip(skipReason);
    const preview = await createToken({ name: `${proxyName}-preview`, scopes: ['namespaces:write'], namespaces: ['preview-*'] });
    const readOnly = await createToken({ name: `${proxyName}-ro`, scopes: ['namespaces:read'] });

    const allowed = await through(proxy(), '/ns/preview-42/deploy', bearer(preview.secret));
    expect(allowed.status).toBe(200);
    expect(allowed.reached[0]!['latchkey-token-id']).toBe(preview.id);

    const wrongNamespace = await through(proxy(), '/ns/prod/deploy', bearer(preview.secret));
    expect(wrongNamespace.status).toBe(403);
    expect(wrongNamespace.headers.get('www-authenticate')).toBe('Bearer realm="api", error="insufficient_scope", scope="namespaces:write"');
    expect(wrongNamespace.reached).toEqual([]);

    const outOfScope = await through(proxy(), '/ns/preview-42/deploy', bearer(readOnly.secret));
    expect(outOfScope.status).toBe(403);
    expect(outOfScope.headers.get('www-authenticate')).toBe('Bearer realm="api", error="insufficient_scope", scope="namespaces:write"');
    expect(outOfScope.reached).toEqual([]);
  });
});

// Last: it stops Latchkey.
describe('with Latchkey down (item 54)', () => {
  it('both proxies answer 5xx and the service is never reached', async (context) => {
    if (skipReason) return context.skip(skipReason);
    const token = await createToken({ name: 'before-the-outage' });
    for (const proxy of setup!.proxies) expect((await through(proxy, '/dashboard', bearer(token.secret))).status).toBe(200);
    await setup!.latchkey.stop();
    for (const proxy of setup!.proxies) {
      const result = await through(proxy, '/dashboard', bearer(token.secret));
      expect(result.status, proxy.name).toBeGreaterThanOrEqual(500);
      expect(result.reached, proxy.name).toEqual([]);
    }
  });
});
