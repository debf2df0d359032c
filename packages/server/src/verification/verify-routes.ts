/**
 * `GET /api/v1/verify`: forward auth for a proxy in front of another service (nginx
 * `auth_request`, Caddy `forward_auth`; docs/forward-auth.md). Any valid token may be verified;
 * `?scope=` and `?namespace=` say what the protected location demands of it. 204 with the
 * identity headers, or the error contract's 401/403 with its challenge — which the proxy passes
 * to the client, so it sees the real reason.
 */
import { IDENTITY_HEADERS, verifyQuerySchema } from '@latchkey/contract';
import { tokenPrincipalOf } from '../http/principal.js';
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
      reply
        .header(IDENTITY_HEADERS.accountId, account.id)
        .header(IDENTITY_HEADERS.tokenId, token.id)
        .header(IDENTITY_HEADERS.tokenScopes, token.scopes.join(' '));
      // The hook has set latchkey-token-expires-at (IDENTITY_HEADERS.tokenExpiresAt) already.
      // Always sent, empty for an account without one: a proxy copying headers from this answer
      // then overwrites whatever the client sent (Caddy 2.6 would pass a literal placeholder on
      // for a header missing here).
      reply.header(IDENTITY_HEADERS.accountEmail, account.email === null ? '' : headerSafe(account.email));
      return reply.code(204).send();
    },
  );
}
