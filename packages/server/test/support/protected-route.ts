/**
 * The shared security suite every protected route runs: missing, unsupported, malformed,
 * unknown, revoked, expired and disabled-account credentials, the wrong kind of credential for
 * the route, a console mutation without its CSRF proof, and another account's resource. Each
 * route's own file then tests only its own behaviour.
 *
 * The routes come from the app itself (`App.routes`: every route registered with a
 * `config.auth`), so a new protected route is covered or fails the run: the suite needs an entry
 * for it in the setup table (the credentials it must take, the status it succeeds with, how to
 * fill its path and body).
 *
 * Each route's table entry also names the scope a token needs on it (item 44): the suite checks
 * the route declares exactly that, then presents tokens holding each of a set of scope
 * combinations and expects success exactly when the combination grants the scope, R-SCOPE with
 * `scope="<needed>"` otherwise.
 *
 * The expected responses are written out here literally, not imported from the server, so a
 * drift in the server fails these tests. They are keyed by the R-codes of docs/security.md,
 * error contract (R-NOAUTH is the 401 for no credentials, R-UNAVAIL the 503, and so on).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { BASE62_ALPHABET } from '@latchkey/contract';
import { formatToken } from '@latchkey/contract/token';
import type { HTTPMethods, LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import type { RegisteredRoute } from '../../src/app.js';
import { SYSTEM_ACTOR } from '../../src/audit/audit-event.js';
import { openDatabase } from '../../src/database/open-database.js';
import { bearer, comparable, createTestApp, type TestApp, type TestAppOptions, type TestSession } from './app.js';
import { describeEachBackend, type BackendContext } from './databases.js';

export const PROBLEM_BASE = '/docs/errors';

/** The refusals the suites compare against, spelled out. */
export const EXPECTED = {
  'R-NOAUTH': { status: 401, challenge: 'Bearer realm="api"', type: 'about:blank', title: 'Unauthorized', code: 'UNAUTHENTICATED' },
  'R-BADREQ': {
    status: 400,
    challenge: 'Bearer realm="api", error="invalid_request", error_description="Malformed Authorization header"',
    type: `${PROBLEM_BASE}/invalid-request`,
    title: 'Invalid request',
    code: 'INVALID_REQUEST',
  },
  'R-INVALID': {
    status: 401,
    challenge: 'Bearer realm="api", error="invalid_token", error_description="The access token is invalid"',
    type: `${PROBLEM_BASE}/invalid-token`,
    title: 'Invalid token',
    code: 'INVALID_TOKEN',
  },
  'R-EXPIRED': {
    status: 401,
    challenge: 'Bearer realm="api", error="invalid_token", error_description="The access token expired"',
    type: `${PROBLEM_BASE}/token-expired`,
    title: 'Token expired',
    code: 'TOKEN_EXPIRED',
  },
  'R-SCOPE': {
    status: 403,
    challenge:
      'Bearer realm="api", error="insufficient_scope", error_description="Not allowed with a personal access token"',
    type: `${PROBLEM_BASE}/insufficient-scope`,
    title: undefined,
    code: 'INSUFFICIENT_SCOPE',
  },
  /** A token without the scope the route needs: the challenge names it (see `expectScopeRefusal`). */
  'R-SCOPE-MISSING': {
    status: 403,
    challenge: undefined,
    type: `${PROBLEM_BASE}/insufficient-scope`,
    title: 'Insufficient scope',
    code: 'INSUFFICIENT_SCOPE',
  },
  'R-404': { status: 404, challenge: undefined, type: `${PROBLEM_BASE}/not-found`, title: undefined, code: 'NOT_FOUND' },
  'R-409': { status: 409, challenge: undefined, type: `${PROBLEM_BASE}/conflict`, title: undefined, code: 'CONFLICT' },
  'R-422': { status: 422, challenge: undefined, type: `${PROBLEM_BASE}/validation-error`, title: undefined, code: 'VALIDATION_FAILED' },
  'R-400B': { status: 400, challenge: undefined, type: `${PROBLEM_BASE}/malformed-body`, title: undefined, code: 'MALFORMED_BODY' },
  'R-413': { status: 413, challenge: undefined, type: `${PROBLEM_BASE}/payload-too-large`, title: undefined, code: 'PAYLOAD_TOO_LARGE' },
  'R-415': { status: 415, challenge: undefined, type: `${PROBLEM_BASE}/unsupported-media-type`, title: undefined, code: 'UNSUPPORTED_MEDIA_TYPE' },
  /** A caller who is not an administrator on an administrators' route (item 49). */
  'R-FORBIDDEN': { status: 403, challenge: undefined, type: `${PROBLEM_BASE}/forbidden`, title: 'Forbidden', code: 'FORBIDDEN' },
  'R-CSRF': { status: 403, challenge: undefined, type: `${PROBLEM_BASE}/csrf`, title: undefined, code: 'CSRF_REJECTED' },
} as const;

export type ResponseCode = keyof typeof EXPECTED;

/** The parts of a response the expectations look at; `app.inject` and raw-socket replies both fit. */
export interface ResponseLike {
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

/**
 * Asserts one refusal exactly: status, `WWW-Authenticate` (or its absence),
 * problem+json, body `type`/`title`/`status`/`code`. R-NOAUTH additionally has no `detail`.
 */
export function expectResponseCode(response: ResponseLike, code: ResponseCode): Record<string, unknown> {
  const expected = EXPECTED[code];
  const body = JSON.parse(response.body) as Record<string, unknown>;
  expect({ status: response.statusCode, code: body.code }, response.body).toEqual({ status: expected.status, code: expected.code });
  if (code !== 'R-SCOPE-MISSING') expect(response.headers['www-authenticate']).toBe(expected.challenge);
  expect(String(response.headers['content-type'])).toMatch(/^application\/problem\+json/);
  expect(body.type).toBe(expected.type);
  if (expected.title) expect(body.title).toBe(expected.title);
  expect(body.status).toBe(expected.status);
  if (code === 'R-NOAUTH') {
    expect(body).toEqual({ type: 'about:blank', title: 'Unauthorized', status: 401, code: 'UNAUTHENTICATED' });
    expect(body).not.toHaveProperty('detail');
  }
  return body;
}

/** R-SCOPE for a token lacking `scope` (RFC 6750 §3.1: the challenge names it; so does the body). */
export function expectScopeRefusal(response: ResponseLike, scope: string, namespace?: string): Record<string, unknown> {
  const body = expectResponseCode(response, 'R-SCOPE-MISSING');
  expect(response.headers['www-authenticate']).toBe(`Bearer realm="api", error="insufficient_scope", scope="${scope}"`);
  expect(body.requiredScope).toBe(scope);
  if (namespace === undefined) expect(body).not.toHaveProperty('namespace');
  else expect(body.namespace).toBe(namespace);
  return body;
}

export type AuthMode = 'token' | 'session' | 'either';

/** Every scope, written out (not imported) so a renamed scope fails the suite. */
export const ALL_SCOPES = [
  'namespaces:read',
  'namespaces:write',
  'tokens:read',
  'tokens:write',
  'admin:read',
  'admin:write',
  'introspect',
] as const;
export type Scope = (typeof ALL_SCOPES)[number];

/** The scope sets the matrix presents: each scope alone, all but each one, and all. */
export const SCOPE_SETS: ReadonlyArray<readonly Scope[]> = [
  ...ALL_SCOPES.map((scope) => [scope]),
  ...ALL_SCOPES.map((left) => ALL_SCOPES.filter((scope) => scope !== left)),
  ALL_SCOPES,
];

/** What a write scope includes, written out. */
const INCLUDES: Partial<Record<Scope, Scope>> = {
  'namespaces:write': 'namespaces:read',
  'tokens:write': 'tokens:read',
  'admin:write': 'admin:read',
};

export function setGrants(set: readonly Scope[], needed: Scope | 'any'): boolean {
  return needed === 'any' || set.includes(needed) || set.some((scope) => INCLUDES[scope] === needed);
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** `METHOD /url` as the app registers it, e.g. `DELETE /api/v1/tokens/:id`. */
export type RouteKey = `${string} /${string}`;

export function routeKey(route: Pick<RegisteredRoute, 'method' | 'url'>): RouteKey {
  return `${route.method} ${route.url}` as RouteKey;
}

/**
 * Every route of the app that takes credentials (`config.auth` set), read from the app's own
 * route table. The HEAD routes Fastify adds beside GET routes are left out.
 */
export async function listProtectedRoutes(): Promise<RegisteredRoute[]> {
  // Listing routes queries nothing; an empty in-memory database is only what building an app takes.
  const database = openDatabase('sqlite::memory:');
  try {
    const app = await createTestApp(database);
    await app.close();
    return app.routes.filter((route) => route.auth !== undefined && route.method !== 'HEAD');
  } finally {
    await database.close();
  }
}

export interface Caller {
  session: TestSession;
  /** A valid personal access token of the same account. */
  token: string;
  tokenId: string;
}

/** The default scopes and both admin scopes: what an administrator's caller token holds on admin routes. */
export const ADMIN_CALLER_SCOPES: readonly Scope[] = ['namespaces:read', 'namespaces:write', 'tokens:read', 'tokens:write', 'admin:read', 'admin:write'];

/** Signs an account in and mints it a token through the API (with `scopes`, holding exactly those). */
export async function prepareCaller(app: TestApp, options: { isAdmin?: boolean; scopes?: readonly Scope[] } = {}): Promise<Caller> {
  const session = await app.signIn({ isAdmin: options.isAdmin });
  const { token, secret } = await app.createToken(
    session,
    `caller-${randomUUID().slice(0, 8)}`,
    options.scopes ? { scopes: options.scopes } : {},
  );
  return { session, token: secret, tokenId: token.id };
}

/** How the suite aims a route at another account's resource (routes with a path parameter). */
export interface ForeignResource {
  /** The route's path naming a resource of another account. */
  url: string;
  /** Paths naming resources that do not exist (a random id, a malformed one). */
  missingUrls: string[];
  /** Checks that the other account's resource is as it was. */
  untouched(): Promise<void>;
}

/** The request the suite sends, built for a fresh app and caller. */
export interface PreparedRequest {
  /** The path with its parameters filled in; the registered URL when it has none. */
  url?: string;
  payload?: Record<string, unknown>;
  /** Required for a route with a path parameter. */
  foreign?: ForeignResource;
}

/** One entry of the per-route setup table. */
export interface RouteSetup {
  /**
   * The credentials the route must take, written out here so that a route whose `config.auth`
   * changes fails the suite instead of being tested against its new setting.
   */
  auth: AuthMode;
  /**
   * For routes tokens may call: the scope a token needs (`any`: every token may), written out
   * here so that a route whose `config.scope` changes fails the suite.
   */
  scope?: Scope | 'any';
  /** The status valid credentials of an accepted kind get: the control that the route is real. */
  successStatus: number;
  /**
   * The caller is an administrator (for routes only administrators may use). A route the app
   * marks `config.admin` must say so here; its caller's token then holds the admin scopes, a
   * non-administrator's session and token are checked to get R-FORBIDDEN, and, since an
   * administrator reaches every account's resources, its path parameter is checked with missing
   * and malformed ids only (`foreign.url` names a missing one too).
   */
  admin?: boolean;
  /** Options for the route's app (a failure limiter for the throttle routes); none by default. */
  appOptions?: () => TestAppOptions;
  /** The route answers success with an endless stream (Server-Sent Events). */
  stream?: boolean;
  /** The scopes the caller's token holds on this route (default: the default scopes, or ADMIN_CALLER_SCOPES on admin routes). */
  callerScopes?: readonly Scope[];
  prepare?(app: TestApp, caller: Caller): Promise<PreparedRequest> | PreparedRequest;
}

export type RouteSetupTable = Readonly<Record<RouteKey, RouteSetup>>;

/**
 * The whole suite: first that the table and the app agree (every protected route has an entry,
 * every entry names a protected route, each route takes the credentials its entry expects),
 * then the security tests for every route with an entry, on both backends.
 */
export function describeProtectedRoutes(routes: readonly RegisteredRoute[], table: RouteSetupTable): void {
  describe('the protected-route setup table', () => {
    it('has an entry for every route the app registers with credentials', () => {
      expect(routes.length, 'the app lists no protected route: is App.routes still filled?').toBeGreaterThan(0);
      const missing = routes.filter((route) => !(routeKey(route) in table)).map((route) => `${routeKey(route)} (${route.auth})`);
      expect(missing, 'protected routes the suite cannot run on: give each an entry').toEqual([]);
    });

    it('names only routes the app registers with credentials', () => {
      const registered = new Set(routes.map(routeKey));
      const stale = Object.keys(table).filter((key) => !registered.has(key as RouteKey));
      expect(stale, 'entries for routes the app does not register, or registers without credentials').toEqual([]);
    });

    it('expects of each route the credentials the route declares', () => {
      const covered = routes.filter((route) => routeKey(route) in table);
      const declared = Object.fromEntries(covered.map((route) => [routeKey(route), route.auth]));
      const expected = Object.fromEntries(covered.map((route) => [routeKey(route), table[routeKey(route)]!.auth]));
      expect(declared).toEqual(expected);
    });

    it('expects of each route the scope the route declares', () => {
      const covered = routes.filter((route) => routeKey(route) in table);
      const declared = Object.fromEntries(covered.map((route) => [routeKey(route), route.scope]));
      const expected = Object.fromEntries(covered.map((route) => [routeKey(route), table[routeKey(route)]!.scope]));
      expect(declared).toEqual(expected);
      for (const route of covered) {
        if (route.auth !== 'session') expect(route.scope, `${routeKey(route)} takes tokens: it must declare a scope`).toBeDefined();
      }
    });

    it("says admin: true of every administrators' route, which needs admin:read (reads) or admin:write (changes)", () => {
      const adminRoutes = routes.filter((route) => route.admin);
      const unmarked = adminRoutes.filter((route) => table[routeKey(route)]?.admin !== true).map(routeKey);
      expect(unmarked, "administrators' routes whose entry does not say admin: true").toEqual([]);
      const scopes = Object.fromEntries(adminRoutes.map((route) => [routeKey(route), route.scope]));
      const expected = Object.fromEntries(
        adminRoutes.map((route) => [routeKey(route), route.auth === 'session' ? undefined : SAFE_METHODS.has(route.method) ? 'admin:read' : 'admin:write']),
      );
      expect(scopes).toEqual(expected);
    });
  });

  describeEachBackend('protected routes', (ctx) => {
    for (const route of routes) {
      const setup = table[routeKey(route)];
      if (setup) describeRoute(route, setup, ctx);
    }
  });
}

interface Fixture {
  app: TestApp;
  backend: Pick<BackendContext, 'dialect' | 'exec'>;
  /** The account whose credentials the suite varies. */
  caller: Caller;
  method: HTTPMethods;
  url: string;
  payload?: Record<string, unknown>;
  foreign?: ForeignResource;
  /** The route answers success with a stream that does not end (Server-Sent Events). */
  stream?: boolean;
}

/** `expires_at` one second before the database clock: the token has just expired. */
export async function expireToken(backend: Pick<BackendContext, 'dialect' | 'exec'>, tokenId: string): Promise<void> {
  await setTokenExpiresIn(backend, tokenId, -1000);
}

/**
 * `expires_at` = the database clock + `offsetMs` (negative: already expired); returns the value
 * written, in epoch milliseconds.
 */
export async function setTokenExpiresIn(
  backend: Pick<BackendContext, 'dialect' | 'exec'>,
  tokenId: string,
  offsetMs: number,
): Promise<number> {
  const dbNowMs =
    backend.dialect === 'sqlite'
      ? sql`cast(unixepoch('subsec') * 1000 as integer)`
      : sql`(extract(epoch from clock_timestamp()) * 1000)::bigint`;
  const rows = (await backend.exec(
    sql`update tokens set expires_at = ${dbNowMs} + ${Math.round(offsetMs)} where id = ${tokenId} returning expires_at`,
  )) as Array<{ expires_at: number | string }>;
  if (rows.length !== 1) throw new Error(`no token ${tokenId}`);
  return Number(rows[0]!.expires_at);
}

/** A token with a correct checksum that was never issued. */
export function unknownWellFormedToken(): string {
  return formatToken(randomBytes(32));
}

/**
 * `checked` followed by its CRC-32 as 6 base62 characters, computed here rather than by the
 * contract's codec: builds near-miss tokens whose checksum is right.
 */
export function withChecksum(checked: string): string {
  let value = crc32(checked);
  let out = '';
  for (let place = 0; place < 6; place++) {
    out = BASE62_ALPHABET[value % 62] + out;
    value = Math.floor(value / 62);
  }
  return checked + out;
}

async function send(fixture: Fixture, headers: Record<string, string>, url = fixture.url): Promise<LightMyRequestResponse> {
  if (fixture.stream) return sendToStream(fixture, headers, url);
  return fixture.app.http.inject({
    method: fixture.method,
    url,
    headers,
    ...(fixture.payload ? { payload: fixture.payload } : {}),
  });
}

/**
 * A route that answers with an endless stream: the answer is taken as soon as its head arrives;
 * a success's stream is dropped (the app's close ends it), a refusal's body is read whole.
 */
async function sendToStream(fixture: Fixture, headers: Record<string, string>, url: string): Promise<LightMyRequestResponse> {
  const response = await fixture.app.http.inject({ method: fixture.method, url, headers, payloadAsStream: true });
  const stream = response.stream();
  let body = '';
  if (response.statusCode < 300) {
    stream.destroy();
  } else {
    for await (const chunk of stream) body += String(chunk);
  }
  return { statusCode: response.statusCode, headers: response.headers, body } as unknown as LightMyRequestResponse;
}

/** The suite for one route; each test builds a new app over the test's empty database. */
function describeRoute(route: RegisteredRoute, setup: RouteSetup, backend: BackendContext): void {
  const key = routeKey(route);
  const namesResource = route.url.includes('/:');

  describe(key, () => {
    let app: TestApp | undefined;
    const setUp = async (): Promise<Fixture> => {
      app = await createTestApp(backend.database, setup.appOptions?.());
      const caller = await prepareCaller(app, { isAdmin: setup.admin, scopes: setup.callerScopes ?? (route.admin ? ADMIN_CALLER_SCOPES : undefined) });
      const prepared = (await setup.prepare?.(app, caller)) ?? {};
      const url = prepared.url ?? route.url;
      if (url.includes('/:')) throw new Error(`${key}: prepare() must fill the path parameters (got ${url})`);
      if (namesResource && !prepared.foreign) throw new Error(`${key} names a resource: prepare() must give \`foreign\``);
      return { app, backend, caller, method: route.method as HTTPMethods, url, payload: prepared.payload, foreign: prepared.foreign, stream: setup.stream };
    };
    afterEach(async () => {
      await app?.close();
      app = undefined;
    });

    it('answers no credentials with exactly R-NOAUTH', async () => {
      const f = await setUp();
      expectResponseCode(await send(f, {}), 'R-NOAUTH');
    });

    it('answers unsupported schemes (Basic, Token) with R-NOAUTH', async () => {
      const f = await setUp();
      expectResponseCode(await send(f, { authorization: 'Basic dXNlcjpwYXNz' }), 'R-NOAUTH');
      expectResponseCode(await send(f, { authorization: `Token ${f.caller.token}` }), 'R-NOAUTH');
    });

    it('answers a malformed Bearer header with R-BADREQ', async () => {
      const f = await setUp();
      const { token } = f.caller;
      for (const value of ['Bearer', 'Bearer ', `Bearer\t${token}`, `Bearer ${token} extra`]) {
        expectResponseCode(await send(f, { authorization: value }), 'R-BADREQ');
      }
    });

    it('answers malformed, unknown, revoked and disabled-account tokens with byte-identical R-INVALID', async () => {
      const f = await setUp();
      const { app, caller } = f;
      const other = await prepareCaller(app);
      const revoked = await app.createToken(caller.session, 'to-revoke');
      const revokedResponse = await app.http.inject({
        method: 'DELETE',
        url: `/api/v1/tokens/${revoked.token.id}`,
        headers: caller.session.headers,
      });
      expect(revokedResponse.statusCode).toBe(204);
      await app.services.accounts.disable(other.session.account.id, SYSTEM_ACTOR);

      const presented = {
        malformed: 'lk_pat_1notatoken',
        crcMismatch: caller.token.slice(0, -1) + (caller.token.endsWith('A') ? 'B' : 'A'),
        unknown: unknownWellFormedToken(),
        revoked: revoked.secret,
        disabledAccount: other.token,
      };
      const responses = [];
      for (const [label, token] of Object.entries(presented)) {
        const response = await send(f, bearer(token));
        expectResponseCode(response, 'R-INVALID');
        responses.push({ label, ...comparable(response) });
      }
      const [first, ...rest] = responses;
      for (const response of rest) expect({ ...response, label: first!.label }).toEqual(first);
    });

    it('answers an expired token with R-EXPIRED', async () => {
      const f = await setUp();
      await expireToken(f.backend, f.caller.tokenId);
      expectResponseCode(await send(f, bearer(f.caller.token)), 'R-EXPIRED');
    });

    it('treats a valid personal access token as the route says', async () => {
      const f = await setUp();
      const response = await send(f, bearer(f.caller.token));
      if (setup.auth === 'session') {
        expectResponseCode(response, 'R-SCOPE');
      } else {
        expect(response.statusCode, response.body).toBe(setup.successStatus);
        expect(response.headers['latchkey-token-expires-at']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      }
    });

    if (setup.auth !== 'session') {
      it('answers tokens of every scope set as the route\'s scope says (item 44)', async () => {
        const needed = setup.scope!;
        app = await createTestApp(backend.database, setup.appOptions?.());
        // An administrator, so tokens holding admin scopes can be made too.
        const caller = await prepareCaller(app, { isAdmin: true });
        for (const set of SCOPE_SETS) {
          const { secret } = await app.createToken(caller.session, `scopes-${randomUUID().slice(0, 8)}`, { scopes: set });
          const prepared = (await setup.prepare?.(app, { ...caller, token: secret })) ?? {};
          const f: Fixture = {
            app,
            backend,
            caller,
            method: route.method as HTTPMethods,
            url: prepared.url ?? route.url,
            payload: prepared.payload,
            foreign: prepared.foreign,
            stream: setup.stream,
          };
          const response = await send(f, bearer(secret));
          const label = `${key} with [${set.join(' ')}]`;
          if (setGrants(set, needed)) expect(response.statusCode, `${label}: ${response.body}`).toBe(setup.successStatus);
          else expectScopeRefusal(response, needed);
        }
      });
    }

    it('treats a console session as the route says', async () => {
      const f = await setUp();
      const response = await send(f, f.caller.session.headers);
      if (setup.auth === 'token') {
        expectResponseCode(response, 'R-NOAUTH');
      } else {
        expect(response.statusCode, response.body).toBe(setup.successStatus);
      }
    });

    if (setup.auth !== 'token' && !SAFE_METHODS.has(route.method)) {
      it('refuses a console mutation without its CSRF token or from another site with R-CSRF, changing nothing', async () => {
        const f = await setUp();
        const { headers } = f.caller.session;
        const { 'x-csrf-token': _csrf, ...withoutCsrf } = headers;
        const variants: Array<[string, Record<string, string>]> = [
          ['no CSRF token', withoutCsrf],
          ['another CSRF token', { ...headers, 'x-csrf-token': randomBytes(32).toString('base64url') }],
          ['another Origin', { ...headers, origin: 'https://evil.example' }],
          ['Sec-Fetch-Site: cross-site', { ...headers, 'sec-fetch-site': 'cross-site' }],
        ];
        for (const [label, variant] of variants) {
          const response = await send(f, variant);
          expect(response.statusCode, `${label}: ${response.body}`).toBe(403);
          expectResponseCode(response, 'R-CSRF');
        }
        // Nothing was done: the same request, properly made, still succeeds (a create that had
        // gone through would now conflict on its name; a delete would find nothing).
        const proper = await send(f, headers);
        expect(proper.statusCode, proper.body).toBe(setup.successStatus);
      });
    }

    if (route.admin) {
      it("refuses a non-administrator's session and token, and a demoted administrator's, with R-FORBIDDEN (item 49)", async () => {
        const f = await setUp();
        const outsider = await prepareCaller(f.app);
        for (const [label, headers] of [
          ['session', outsider.session.headers],
          ['token', bearer(outsider.token)],
        ] as const) {
          const response = await send(f, headers);
          expect(response.statusCode, `non-administrator's ${label}: ${response.body}`).toBe(403);
          expectResponseCode(response, 'R-FORBIDDEN');
        }
        // The caller loses administration: the same session and admin-scoped token stop working at once.
        const other = await f.app.signIn({ isAdmin: true });
        const demote = await f.app.http.inject({
          method: 'PATCH',
          url: `/api/v1/admin/accounts/${f.caller.session.account.id}`,
          headers: other.headers,
          payload: { isAdmin: false },
        });
        expect(demote.statusCode, demote.body).toBe(200);
        for (const [label, headers] of [
          ['session', f.caller.session.headers],
          ['token', bearer(f.caller.token)],
        ] as const) {
          const response = await send(f, headers);
          expect(response.statusCode, `demoted administrator's ${label}: ${response.body}`).toBe(403);
          expectResponseCode(response, 'R-FORBIDDEN');
        }
      });
    }

    if (!namesResource) return;
    if (route.admin) {
      it('answers a missing or malformed id with the same R-404, changing nothing', async () => {
        const f = await setUp();
        const foreign = f.foreign!;
        const credentials = setup.auth === 'token' ? bearer(f.caller.token) : f.caller.session.headers;
        const first = await send(f, credentials, foreign.url);
        expectResponseCode(first, 'R-404');
        for (const url of foreign.missingUrls) {
          const missing = await send(f, credentials, url);
          expect(comparable(missing)).toEqual(comparable(first));
          expect((await send(f, bearer(f.caller.token), url)).body).toBe(first.body);
        }
        await foreign.untouched();
      });
      return;
    }
    it("answers another account's resource with the same 404 as a missing one", async () => {
      const f = await setUp();
      const foreign = f.foreign!;
      const credentials = setup.auth === 'token' ? bearer(f.caller.token) : f.caller.session.headers;
      const theirs = await send(f, credentials, foreign.url);
      expectResponseCode(theirs, 'R-404');
      for (const url of foreign.missingUrls) {
        const missing = await send(f, credentials, url);
        expect(comparable(missing)).toEqual(comparable(theirs));
      }
      if (setup.auth === 'either') {
        const withToken = await send(f, bearer(f.caller.token), foreign.url);
        expectResponseCode(withToken, 'R-404');
        expect(withToken.body).toBe(theirs.body);
      }
      await foreign.untouched();
    });
  });
}
