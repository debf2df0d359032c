/** Who is calling an authenticated route, as the authentication hook (authenticate.ts) decided. */
import type { FastifyRequest } from 'fastify';
import type { AccountRecord } from '../accounts/account.js';
import type { Actor } from '../audit/audit-event.js';
import type { TokenRecord } from '../tokens/token.js';

export type Principal =
  | { kind: 'token'; account: AccountRecord; token: TokenRecord; dbNow: number }
  | { kind: 'session'; account: AccountRecord; csrfToken: string; sessionId: string };

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication hook on every route with `config.auth`. */
    principal: Principal | null;
  }
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

/** The namespaces the caller may touch: a token's restriction, or null (session, unrestricted token). */
export function namespaceRestrictionOf(request: FastifyRequest): readonly string[] | null {
  const principal = principalOf(request);
  return principal.kind === 'token' ? principal.token.namespaces : null;
}
