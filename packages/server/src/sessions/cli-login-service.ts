/**
 * The CLI's browser login (RFC 8252, native apps over a loopback redirect, with PKCE):
 *
 *   CLI → browser:  GET /auth/cli?redirect_uri=http://127.0.0.1:<port>/callback&code_challenge=…&state=…&client_name=<host>
 *   user:           signs in if needed, then Allow on the consent page
 *   server → CLI:   302 to redirect_uri?code=<one-time code>&state=…   (60 s, single use)
 *   CLI → server:   POST /auth/cli/token {code, code_verifier, redirect_uri} → the token
 *
 * The token is minted at the exchange and travels only in that response body: never in a URL,
 * never stored (only the code's SHA-256 is, for 60 seconds).
 */
import type { CliTokenRequest } from '@latchkey/contract';
import type { Actor } from '../audit/audit-event.js';
import { AppError } from '../kernel/app-error.js';
import type { Clock } from '../kernel/clock.js';
import { newOneTimeSecret, pkceChallenge, secretsEqual, sha256 } from '../kernel/secrets.js';
import type { TokenService } from '../tokens/token-service.js';
import type { SignInStore } from './sign-in-store.js';

export const CLI_CODE_TTL_MS = 60_000;
const CODE_SHAPE = /^lk_code_[0-9a-f]{64}$/;
/** RFC 7636: a verifier is 43–128 unreserved characters; S256 challenges are 43 base64url. */
const VERIFIER_SHAPE = /^[A-Za-z0-9\-._~]{43,128}$/;
const CHALLENGE_SHAPE = /^[A-Za-z0-9_-]{43}$/;
const STATE_SHAPE = /^[\x21-\x7e]{1,256}$/;

export interface CliLoginRequest {
  redirectUri: string;
  codeChallenge: string;
  state: string;
  clientName: string;
}

/**
 * Checks the parameters the CLI put in the browser's URL. Only loopback redirect URIs over
 * http are accepted (RFC 8252 §7.3), so an approval can only ever go back to this machine.
 */
export function parseCliLoginRequest(query: Record<string, unknown>): CliLoginRequest {
  const text = (name: string) => (typeof query[name] === 'string' ? (query[name] as string) : '');
  const redirectUri = text('redirect_uri');
  if (!isLoopbackRedirect(redirectUri)) {
    throw new AppError('INVALID_REQUEST', 'redirect_uri must be http://127.0.0.1:<port>/… or http://[::1]:<port>/…');
  }
  if (text('code_challenge_method') !== 'S256' || !CHALLENGE_SHAPE.test(text('code_challenge'))) {
    throw new AppError('INVALID_REQUEST', 'a PKCE code_challenge with code_challenge_method=S256 is required');
  }
  if (!STATE_SHAPE.test(text('state'))) throw new AppError('INVALID_REQUEST', 'state is required');
  return {
    redirectUri,
    codeChallenge: text('code_challenge'),
    state: text('state'),
    clientName: cleanClientName(text('client_name')),
  };
}

export function isLoopbackRedirect(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (
    url.protocol === 'http:' &&
    (url.hostname === '127.0.0.1' || url.hostname === '[::1]') &&
    url.port !== '' &&
    url.username === '' &&
    url.password === '' &&
    url.hash === ''
  );
}

/** A loopback redirect to [::1], which a CSP source list cannot name (sign-in-routes.ts). */
export function isIpv6LoopbackRedirect(value: string): boolean {
  return isLoopbackRedirect(value) && new URL(value).hostname === '[::1]';
}

/** A host name for the token's name: printable, short, or "cli" when nothing usable came. */
function cleanClientName(value: string): string {
  const cleaned = value.replace(/[^A-Za-z0-9._-]/g, '').slice(0, 48);
  return cleaned || 'unknown-host';
}

export interface CliLoginService {
  /** The user pressed Allow: returns where to send the browser, carrying a one-time code. */
  approve(accountId: string, request: CliLoginRequest): Promise<string>;
  /** The user pressed Cancel. */
  denied(request: CliLoginRequest): string;
  /** The CLI exchanges code + verifier for a new token named `cli@<host>`. */
  exchange(
    input: CliTokenRequest,
    actor: Omit<Actor, 'accountId'>,
  ): Promise<{ token: string; id: string; name: string; expiresAt: number }>;
}

export function createCliLoginService(deps: { store: SignInStore; clock: Clock; tokens: TokenService }): CliLoginService {
  const { store, clock, tokens } = deps;

  function redirect(request: CliLoginRequest, params: Record<string, string>): string {
    const url = new URL(request.redirectUri);
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
    url.searchParams.set('state', request.state);
    return url.href;
  }

  return {
    async approve(accountId, request) {
      const code = newOneTimeSecret('lk_code_');
      const now = clock.now();
      await store.insertCliGrant(sha256(code), {
        accountId,
        codeChallenge: request.codeChallenge,
        redirectUri: request.redirectUri,
        clientName: request.clientName,
        createdAt: now,
        expiresAt: now + CLI_CODE_TTL_MS,
      });
      return redirect(request, { code });
    },

    denied: (request) => redirect(request, { error: 'access_denied' }),

    async exchange(input, actor) {
      const code = input.code;
      const verifier = input.code_verifier;
      const invalid = (reason: string) =>
        new AppError('INVALID_GRANT', 'The login code is invalid, used or expired; run the login again.', {
          logReason: `cli login: ${reason}`,
        });
      if (!CODE_SHAPE.test(code)) throw invalid('malformed code');
      // Used up before the checks, as OAuth requires: a code gets one exchange attempt.
      const grant = await store.consumeCliGrant(sha256(code), clock.now());
      if (!grant) throw invalid('unknown, used or expired code');
      if (grant.redirectUri !== input.redirect_uri) throw invalid('redirect_uri mismatch');
      if (!VERIFIER_SHAPE.test(verifier)) throw invalid('malformed code_verifier');
      if (!secretsEqual(pkceChallenge(verifier), grant.codeChallenge)) throw invalid('PKCE verifier mismatch');

      const created = await createWithFreeName(tokens, grant.accountId, `cli@${grant.clientName}`, {
        ...actor,
        accountId: grant.accountId,
      });
      return {
        token: created.secret,
        id: created.token.id,
        name: created.token.name,
        expiresAt: created.token.expiresAt,
      };
    },
  };
}

/** `cli@host`, or `cli@host-2`, `-3` … when the account already has an active token by that name. */
async function createWithFreeName(tokens: TokenService, accountId: string, base: string, actor: Actor) {
  const { tokens: existing } = await tokens.list(accountId, {});
  const taken = new Set(existing.map((token) => token.name));
  let name = base;
  for (let suffix = 2; taken.has(name); suffix++) name = `${base}-${suffix}`;
  // The server's default scopes, as the console's default preset: the default scopes the
  // instance policy allows personal tokens (naming them all would fail under a narrower policy).
  return tokens.create(accountId, { name }, actor);
}
