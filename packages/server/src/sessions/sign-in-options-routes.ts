/**
 * How a person signs in here, for the console's sign-in page (public, no credentials): the
 * OpenID Connect provider's label when one is configured, else `null` (one-time links only).
 */
import type { ZodApp } from '../http/zod-app.js';
import type { OidcSignIn } from './oidc-sign-in.js';

export interface SignInOptions {
  oidc: { label: string } | null;
}

export function registerSignInOptionsRoutes(app: ZodApp, { oidc }: { oidc: OidcSignIn | undefined }): void {
  app.get('/api/v1/sign-in-options', { schema: { hide: true } }, async (_request, reply): Promise<SignInOptions> => {
    reply.header('cache-control', 'no-store');
    return { oidc: oidc ? { label: oidc.providerLabel } : null };
  });
}
