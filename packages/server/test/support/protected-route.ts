/**
 * The shared security suite every protected route runs (STYLE.md 6): missing, unsupported,
 * malformed, unknown, revoked, expired and disabled-account credentials, the wrong kind of
 * credential for the route, and another account's resource. Each route's own file then tests
 * only its own behaviour.
 *
 * The expected responses are written out here literally (SECURITY.md §1), not imported from
 * the server, so a drift in the server fails these tests.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { formatToken } from '@latchkey/contract/token';
import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/domain/index.js';
import { bearer, comparable, type TestApp, type TestSession } from './app.js';
import type { BackendContext } from './databases.js';

export const PROBLEM_BASE = '/docs/errors';

/** The SECURITY.md §1 rows the suites compare against, spelled out. */
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
  'R-404': { status: 404, challenge: undefined, type: `${PROBLEM_BASE}/not-found`, title: undefined, code: 'NOT_FOUND' },
  'R-409': { status: 409, challenge: undefined, type: `${PROBLEM_BASE}/conflict`, title: undefined, code: 'CONFLICT' },
  'R-422': { status: 422, challenge: undefined, type: `${PROBLEM_BASE}/validation-error`, title: undefined, code: 'VALIDATION_FAILED' },
  'R-400B': { status: 400, challenge: undefined, type: `${PROBLEM_BASE}/malformed-body`, title: undefined, code: 'MALFORMED_BODY' },
  'R-413': { status: 413, challenge: undefined, type: `${PROBLEM_BASE}/payload-too-large`, title: undefined, code: 'PAYLOAD_TOO_LARGE' },
  'R-415': { status: 415, challenge: undefined, type: `${PROBLEM_BASE}/unsupported-media-type`, title: undefined, code: 'UNSUPPORTED_MEDIA_TYPE' },
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
 * Asserts one SECURITY.md §1 row exactly: status, `WWW-Authenticate` (or its absence),
 * problem+json, body `type`/`title`/`status`/`code`. R-NOAUTH additionally has no `detail`.
 */
export function expectResponseCode(response: ResponseLike, code: ResponseCode): Record<string, unknown> {
  const expected = EXPECTED[code];
  const body = JSON.parse(response.body) as Record<string, unknown>;
  expect({ status: response.statusCode, code: body.code }, response.body).toEqual({ status: expected.status, code: expected.code });
  expect(response.headers['www-authenticate']).toBe(expected.challenge);
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

export type AuthMode = 'token' | 'session' | 'either';

export interface ProtectedRoute {
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  payload?: Record<string, unknown>;
  /** Which credentials the route takes (DESIGN.md §3). */
  auth: AuthMode;
  /** The status valid credentials of an accepted kind get: the control that the route is real. */
  successStatus: number;
}

export interface Caller {
  session: TestSession;
  /** A valid personal access token of the same account. */
  token: string;
  tokenId: string;
}

export interface ProtectedRouteFixture {
  app: TestApp;
  backend: Pick<BackendContext, 'dialect' | 'exec'>;
  /** The account whose credentials the suite varies. */
  caller: Caller;
  route: ProtectedRoute;
  /**
   * For a route that names a resource: the same request aimed at another account's resource,
   * at resources that do not exist, and a check that the foreign resource is untouched.
   */
  foreign?: { url: string; missingUrls: string[]; untouched(): Promise<void> };
}

/** Signs an account in and mints it a token through the API. */
export async function prepareCaller(app: TestApp): Promise<Caller> {
  const session = await app.signIn();
  const { token, secret } = await app.createToken(session, `caller-${randomUUID().slice(0, 8)}`);
  return { session, token: secret, tokenId: token.id };
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

function send(
  fixture: ProtectedRouteFixture,
  headers: Record<string, string>,
  url = fixture.route.url,
): Promise<LightMyRequestResponse> {
  const { route } = fixture;
  return fixture.app.http.inject({
    method: route.method,
    url,
    headers,
    ...(route.payload ? { payload: route.payload } : {}),
  });
}

/**
 * Registers the suite for one route. `prepare` runs before every test and returns a fresh
 * fixture (a new app over the test's empty database); the suite closes its app afterwards.
 * Routes with an id or name in the path pass `namesResource` and prepare `foreign`.
 */
export function runProtectedRouteTests(
  describeTitle: string,
  prepare: () => Promise<ProtectedRouteFixture>,
  options: { namesResource?: boolean } = {},
): void {
  describe(describeTitle, () => {
    let fixture: ProtectedRouteFixture | undefined;
    const setUp = async () => {
      fixture = await prepare();
      return fixture;
    };
    afterEach(async () => {
      await fixture?.app.close();
      fixture = undefined;
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
      await app.domain.accounts.disable(other.session.account.id, SYSTEM_ACTOR);

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
      if (f.route.auth === 'session') {
        expectResponseCode(response, 'R-SCOPE');
      } else {
        expect(response.statusCode, response.body).toBe(f.route.successStatus);
        expect(response.headers['latchkey-token-expires-at']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      }
    });

    it('treats a console session as the route says', async () => {
      const f = await setUp();
      const response = await send(f, f.caller.session.headers);
      if (f.route.auth === 'token') {
        expectResponseCode(response, 'R-NOAUTH');
      } else {
        expect(response.statusCode, response.body).toBe(f.route.successStatus);
      }
    });

    if (!options.namesResource) return;
    it("answers another account's resource with the same 404 as a missing one", async () => {
      const f = await setUp();
      if (!f.foreign) throw new Error('a route that names a resource must prepare `foreign`');
      const credentials = f.route.auth === 'token' ? bearer(f.caller.token) : f.caller.session.headers;
      const foreign = await send(f, credentials, f.foreign.url);
      expectResponseCode(foreign, 'R-404');
      for (const url of f.foreign.missingUrls) {
        const missing = await send(f, credentials, url);
        expect(comparable(missing)).toEqual(comparable(foreign));
      }
      if (f.route.auth === 'either') {
        const withToken = await send(f, bearer(f.caller.token), f.foreign.url);
        expectResponseCode(withToken, 'R-404');
        expect(withToken.body).toBe(foreign.body);
      }
      await f.foreign.untouched();
    });
  });
}
