/**
 * /auth/*: the sign-in pages and exchanges. Plain HTML forms (no scripts); the console issue
 * folds the sign-in page into the console. Registered in its own encapsulated scope so only
 * these routes accept form bodies.
 */
import { ERRORS, SESSION_COOKIE, cliTokenRequestSchema, cliTokenResponseSchema } from '@latchkey/contract';
import { safeReturnPath } from '@latchkey/contract/return-path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { checkCsrf, checkSameOrigin } from '../http/csrf.js';
import { html, sendPage, STRICT_TRANSPORT_SECURITY, type SafeHtml } from '../http/pages.js';
import type { ZodApp } from '../http/zod-app.js';
import { AppError } from '../kernel/app-error.js';
import {
  isIpv6LoopbackRedirect,
  parseCliLoginRequest,
  type CliLoginRequest,
  type CliLoginService,
} from './cli-login-service.js';
import { OIDC_CALLBACK_PATH, OidcProviderUnavailableError, type OidcSignIn } from './oidc-sign-in.js';
import { SESSION_ABSOLUTE_TIMEOUT_MS, type SessionService } from './session-service.js';
import { linkUnusable, SIGN_IN_LINK_TTL_MS, type SignInLinkService } from './sign-in-link-service.js';
import type { SignInService } from './sign-in-service.js';

/** Binds an OpenID Connect sign-in in progress to the browser that started it. */
export const FLOW_COOKIE = '__Host-latchkey_flow';
const FLOW_COOKIE_MAX_AGE_S = 600;
/**
 * Where a person was going when asked to sign in with a one-time link (a CLI login's consent
 * page): the link arrives later, by email or from a terminal, and cannot carry it.
 */
const RETURN_COOKIE = '__Host-latchkey_return';

const secureCookie = { path: '/', secure: true, httpOnly: true, sameSite: 'lax' } as const;

export interface SignInRouteDeps {
  signIn: SignInService;
  sessions: SessionService;
  links: SignInLinkService;
  oidc: OidcSignIn | undefined;
  cliLogin: CliLoginService;
  publicUrl: string;
}

export function registerSignInRoutes(app: ZodApp, deps: SignInRouteDeps): void {
  const { signIn, sessions, links, oidc, cliLogin, publicUrl } = deps;
  const publicOrigin = new URL(publicUrl).origin;

  // These pages are HTML like the console's: served over TLS, they carry HSTS too (docs/security.md, item 37).
  if (new URL(publicUrl).protocol === 'https:') {
    app.addHook('onRequest', async (_request, reply) => {
      reply.header('strict-transport-security', STRICT_TRANSPORT_SECURITY);
    });
  }

  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );

  /** Failures on these routes are pages for a person, not problem+json. */
  app.setErrorHandler(async (error, request, reply) => {
    if (error instanceof OidcProviderUnavailableError) {
      request.log.warn({ err: error.cause ?? error }, 'OpenID Connect provider unavailable');
      return sendPage(
        reply,
        503,
        'Sign-in unavailable',
        html`<h1>Sign-in is unavailable</h1>
          <p class="error">The identity provider could not be reached. Please try again in a minute.</p>
          <div class="actions"><a class="button" href="/auth/sign-in">Try again</a></div>`,
      );
    }
    // A person's browser gets a page; the CLI's JSON exchange gets problem+json from the app.
    if (error instanceof AppError && !isJsonPost(request)) {
      if (error.logReason) request.log.warn({ event: 'sign_in_failed', reason: error.logReason, clientIp: request.ip }, 'sign-in failed');
      return sendPage(
        reply,
        ERRORS[error.code].status,
        'Sign-in failed',
        html`<h1>Sign-in failed</h1>
          <p class="error">${error.detail ?? 'The request was refused.'}</p>
          <p>Error code: <code>${error.code}</code></p>
          <div class="actions"><a class="button" href="/auth/sign-in">Start again</a></div>`,
      );
    }
    throw error;
  });

  const sessionCookieOf = (request: FastifyRequest) => request.cookies[SESSION_COOKIE];

  async function signedInAccount(request: FastifyRequest) {
    const sessionId = sessionCookieOf(request);
    const session = sessionId ? await sessions.authenticate(sessionId) : undefined;
    return session && sessionId ? { ...session, sessionId } : undefined;
  }

  async function finishSignIn(request: FastifyRequest, reply: FastifyReply, accountId: string, returnTo: string) {
    const { sessionId } = await signIn.startSession(accountId, sessionCookieOf(request), {
      accountId,
      tokenId: null,
      ip: request.ip,
    });
    reply.setCookie(SESSION_COOKIE, sessionId, { ...secureCookie, maxAge: SESSION_ABSOLUTE_TIMEOUT_MS / 1000 });
    return reply.redirect(safeReturnTo(returnTo), 303);
  }

  // Sign-in page ---------------------------------------------------------------------------------

  app.get(
    '/auth/sign-in',
    { schema: { hide: true, querystring: returnToQuery } },
    async (request, reply) => {
      const returnTo = safeReturnTo(request.query.return_to);
      if (await signedInAccount(request)) return reply.redirect(returnTo, 303);
      if (returnTo === '/') reply.clearCookie(RETURN_COOKIE, secureCookie);
      else reply.setCookie(RETURN_COOKIE, returnTo, { ...secureCookie, maxAge: SIGN_IN_LINK_TTL_MS / 1000 });
      const body = oidc
        ? html`<h1>Sign in to Latchkey</h1>
            <div class="actions">
              <a class="button" href="/auth/oidc/start?return_to=${encodeURIComponent(returnTo)}">Sign in with ${oidc.providerLabel}</a>
            </div>`
        : html`<h1>Sign in to Latchkey</h1>
            <p>This server signs people in with one-time links: no passwords.</p>
            <p>Ask an administrator for a sign-in link, or on the server run
              <code>latchkey-server signin-link --email you@example.com</code>.</p>
            <p>A link works once, within 15 minutes.</p>
            ${returnTo === '/' ? '' : html`<p>Open it in this browser to come back to where you were going.</p>`}`;
      return sendPage(reply, 200, 'Sign in', body);
    },
  );

  // One-time links --------------------------------------------------------------------------------

  const linkParams = z.object({ secret: z.string() });

  // Opening the link uses nothing: scanners and prefetchers follow GETs. The button POSTs.
  app.get('/auth/link/:secret', { schema: { hide: true, params: linkParams } }, async (_request, reply) =>
    sendPage(
      reply,
      200,
      'Sign in',
      html`<h1>Sign in to Latchkey</h1>
        <p>Press the button to sign in with this one-time link.</p>
        <form method="post" class="actions"><button type="submit">Sign in</button></form>`,
    ),
  );

  app.post('/auth/link/:secret', { config: { anonymousWrites: true }, schema: { hide: true, params: linkParams } }, async (request, reply) => {
    checkSameOrigin(request, publicOrigin);
    const accountId = await links.redeem(request.params.secret);
    if (!accountId) throw linkUnusable();
    const returnTo = request.cookies[RETURN_COOKIE];
    if (returnTo !== undefined) reply.clearCookie(RETURN_COOKIE, secureCookie);
    return finishSignIn(request, reply, accountId, returnTo ?? '/');
  });

  // OpenID Connect --------------------------------------------------------------------------------

  app.get(
    '/auth/oidc/start',
    { config: { anonymousWrites: true }, schema: { hide: true, querystring: returnToQuery } },
    async (request, reply) => {
      if (!oidc) return reply.callNotFound();
      const { authorizationUrl, browserSecret } = await oidc.start(safeReturnTo(request.query.return_to));
      reply.setCookie(FLOW_COOKIE, browserSecret, { ...secureCookie, maxAge: FLOW_COOKIE_MAX_AGE_S });
      return reply.redirect(authorizationUrl, 302);
    },
  );

  app.get(OIDC_CALLBACK_PATH, { config: { anonymousWrites: true }, schema: { hide: true } }, async (request, reply) => {
    if (!oidc) return reply.callNotFound();
    reply.clearCookie(FLOW_COOKIE, secureCookie);
    const callbackUrl = new URL(request.url, publicUrl);
    const { claims, returnTo } = await oidc.complete(callbackUrl, request.cookies[FLOW_COOKIE]);
    const account = await signIn.accountForClaims(claims, { accountId: null, tokenId: null, ip: request.ip });
    return finishSignIn(request, reply, account.id, returnTo);
  });

  // Sign-out ---------------------------------------------------------------------------------------

  app.post('/auth/sign-out', { schema: { hide: true } }, async (request, reply) => {
    const session = await signedInAccount(request);
    if (session) {
      const form = (request.body ?? {}) as Record<string, unknown>;
      checkCsrf(request, session.csrfToken, publicOrigin, form.csrfToken ?? request.headers['x-csrf-token']);
      await sessions.end(session.sessionId);
    }
    reply.clearCookie(SESSION_COOKIE, secureCookie);
    return isFormPost(request) ? reply.redirect('/auth/sign-in', 303) : reply.code(204).send();
  });

  // CLI browser login --------------------------------------------------------------------------------

  app.get('/auth/cli', { schema: { hide: true } }, async (request, reply) => {
    const cliRequest = parseCliLoginRequest(request.query as Record<string, unknown>);
    const session = await signedInAccount(request);
    if (!session) {
      return reply.redirect(`/auth/sign-in?return_to=${encodeURIComponent(safeReturnTo(request.url))}`, 302);
    }
    return sendPage(reply, 200, 'Authorize the CLI', consentPage(cliRequest, session.csrfToken, session.account.email));
  });

  app.post('/auth/cli/consent', { schema: { hide: true } }, async (request, reply) => {
    const session = await signedInAccount(request);
    if (!session) throw new AppError('UNAUTHENTICATED');
    const form = (request.body ?? {}) as Record<string, unknown>;
    checkCsrf(request, session.csrfToken, publicOrigin, form.csrfToken);
    const cliRequest = parseCliLoginRequest(form);
    const target =
      form.decision === 'allow' ? await cliLogin.approve(session.account.id, cliRequest) : cliLogin.denied(cliRequest);
    // A CSP source cannot name an IPv6 address, so form-action cannot allow http://[::1] and the
    // browser would block a redirect there. A page that moves on by itself is not the form's
    // submission any more; it goes only to the loopback address the request was checked for.
    if (isIpv6LoopbackRedirect(cliRequest.redirectUri)) {
      return sendPage(reply, 200, 'Back to the CLI', returnToCliPage(target));
    }
    return reply.redirect(target, 303);
  });

  app.post(
    '/auth/cli/token',
    {
      config: { anonymousWrites: true },
      schema: {
        summary: "The CLI's browser login: exchange the one-time code and PKCE verifier for a token",
        tags: ['sign-in'],
        body: cliTokenRequestSchema,
        response: { 200: cliTokenResponseSchema },
      },
    },
    async (request, reply) => {
      const issued = await cliLogin.exchange(request.body, { tokenId: null, ip: request.ip });
      reply.header('cache-control', 'no-store');
      return { token: issued.token, id: issued.id, name: issued.name, expiresAt: new Date(issued.expiresAt).toISOString() };
    },
  );
}

function consentPage(request: CliLoginRequest, csrfToken: string, email: string | null): SafeHtml {
  const hidden = (name: string, value: string) => html`<input type="hidden" name="${name}" value="${value}">`;
  return html`<h1>Authorize the Latchkey CLI</h1>
    <p>Allow the Latchkey CLI on <strong>${request.clientName}</strong> to use your account${email ? html` (${email})` : ''}?</p>
    <p>It receives a new personal access token named <code>cli@${request.clientName}</code>, which you can delete at any time.</p>
    <form method="post" action="/auth/cli/consent">
      ${hidden('redirect_uri', request.redirectUri)}
      ${hidden('code_challenge', request.codeChallenge)}
      ${hidden('code_challenge_method', 'S256')}
      ${hidden('state', request.state)}
      ${hidden('client_name', request.clientName)}
      ${hidden('csrfToken', csrfToken)}
      <div class="actions">
        <button type="submit" name="decision" value="allow">Allow</button>
        <button type="submit" name="decision" value="deny" class="secondary">Cancel</button>
      </div>
    </form>`;
}

function returnToCliPage(target: string): SafeHtml {
  return html`<meta http-equiv="refresh" content="0;url=${target}">
    <h1>Back to the Latchkey CLI</h1>
    <p>Returning to the CLI that asked to sign in …</p>
    <div class="actions"><a class="button" href="${target}">Continue</a></div>`;
}

/**
 * `return_to` as any value: a crafted link that repeats it (`?return_to=a&return_to=b`, an array)
 * must not turn the sign-in page into a 422, so anything but one string counts as absent.
 */
const returnToQuery = z.object({ return_to: z.unknown().optional() });

/** Only a path on this server, else the console's home: never another origin. */
export function safeReturnTo(value: unknown): string {
  return (typeof value === 'string' ? safeReturnPath(value) : undefined) ?? '/';
}

function isFormPost(request: FastifyRequest): boolean {
  return (request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
}

function isJsonPost(request: FastifyRequest): boolean {
  return (request.headers['content-type'] ?? '').startsWith('application/json');
}
