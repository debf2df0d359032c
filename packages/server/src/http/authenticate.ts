/**
 * Authentication and CSRF, decided once per request in an `onRequest` hook (before any body
 * is read) from the route's `config.auth`:
 *
 *   'token'    a personal access token in `Authorization: Bearer` only
 *   'session'  a console session cookie only; a valid PAT here is R-SCOPE (403)
 *   'either'   a bearer token if one is sent, otherwise the session cookie
 *
 * A session cookie is never accepted where a token is required, and vice versa. Cookie-
 * authenticated mutations must carry the session's CSRF token and come from this origin.
 *
 * A route a token may call declares, beside `auth`, the scope it needs (`config.scope`, or
 * `'any'` for the routes every token may call: me, tokens/self); the same hook refuses a token
 * without it (R-SCOPE naming the scope). A console session holds every power of its account.
 *
 * A route for administrators only says so too (`config.admin: true`, the administration API): the
 * same hook answers 403 FORBIDDEN when the caller's account — as read for this very request, so a
 * demoted administrator's session and admin-scoped tokens stop working at once — is not an
 * administrator. That is checked before the token's scope: a non-administrator learns nothing
 * about which admin scope the route needs.
 */
import { SESSION_COOKIE, TOKEN_EXPIRES_AT_HEADER } from '@latchkey/contract';
import { grantsScope, type TokenScope } from '@latchkey/contract/scopes';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SessionService } from '../sessions/session-service.js';
import { AppError, insufficientScope } from '../kernel/app-error.js';
import type { TokenService } from '../tokens/token-service.js';
import { countAuthorizationHeaders, parseAuthorizationHeader } from './authorization-header.js';
import { checkCsrf } from './csrf.js';
import { sendAppError } from './error-handler.js';
import './principal.js';

export type AuthMode = 'token' | 'session' | 'either';
export type RouteScope = TokenScope | 'any';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route; routes without it are public. */
    auth?: AuthMode;
    /** For `token` and `either` routes: the scope a token needs, or `'any'` (every token may). */
    scope?: RouteScope;
    /** Only administrators may call the route (checked on every request, after authentication). */
    admin?: true;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function registerAuthentication(
  app: FastifyInstance,
  deps: { tokens: TokenService; sessions: SessionService; publicOrigin: string },
): void {
  const { tokens, sessions, publicOrigin } = deps;
  app.decorateRequest('principal', null);

  // Every route a token may call says which scope it needs: checked as routes are added, so a
  // route that forgot cannot even start.
  app.addHook('onRoute', (route) => {
    const auth = route.config?.auth;
    if ((auth === 'token' || auth === 'either') && route.config?.scope === undefined) {
      throw new Error(`${route.method} ${route.url}: a route tokens may call must declare config.scope`);
    }
    if (route.config?.admin && (!auth || (auth !== 'session' && route.config.scope !== 'admin:read' && route.config.scope !== 'admin:write'))) {
      throw new Error(`${route.method} ${route.url}: an administrators' route must take credentials and need admin:read or admin:write`);
    }
  });

  app.addHook('onRequest', async (request, reply) => {
    const mode = request.routeOptions.config.auth;
    if (!mode) return;
    reply.header('cache-control', 'no-store');
    try {
      const { scope, admin } = request.routeOptions.config;
      await authenticate(request, reply, mode, scope, admin === true);
    } catch (error) {
      // A refusal is answered here rather than thrown through Fastify's error path: it is
      // what a flood of bad tokens costs, request after request.
      if (!(error instanceof AppError)) throw error;
      return sendAppError(request, reply, error);
    }
  });

  async function authenticate(
    request: FastifyRequest,
    reply: FastifyReply,
    mode: AuthMode,
    scope: RouteScope | undefined,
    adminOnly: boolean,
  ): Promise<void> {
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
      const { account, token, dbNow } = await tokens.authenticate(header.token, request.ip);
      request.principal = { kind: 'token', account, token, dbNow };
      reply.header(TOKEN_EXPIRES_AT_HEADER, new Date(token.expiresAt).toISOString());
      if (mode === 'session') throw new AppError('INSUFFICIENT_SCOPE');
      if (adminOnly && !account.isAdmin) throw notAnAdministrator();
      // A token route without a declared scope is refused rather than open (the scope test
      // also fails on one, so this is never reached by a route that shipped).
      if (scope !== 'any' && (scope === undefined || !grantsScope(token.scopes, scope))) {
        throw insufficientScope(scope ?? 'undeclared');
      }
      return;
    }

    const sessionId = mode === 'token' ? undefined : request.cookies[SESSION_COOKIE];
    const session = sessionId ? await sessions.authenticate(sessionId) : undefined;
    if (!session || !sessionId) throw new AppError('UNAUTHENTICATED');
    request.principal = { kind: 'session', account: session.account, csrfToken: session.csrfToken, sessionId };
    if (adminOnly && !session.account.isAdmin) throw notAnAdministrator();
    if (!SAFE_METHODS.has(request.method)) checkCsrf(request, session.csrfToken, publicOrigin);
  }
}

function notAnAdministrator(): AppError {
  return new AppError('FORBIDDEN', 'Only administrators may use the administration API.');
}

function hasQueryAccessToken(request: FastifyRequest): boolean {
  const query = request.query as Record<string, unknown> | undefined;
  return query !== undefined && query !== null && Object.hasOwn(query, 'access_token');
}
