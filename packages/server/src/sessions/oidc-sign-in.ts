/**
 * Sign-in with an OpenID Connect provider (Google, Okta, Keycloak, Dex, GitLab, Entra ID …):
 * authorization code flow with PKCE, state and nonce, through openid-client.
 *
 * The flow in progress is stored server-side (any instance can finish what another started)
 * under the SHA-256 of its `state`, and bound to the browser that started it by a random value
 * in a short-lived cookie, so a callback URL replayed in another browser (login CSRF) fails.
 */
import * as client from 'openid-client';
import { AppError } from '../kernel/app-error.js';
import type { Clock } from '../kernel/clock.js';
import { secretsEqual, sha256 } from '../kernel/secrets.js';
import type { SignInStore } from './sign-in-store.js';

export const LOGIN_FLOW_TTL_MS = 10 * 60_000;
export const OIDC_CALLBACK_PATH = '/auth/oidc/callback';

export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret: string | undefined;
  /** Where the provider sends the browser back: PUBLIC_URL + /auth/oidc/callback. */
  redirectUri: string;
}

/** The provider could not be reached: a page saying so, not a 500. */
export class OidcProviderUnavailableError extends Error {
  constructor(cause: unknown) {
    super('the OpenID Connect provider is unavailable', { cause });
    this.name = 'OidcProviderUnavailableError';
  }
}

export interface OidcClaims {
  issuer: string;
  subject: string;
  email: string | null;
  emailVerified: boolean;
  name: string | null;
}

export interface OidcSignIn {
  /** A short label for the sign-in button: the provider's host. */
  readonly providerLabel: string;
  /** Begins a sign-in: where to send the browser, and the value for the browser-binding cookie. */
  start(returnTo: string): Promise<{ authorizationUrl: string; browserSecret: string }>;
  /** Completes it from the callback URL; throws INVALID_GRANT for anything wrong or replayed. */
  complete(callbackUrl: URL, browserSecret: string | undefined): Promise<{ claims: OidcClaims; returnTo: string }>;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export function createOidcSignIn(deps: { store: SignInStore; clock: Clock; settings: OidcSettings }): OidcSignIn {
  const { store, clock, settings } = deps;
  let configuration: Promise<client.Configuration> | undefined;

  /** Discovery, cached once it succeeds; retried on the next sign-in if it failed. */
  function discover(): Promise<client.Configuration> {
    configuration ??= (async () => {
      const issuer = new URL(settings.issuer);
      const insecure = issuer.protocol === 'http:';
      if (insecure && !LOOPBACK_HOSTS.has(issuer.hostname)) {
        throw new Error('OIDC_ISSUER must use https (plain http is allowed only on loopback, for testing)');
      }
      const auth = settings.clientSecret ? client.ClientSecretPost(settings.clientSecret) : client.None();
      return client.discovery(issuer, settings.clientId, undefined, auth, {
        execute: insecure ? [client.allowInsecureRequests] : [],
        timeout: 10,
      });
    })().catch((error: unknown) => {
      configuration = undefined;
      throw new OidcProviderUnavailableError(error);
    });
    return configuration;
  }

  return {
    providerLabel: new URL(settings.issuer).host,

    async start(returnTo) {
      const config = await discover();
      const codeVerifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      const browserSecret = client.randomState();
      const now = clock.now();
      await store.insertLoginFlow(sha256(state), {
        browserDigest: sha256(browserSecret),
        codeVerifier,
        nonce,
        returnTo,
        createdAt: now,
        expiresAt: now + LOGIN_FLOW_TTL_MS,
      });
      const authorizationUrl = client.buildAuthorizationUrl(config, {
        redirect_uri: settings.redirectUri,
        scope: 'openid email profile',
        response_type: 'code',
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      });
      return { authorizationUrl: authorizationUrl.href, browserSecret };
    },

    async complete(callbackUrl, browserSecret) {
      const state = callbackUrl.searchParams.get('state');
      if (!state || !browserSecret) throw failed('missing state or browser binding');
      // Consumed first: a flow can be completed once, so a replayed callback fails here.
      const flow = await store.consumeLoginFlow(sha256(state));
      if (!flow) throw failed('unknown, used or expired state');
      if (!secretsEqual(sha256(browserSecret), flow.browserDigest)) throw failed('flow started in another browser');
      const config = await discover();
      let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
      try {
        tokens = await client.authorizationCodeGrant(config, callbackUrl, {
          pkceCodeVerifier: flow.codeVerifier,
          expectedState: state,
          expectedNonce: flow.nonce,
          idTokenExpected: true,
        });
      } catch (error) {
        if (isProtocolError(error)) throw failed(`provider refused: ${(error as Error).message}`, error);
        throw new OidcProviderUnavailableError(error);
      }
      const idClaims = tokens.claims();
      if (!idClaims) throw failed('no ID token');
      // Many providers put email and name only behind the UserInfo endpoint (openid-client
      // checks that its `sub` is the ID token's).
      let userInfo: Record<string, unknown> = {};
      if ((idClaims.email === undefined || idClaims.name === undefined) && config.serverMetadata().userinfo_endpoint) {
        try {
          userInfo = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);
        } catch (error) {
          if (isProtocolError(error)) throw failed(`userinfo refused: ${(error as Error).message}`, error);
          throw new OidcProviderUnavailableError(error);
        }
      }
      // `email` and `email_verified` are one statement, so both come from one source: the ID
      // token when it carries an email, else UserInfo. Mixing them would let one source's
      // "verified" vouch for the other's address.
      const emailSource = typeof idClaims.email === 'string' ? idClaims : userInfo;
      const email = typeof emailSource.email === 'string' ? emailSource.email : null;
      const name = [idClaims.name, userInfo.name].find((value) => typeof value === 'string');
      return {
        returnTo: flow.returnTo,
        claims: {
          issuer: idClaims.iss,
          subject: idClaims.sub,
          email,
          emailVerified: email !== null && emailSource.email_verified === true,
          name: typeof name === 'string' ? name : null,
        },
      };
    },
  };
}

/** Errors in which the provider or the checks said no, as opposed to the network failing. */
function isProtocolError(error: unknown): boolean {
  return (
    error instanceof client.ResponseBodyError ||
    error instanceof client.AuthorizationResponseError ||
    error instanceof client.WWWAuthenticateChallengeError ||
    (error instanceof client.ClientError && typeof error.code === 'string' && error.code.startsWith('OAUTH_'))
  );
}

function failed(reason: string, cause?: unknown): AppError {
  return new AppError('INVALID_GRANT', 'The sign-in could not be completed. Please start again.', {
    logReason: `oidc: ${reason}`,
    cause,
  });
}
