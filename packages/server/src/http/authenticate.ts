/**
 * Authentication and CSRF, decided once per request in an `onRequest` hook (before any body
 * is read) from the route's `config.auth`:
 *
 *   'token'    a personal access token in `Authorization: Bearer` only
 *   'session'  a console session cookie only; a valid PAT here is R-SCOPE
 *   'either'   a bearer token if one is sent, otherwise the session cookie
 *
 * A session cookie is never accepted where a token is required, and vice versa. Cookie-
 * authenticated mutations must carry the session's CSRF token and come from this origin.
 */
import { CSRF_HEADER, SESSION_COOKIE, TOKEN_EXPIRES_AT_HEADER } from '@latchkey/contract';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type Actor, type Domain } from '../domain/index.js';
import { MALFORMED_TOKEN, tooManyFailures } from '../domain/tokens.js';
import { csrfTokenMatches } from '../domain/sessions.js';
import type { AccountRecord, TokenRecord } from '../store/store.js';
import { countAuthorizationHeaders, parseAuthorizationHeader } from './authorization-header.js';
import { sendAppError } from './error-handler.js';
import type { FailureLimiter } from './failure-limiter.js';

export type AuthMode = 'token' | 'session' | 'either';

export type Principal =
  | { kind: 'token'; account: AccountRecord; token: TokenRecord; dbNow: number }
  | { kind: 'session'; account: AccountRecord; csrfToken: string; sessionId: string };

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route; routes without it are public. */
    auth?: AuthMode;
  }
  interface FastifyRequest {
    /** Set by the authentication hook on every route with `config.auth`. */
    principal: Principal | null;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Failures that spend an address's budget: a presented token that did not work. */
const COUNTED_FAILURES = new Set(['INVALID_TOKEN', 'TOKEN_EXPIRED']);

export function registerAuthentication(
  app: FastifyInstance,
  deps: { domain: Domain; publicOrigin: string; failureLimiter?: FailureLimiter },
): void {
  const { domain, publicOrigin, failureLimiter: limiter } = deps;

  /** Authentication behind the per-address failure budget. */
  async function authenticateLimited(limiter: FailureLimiter, presented: string, ip: string) {
    const verdict = await limiter.check(ip);
    if (verdict.retryAfterSeconds > 0) throw tooManyFailures(verdict.retryAfterSeconds);
    try {
      const authenticated = await domain.tokens.authenticate(presented, ip, limiter.countsInDatabase ? ip : undefined);
      if (verdict.hasFailures || authenticated.clientHasFailures) await limiter.recordSuccess(ip);
      return authenticated;
    } catch (error) {
      if (error instanceof AppError && COUNTED_FAILURES.has(error.code)) {
        await limiter.recordFailure(ip, { reachedDatabase: error.logReason !== MALFORMED_TOKEN });
      }
      throw error;
    }
  }
  app.decorateRequest('principal', null);

  app.addHook('onRequest', async (request, reply) => {
    const mode = request.routeOptions.config.auth;
    if (!mode) return;
    reply.header('cache-control', 'no-store');
    try {
      await authenticate(request, reply, mode);
    } catch (error) {
      // A refusal is answered here rather than thrown through Fastify's error path: it is
      // what a flood of bad tokens costs, request after request.
      if (!(error instanceof AppError)) throw error;
      return sendAppError(request, reply, error);
    }
  });

  async function authenticate(request: FastifyRequest, reply: FastifyReply, mode: AuthMode): Promise<void> {
    if (countAuthorizationHeaders(request.raw.rawHeaders) > 1) {
      throw new AppError('INVALID_REQUEST', undefined, { logReason: 'duplicate_authorization' });
    }
    const header = parseAuthorizationHeader(request.headers.authorization);
    if (header.kind === 'malformed') {
      throw new AppError('INVALID_REQUEST', undefined, { logReason: 'malformed_authorization' });
    }
    if (header.kind === 'bearer') {
      if (hasQueryAccessToken(request)) {
        throw new AppError('INVALID_REQUEST', undefined, { logReason: 'credentials_in_header_and_query' });
      }
      const { account, token, dbNow } = limiter
        ? await authenticateLimited(limiter, header.token, request.ip)
        : await domain.tokens.authenticate(header.token, request.ip);
      request.principal = { kind: 'token', account, token, dbNow };
      reply.header(TOKEN_EXPIRES_AT_HEADER, new Date(token.expiresAt).toISOString());
      if (mode === 'session') throw new AppError('INSUFFICIENT_SCOPE');
      return;
    }

    const sessionId = mode === 'token' ? undefined : request.cookies[SESSION_COOKIE];
    const session = sessionId ? await domain.sessions.authenticate(sessionId) : undefined;
    if (!session || !sessionId) throw new AppError('UNAUTHENTICATED');
    request.principal = { kind: 'session', account: session.account, csrfToken: session.csrfToken, sessionId };
    if (!SAFE_METHODS.has(request.method)) checkCsrf(request, session.csrfToken, publicOrigin);
  }
}

/**
 * Cross-site mutation defence for cookie-authenticated requests: the request must come from
 * this origin, and carry the session's CSRF token (only our own pages can read it), sent as the
 * X-CSRF-Token header — or, for the plain HTML forms of sign-in, passed in as `presented`.
 */
export function checkCsrf(
  request: FastifyRequest,
  csrfToken: string,
  publicOrigin: string,
  presented: unknown = request.headers[CSRF_HEADER],
): void {
  checkSameOrigin(request, publicOrigin);
  if (!csrfTokenMatches(csrfToken, typeof presented === 'string' ? presented : undefined)) {
    throw new AppError('CSRF_REJECTED', `A valid ${CSRF_HEADER} header is required.`);
  }
}

/**
 * What the browser says about where a request comes from (`Sec-Fetch-Site`, `Origin`) must be
 * us. Also guards sign-in POSTs, which have no session yet (login CSRF).
 */
export function checkSameOrigin(request: FastifyRequest, publicOrigin: string): void {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    throw new AppError('CSRF_REJECTED', 'Cross-site requests are refused.');
  }
  const origin = request.headers.origin;
  // A form on a page served with `Referrer-Policy: no-referrer` is posted with `Origin: null`;
  // the browser's own Sec-Fetch-Site (which page scripts cannot set) then vouches for it.
  const opaqueButSameOrigin = origin === 'null' && site === 'same-origin';
  if (origin !== undefined && !opaqueButSameOrigin && origin !== publicOrigin && origin !== requestOrigin(request)) {
    throw new AppError('CSRF_REJECTED', 'Requests from another origin are refused.');
  }
}

function requestOrigin(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

function hasQueryAccessToken(request: FastifyRequest): boolean {
  const query = request.query as Record<string, unknown> | undefined;
  return query !== undefined && query !== null && Object.hasOwn(query, 'access_token');
}

/** The principal of an authenticated route; the hook guarantees it is set. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('route without config.auth asked for a principal');
  return request.principal;
}

export function actorOf(request: FastifyRequest): Actor {
  const principal = principalOf(request);
  return {
    accountId: principal.account.id,
    tokenId: principal.kind === 'token' ? principal.token.id : null,
    ip: request.ip,
  };
}

/** The principal of a route that accepts only tokens. */
export function tokenPrincipalOf(request: FastifyRequest): Extract<Principal, { kind: 'token' }> {
  const principal = principalOf(request);
  if (principal.kind !== 'token') throw new Error('route without config.auth "token" asked for a token');
  return principal;
}
