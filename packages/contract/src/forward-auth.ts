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

// ---------------------------------------------------------------------------------------------
// RFC 7662 introspection: `POST /api/v1/introspect`, for services holding the `introspect` scope.

export const introspectionRequestSchema = z
  .strictObject({
    token: z.string({ error: 'must be a string' }).max(4096, 'must be at most 4096 characters').describe('The token to check.'),
    token_type_hint: z.string().max(64).optional().describe('Ignored: Latchkey has one kind of token.'),
  })
  .describe('RFC 7662 §2.1; application/x-www-form-urlencoded as the RFC says, or JSON.');
export type IntrospectionRequest = z.infer<typeof introspectionRequestSchema>;

export const introspectionResponseSchema = z.union([
  z.object({
    active: z.literal(true),
    /** The token's scopes, space-separated (RFC 7662 §2.2). */
    scope: z.string(),
    /** The owner's account id. */
    sub: z.string(),
    /** The owner's email, or null. */
    username: z.string().nullable(),
    /** Expiry and issue time, in seconds since the epoch. */
    exp: z.number().int(),
    iat: z.number().int(),
    token_type: z.literal('Bearer'),
    token_id: z.string(),
    /** The namespace restriction (null: every namespace). */
    namespaces: z.array(z.string()).nullable(),
    /** The token's IP allowlist (null: anywhere): Latchkey cannot see the client here, so the caller enforces it. */
    allowed_ips: z.array(z.string()).nullable(),
  }),
  z.strictObject({ active: z.literal(false) }),
]);
export type IntrospectionResponse = z.infer<typeof introspectionResponseSchema>;
