/**
 * `GET /api/v1/verify`: forward auth for a proxy in front of another service (nginx
 * `auth_request`, Caddy `forward_auth`; docs/forward-auth.md). Any valid token may be verified;
 * `?scope=` and `?namespace=` say what the protected location demands of it. 204 with the
 * identity headers, or the error contract's 401/403 with its challenge — which the proxy passes
 * to the client, so it sees the real reason.
 */
import { IDENTITY_HEADERS, verifyQuerySchema } from '@latchkey/contract';
import type { AccountRecord } from '../accounts/account.js';
import type { FastRoute } from '../http/fast-path.js';
import { tokenPrincipalOf } from '../http/principal.js';
import type { TokenRecord } from '../tokens/token.js';
import type { ZodApp } from '../http/zod-app.js';
import { checkForwardAuthDemand } from './forward-auth.js';

/** An email as a header value: ASCII as it is; anything else percent-encoded (headers are Latin-1). */
function headerSafe(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
}

export function registerVerifyRoutes(app: ZodApp): void {
  app.get(
    '/api/v1/verify',
    {
      config: { auth: 'token', scope: 'any' },
      schema: {
        summary: 'Forward auth: whether the token may pass (and optionally holds a scope, may touch a namespace); who it is, in headers',
        tags: ['verification'],
        querystring: verifyQuerySchema,
      },
    },
    async (request, reply) => {
      const { account, token } = tokenPrincipalOf(request);
      checkForwardAuthDemand(token, request.query);
      return reply.code(204).headers(identityHeaders(account, token)).send();
    },
  );
}

/** `GET /api/v1/verify` without a demand, as the fast path answers it for a token (http/fast-path.ts). */
export const verifyFastRoute: FastRoute = {
  path: '/api/v1/verify',
  answer: (account, token) => ({ status: 204, headers: identityHeaders(account, token) }),
};

/**
 * The identity headers of a 204. The
 * authentication hook sets latchkey-token-expires-at (IDENTITY_HEADERS.tokenExpiresAt).
 */
export function identityHeaders(account: Pick<AccountRecord, 'id' | 'email'>, token: Pick<TokenRecord, 'id' | 'scopes'>): Record<string, string> {
  return {
    [IDENTITY_HEADERS.accountId]: account.id,
    [IDENTITY_HEADERS.tokenId]: token.id,
    [IDENTITY_HEADERS.tokenScopes]: token.scopes.join(' '),
    // Always sent, empty for an account without one: a proxy copying headers from this answer
    // then overwrites whatever the client sent (Caddy 2.6 would pass a literal placeholder on
    // for a header missing here).
    [IDENTITY_HEADERS.accountEmail]: account.email === null ? '' : headerSafe(account.email),
  };
}
