/**
 * The fast path (src/http/fast-path.ts) answers the hottest requests in front of Fastify. It must
 * answer exactly as Fastify would: every request here is sent to the app's own server (fast path
 * in front) and to a second server on the same app that hands everything to Fastify, over real
 * HTTP, and the two answers — status, every header but the date and the request id, body — and
 * their log lines are compared. Which requests the fast path took is checked too: every GET of
 * a fast route with one bearer token and no query or body (at once when the answer needs no I/O,
 * after the lookup otherwise); everything else is left to Fastify.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import { isDeepStrictEqual } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { meFastRoute } from '../../src/accounts/me-routes.js';
import { openDatabase } from '../../src/database/open-database.js';
import { DATABASE_UNAVAILABLE_DETAIL } from '../../src/http/error-handler.js';
import { createFastPath } from '../../src/http/fast-path.js';
import { createLogger } from '../../src/http/logging.js';
import { problemResponse } from '../../src/http/problem.js';
import { StoreUnavailableError } from '../../src/kernel/store-errors.js';
import type { Database } from '../../src/database/database.js';
import { createTestApp, type TestApp, type TestSession } from '../support/app.js';
import { describeEachBackend, type BackendContext } from '../support/databases.js';

interface RawResponse {
  status: number;
  /** [lower-case name, value] in the order sent. */
  headers: Array<[string, string]>;
  body: string;
}

function send(port: number, path: string, headers: Record<string, string | string[]> = {}, method = 'GET'): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port, path, method, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const pairs: Array<[string, string]> = [];
        for (let index = 0; index < response.rawHeaders.length; index += 2) {
          pairs.push([response.rawHeaders[index]!.toLowerCase(), response.rawHeaders[index + 1]!]);
        }
        resolve({ status: response.statusCode!, headers: pairs, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    request.on('error', reject);
    request.end();
  });
}

/** What must be equal both ways: the date and the request id differ per request. */
function comparable(response: RawResponse): { status: number; headers: Array<[string, string]>; body: string } {
  const headers = response.headers.filter(([name]) => name !== 'date' && name !== 'x-request-id').sort(([a], [b]) => a.localeCompare(b));
  return { status: response.status, headers, body: response.body };
}

function requestIdOf(response: RawResponse): string {
  const id = response.headers.find(([name]) => name === 'x-request-id')?.[1];
  expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  return id!;
}

/** The log lines of one request, without what differs per request (its id, time, duration). */
function logLinesOf(app: TestApp, requestId: string): Array<Record<string, unknown>> {
  return app.logs
    .filter((line) => line.reqId === requestId)
    .map(({ reqId: _reqId, time: _time, ms, ...rest }) => ({ ...rest, ms: typeof ms }));
}

interface Servers {
  app: TestApp;
  session: TestSession;
  /** The app's own server: the fast path in front of Fastify. */
  fastPort: number;
  /** A server on the same app handing every request to Fastify. */
  fastifyPort: number;
  close(): Promise<void>;
}

async function listen(app: TestApp, session: TestSession): Promise<Servers> {
  await app.http.listen({ port: 0, host: '127.0.0.1' });
  const plain: Server = createServer((request, response) => app.http.routing(request, response));
  plain.keepAliveTimeout = app.http.server.keepAliveTimeout;
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  return {
    app,
    session,
    fastPort: (app.http.server.address() as AddressInfo).port,
    fastifyPort: (plain.address() as AddressInfo).port,
    async close() {
      await new Promise((resolve) => plain.close(resolve));
      await app.close();
    },
  };
}

/**
 * Sends the request through Fastify until its answer stops changing (the first use's background
 * writes have landed), then the fast way, then through Fastify again, and expects the last two
 * answers, and their log lines, to be the same. Returns the fast answer and whether the fast
 * path took it.
 */
async function bothWays(servers: Servers, path: string, headers: Record<string, string | string[]> = {}, method = 'GET') {
  const { app } = servers;
  await untilSettled(() => send(servers.fastifyPort, path, headers, method));
  const before = app.fastPath!.answered;
  const fast = await send(servers.fastPort, path, headers, method);
  const tookFastPath = app.fastPath!.answered > before;
  const viaFastify = await send(servers.fastifyPort, path, headers, method);
  expect(app.fastPath!.answered - before).toBe(tookFastPath ? 1 : 0);
  expect(comparable(fast)).toEqual(comparable(viaFastify));
  if (method !== 'HEAD') expect(logLinesOf(app, requestIdOf(fast))).toEqual(logLinesOf(app, requestIdOf(viaFastify)));
  return { fast, tookFastPath };
}

/**
 * Repeats `request` until two answers in a row are the same: a use's background bookkeeping (the
 * last-used write, at most one a minute) has landed. Polls for a generous bound; nothing is timed.
 */
async function untilSettled(request: () => Promise<RawResponse>): Promise<void> {
  const end = Date.now() + 15_000;
  let previous = comparable(await request());
  for (;;) {
    await pause();
    const next = comparable(await request());
    if (isDeepStrictEqual(previous, next)) return;
    if (Date.now() > end) throw new Error('the answer kept changing');
    previous = next;
  }
}

/** Polls `check` until it holds, for a generous bound; nothing is timed. */
async function eventually(check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + 15_000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await pause();
  }
}

async function pause(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 30));
}

/** A well-formed token whose checksum is wrong: the last character changed. */
function breakChecksum(secret: string): string {
  const last = secret.at(-1)!;
  return secret.slice(0, -1) + (last === 'a' ? 'b' : 'a');
}

describeEachBackend('the fast path answers as Fastify does', (ctx: BackendContext) => {
  let servers: Servers | undefined;
  afterEach(async () => {
    await servers?.close();
    servers = undefined;
  });

  async function start(options: { trustProxy?: boolean } = {}): Promise<Servers> {
    const app = await createTestApp(ctx.database, { tokenCache: ctx.dialect === 'sqlite', trustProxy: options.trustProxy });
    servers = await listen(app, await app.signIn({ email: `fast-${Date.now()}@example.test` }));
    return servers;
  }

  it('GET /api/v1/me with a valid token: the same 200, headers and body, the same request log line; answered by the fast path', async () => {
    const s = await start();
    const { secret: token } = await s.app.createToken(s.session, 'fast-me');
    const { fast, tookFastPath } = await bothWays(s, '/api/v1/me', { authorization: `Bearer ${token}` });
    expect(fast.status, fast.body).toBe(200);
    expect(JSON.parse(fast.body)).toMatchObject({ authenticatedWith: 'token', token: { name: 'fast-me', state: 'active' } });
    expect(tookFastPath).toBe(true);
    expect(s.app.logText()).not.toContain(token);
  });

  it('GET /api/v1/verify with a valid token: the same 204 and identity headers', async () => {
    const s = await start();
    const { secret: token } = await s.app.createToken(s.session, 'fast-verify', { scopes: ['namespaces:read'] });
    const { fast, tookFastPath } = await bothWays(s, '/api/v1/verify', { authorization: `Bearer ${token}` });
    expect(fast.status).toBe(204);
    expect(fast.headers).toContainEqual(['latchkey-token-scopes', 'namespaces:read']);
    expect(tookFastPath).toBe(true);
  });

  it('a token expiring within 7 days: state "expiring" both ways', async () => {
    const s = await start();
    const { secret: token } = await s.app.createToken(s.session, 'fast-expiring', { expiresInDays: 7 });
    const { fast, tookFastPath } = await bothWays(s, '/api/v1/me', { authorization: `Bearer ${token}` });
    expect(JSON.parse(fast.body).token.state).toBe('expiring');
    expect(tookFastPath).toBe(true);
  });

  it('a token failing its checksum: the same 401 R-INVALID, challenge and auth_failed log line, answered by the fast path on every database', async () => {
    const s = await start();
    const { secret: token } = await s.app.createToken(s.session, 'fast-broken');
    for (const path of ['/api/v1/me', '/api/v1/verify']) {
      const { fast, tookFastPath } = await bothWays(s, path, { authorization: `Bearer ${breakChecksum(token)}` });
      expect(fast.status).toBe(401);
      expect(JSON.parse(fast.body)).toMatchObject({ code: 'INVALID_TOKEN' });
      expect(fast.headers).toContainEqual(['www-authenticate', 'Bearer realm="api", error="invalid_token", error_description="The access token is invalid"']);
      expect(tookFastPath).toBe(true);
    }
    expect(s.app.logs.some((line) => line.event === 'auth_failed' && line.reason === 'malformed')).toBe(true);
  });

  it('what the fast path leaves to Fastify is answered by Fastify: no credentials, a session, HEAD, a query, two Authorization headers, another scheme, a body', async () => {
    const s = await start();
    const { secret: token } = await s.app.createToken(s.session, 'fast-left');
    const auth = `Bearer ${token}`;
    const cases: Array<[string, Record<string, string | string[]>, string?]> = [
      ['/api/v1/me', {}],
      ['/api/v1/me', { cookie: s.session.cookie }],
      ['/api/v1/me', { authorization: auth }, 'HEAD'],
      ['/api/v1/me?x=1', { authorization: auth }],
      ['/api/v1/verify?scope=namespaces:read', { authorization: auth }],
      ['/api/v1/me', { authorization: [auth, auth] }],
      ['/api/v1/me', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }],
      ['/api/v1/me', { authorization: 'Bearer' }],
      ['/api/v1/me/', { authorization: auth }],
      ['/api/v1/me', { authorization: auth, 'content-length': '0' }],
    ];
    for (const [path, headers, method] of cases) {
      const { tookFastPath } = await bothWays(s, path, headers, method);
      expect(tookFastPath, `${method ?? 'GET'} ${path} ${JSON.stringify(Object.keys(headers))}`).toBe(false);
    }
  });

  it('a revoked token is refused by the very next request, with the same 401 and auth_failed line both ways', async () => {
    const s = await start();
    const { secret: token, token: { id } } = await s.app.createToken(s.session, 'fast-revoked');
    await bothWays(s, '/api/v1/me', { authorization: `Bearer ${token}` });
    const revoke = await s.app.http.inject({ method: 'DELETE', url: `/api/v1/tokens/${id}`, headers: s.session.headers });
    expect(revoke.statusCode).toBe(204);
    const { fast, tookFastPath } = await bothWays(s, '/api/v1/me', { authorization: `Bearer ${token}` });
    expect(fast.status).toBe(401);
    expect(tookFastPath).toBe(true);
    expect(s.app.logs.some((line) => line.event === 'auth_failed' && line.reason === 'revoked')).toBe(true);
  });

  it('an unknown token and a token used from outside its allowlist: the same 401 both ways', async () => {
    const s = await start();
    const { secret: token } = await s.app.createToken(s.session, 'fast-allowlist', { allowedIps: ['192.0.2.0/24'] });
    const outside = await bothWays(s, '/api/v1/me', { authorization: `Bearer ${token}` });
    expect(outside.fast.status).toBe(401);
    expect(outside.tookFastPath).toBe(true);
    const { secret: other, token: { id } } = await s.app.createToken(s.session, 'fast-unknown');
    await ctx.exec(sql`delete from tokens where id = ${id}`);
    const unknown = await bothWays(s, '/api/v1/verify', { authorization: `Bearer ${other}` });
    expect(unknown.fast.status).toBe(401);
  });

  it('behind a trusted proxy the client address is the forwarded one both ways (log line, last-used address)', async () => {
    const s = await start({ trustProxy: true });
    const { secret: token } = await s.app.createToken(s.session, 'fast-proxied');
    const headers = { authorization: `Bearer ${token}`, 'x-forwarded-for': '198.51.100.7' };
    await bothWays(s, '/api/v1/me', headers);
    const { fast, tookFastPath } = await bothWays(s, '/api/v1/me', headers);
    expect(JSON.parse(fast.body).token.lastUsedIp).toBe('198.51.100.7');
    expect(logLinesOf(s.app, requestIdOf(fast))).toContainEqual(expect.objectContaining({ ip: '198.51.100.7', status: 200 }));
    expect(tookFastPath).toBe(true);
  });

  it("an answer kept for a token follows its owner's changes: a name and the administrator flag set by an administrator show at once", async () => {
    const s = await start();
    const { secret: token } = await s.app.createToken(s.session, 'fast-owner');
    const headers = { authorization: `Bearer ${token}` };
    const first = await bothWays(s, '/api/v1/me', headers);
    expect(JSON.parse(first.fast.body).account).toMatchObject({ name: null, isAdmin: false });
    const administrator = await s.app.signIn({ isAdmin: true });
    const changed = await s.app.http.inject({
      method: 'PATCH',
      url: `/api/v1/admin/accounts/${s.session.account.id}`,
      headers: administrator.headers,
      payload: { name: 'Renamed Owner', isAdmin: true },
    });
    expect(changed.statusCode, changed.body).toBe(200);
    const after = await bothWays(s, '/api/v1/me', headers);
    expect(JSON.parse(after.fast.body).account).toMatchObject({ name: 'Renamed Owner', isAdmin: true });
    expect(after.tookFastPath).toBe(true);
  });

  it('a token rotated with a grace period: the old secret is answered the same both ways, and every use is counted', async () => {
    const s = await start();
    const { secret: token, token: { id } } = await s.app.createToken(s.session, 'fast-rotated');
    const rotated = await s.app.http.inject({
      method: 'POST',
      url: `/api/v1/tokens/${id}/rotate`,
      headers: s.session.headers,
      payload: { graceSeconds: 3600 },
    });
    expect(rotated.statusCode, rotated.body).toBe(201);
    const answers: RawResponse[] = [];
    let fastAnswers = 0;
    for (let round = 0; round < 3; round++) {
      for (const port of [s.fastifyPort, s.fastPort]) {
        const before = s.app.fastPath!.answered;
        answers.push(await send(port, '/api/v1/me', { authorization: `Bearer ${token}` }));
        fastAnswers += s.app.fastPath!.answered - before;
        await pause();
      }
    }
    // Each answer tells the uses counted before it; apart from those, all are the same.
    const uses = answers.map((answer) => JSON.parse(answer.body).token.usesSinceRotation as number);
    expect(uses).toEqual([...uses].sort((a, b) => a - b));
    const withoutUses = (answer: RawResponse) => {
      const body = JSON.parse(answer.body);
      for (const field of ['usesSinceRotation', 'lastUsedAt', 'lastUsedIp', 'lastUseSinceRotation']) delete body.token[field];
      return { ...comparable(answer), headers: comparable(answer).headers.filter(([name]) => name !== 'content-length'), body };
    };
    for (const answer of answers.slice(1)) expect(withoutUses(answer)).toEqual(withoutUses(answers[0]!));
    const page = () => s.app.http.inject({ url: `/api/v1/tokens/${id}`, headers: { cookie: s.session.cookie } });
    // The counted uses are written in the background: wait until the sixth has landed.
    await eventually(async () => (await page()).json().usesSinceRotation === 6);
    expect((await page()).json()).toMatchObject({ state: 'rotating', usesSinceRotation: 6 });
    expect(fastAnswers).toBe(3);
  });
});

describe('the fast path on a SQLite file another process writes', () => {
  let directory: string | undefined;
  const opened: Database[] = [];
  let servers: Servers | undefined;
  afterEach(async () => {
    await servers?.close();
    for (const database of opened.splice(0)) await database.close();
    if (directory) rmSync(directory, { recursive: true, force: true });
  });

  it('a revoke committed by another connection is refused by the very next request (PRAGMA data_version)', async () => {
    directory = mkdtempSync(join(tmpdir(), 'latchkey-fast-'));
    const path = join(directory, 'latchkey.db');
    const database = openDatabase(`sqlite:${path}`);
    opened.push(database);
    await database.migrate();
    const app = await createTestApp(database, { tokenCache: true });
    servers = await listen(app, await app.signIn());
    const { secret: token, token: { id } } = await app.createToken(servers.session, 'fast-foreign');
    await bothWays(servers, '/api/v1/me', { authorization: `Bearer ${token}` });
    const before = app.fastPath!.answered;
    expect((await send(servers.fastPort, '/api/v1/me', { authorization: `Bearer ${token}` })).status).toBe(200);
    expect(app.fastPath!.answered).toBe(before + 1);

    // Another connection (as another process, or an operator's shell) revokes it.
    const other = new SQLite(path);
    try {
      other.prepare('update tokens set revoked_at = ? where id = ?').run(Date.now(), id);
    } finally {
      other.close();
    }
    expect((await send(servers.fastPort, '/api/v1/me', { authorization: `Bearer ${token}` })).status).toBe(401);
  });
});

describe('the fast path when authentication fails for another reason than the token', () => {
  const lines: Array<Record<string, unknown>> = [];
  let server: Server | undefined;
  afterEach(async () => {
    lines.length = 0;
    if (server) await new Promise((resolve) => server!.close(resolve));
    server = undefined;
  });

  async function serve(failure: unknown): Promise<number> {
    const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
    const fastPath = createFastPath({
      tokens: { authenticateNow: (batch) => batch.map(() => undefined), authenticate: () => Promise.reject(failure) },
      routes: [meFastRoute],
      logger,
    });
    server = createServer((request, response) => {
      if (!fastPath.answer(request, response)) response.writeHead(599).end();
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  const wellFormed = 'lk_pat_1' + 'A'.repeat(40);

  it('the database unreachable: R-UNAVAIL 503 with Retry-After, as the error handler answers it, logged as a warning', async () => {
    const port = await serve(new StoreUnavailableError('the database is unreachable', { cause: new Error('connection refused') }));
    const response = await send(port, '/api/v1/me', { authorization: `Bearer ${wellFormed}` });
    const expected = problemResponse('UNAVAILABLE', { detail: DATABASE_UNAVAILABLE_DETAIL });
    expect(response.status).toBe(503);
    expect(response.body).toBe(expected.body);
    expect(response.headers).toContainEqual(['retry-after', '5']);
    expect(lines).toContainEqual(expect.objectContaining({ level: 40, msg: 'database unavailable' }));
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'request', status: 503 }));
  });

  it('an unexpected failure: a bare R-INTERNAL 500, the error logged with its stack, never shown', async () => {
    const port = await serve(new Error('something broke at /srv/secret/path'));
    const response = await send(port, '/api/v1/me', { authorization: `Bearer ${wellFormed}` });
    expect(response.status).toBe(500);
    expect(response.body).toBe(problemResponse('INTERNAL').body);
    expect(response.body).not.toContain('secret');
    expect(lines).toContainEqual(expect.objectContaining({ level: 50, msg: 'unhandled error' }));
  });
});
