/**
 * RFC 7662 token introspection, `POST /api/v1/introspect`, for a service holding the
 * `introspect` scope (typically a service account's token; docs/forward-auth.md): is this token
 * valid, and whose is it. An inactive token is exactly `{"active":false}`, whatever the reason.
 */
import { introspectionRequestSchema, introspectionResponseSchema, type IntrospectionResponse } from '@latchkey/contract';
import type { ZodApp } from '../http/zod-app.js';
import type { TokenService } from '../tokens/token-service.js';

const seconds = (epochMs: number) => Math.floor(epochMs / 1000);

/** Registered in a scope of its own: the form body the RFC prescribes is parsed only here. */
export function registerIntrospectionRoutes(app: ZodApp, { tokens }: { tokens: TokenService }): void {
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );

  app.post(
    '/api/v1/introspect',
    {
      config: { auth: 'token', scope: 'introspect' },
      schema: {
        summary: 'RFC 7662 introspection: whether a token is active, and whose it is',
        tags: ['verification'],
        body: introspectionRequestSchema,
        response: { 200: introspectionResponseSchema },
      },
    },
    async (request): Promise<IntrospectionResponse> => {
      const found = await tokens.introspect(request.body.token);
      if (!found) return { active: false };
      const { account, token } = found;
      return {
        active: true,
        scope: token.scopes.join(' '),
        sub: account.id,
        username: account.email,
        exp: seconds(token.expiresAt),
        iat: seconds(token.createdAt),
        token_type: 'Bearer',
        token_id: token.id,
        namespaces: token.namespaces,
        allowed_ips: token.allowedIps,
      };
    },
  );
}
