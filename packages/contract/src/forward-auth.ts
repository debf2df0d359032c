/**
 * Forward auth (docs/forward-auth.md): `GET /api/v1/verify` answers a proxy (nginx
 * `auth_request`, Caddy `forward_auth`) whether the request's token may pass, and who it is.
 */
import { z } from 'zod';
import { NAMESPACE_NAME_PATTERN } from './schemas.js';
import { TOKEN_SCOPES } from './scopes.js';

export const verifyQuerySchema = z.object({
  scope: z
    .enum(TOKEN_SCOPES, { error: `must be one of ${TOKEN_SCOPES.join(', ')}` })
    .optional()
    .describe('A scope the token must hold (write scopes include their read scope).'),
  namespace: z
    .string()
    .regex(NAMESPACE_NAME_PATTERN, 'must be a namespace name (a DNS-1123 label)')
    .optional()
    .describe("A namespace the token's restriction must cover."),
});
export type VerifyQuery = z.infer<typeof verifyQuerySchema>;

/** The identity headers a successful verification carries, for the proxy to pass upstream. */
export const IDENTITY_HEADERS = {
  accountId: 'latchkey-account-id',
  accountEmail: 'latchkey-account-email',
  tokenId: 'latchkey-token-id',
  tokenScopes: 'latchkey-token-scopes',
  tokenExpiresAt: 'latchkey-token-expires-at',
} as const;
