/**
 * docs/security.md, item 37, on EVERY HTML response rather than the console's alone: the console
 * routes, the sign-in pages, the one-time link page, the CLI consent page and every sign-in
 * error page (bad link, cross-site POST, missing session, bad CLI request, identity provider
 * down). Each must carry a CSP with frame-ancestors 'none', object-src 'none', base-uri 'none'
 * and a script-src that is nonce/hash based (or 'none': these pages run no script at all),
 * X-Content-Type-Options: nosniff, Referrer-Policy no-referrer (or
 * strict-origin-when-cross-origin), and HSTS max-age ≥ 31536000 (PUBLIC_URL is https here).
 * The error documentation is Markdown, never HTML, and is sent with nosniff so no browser
 * renders it as HTML. Chromium framing checks: test/browser/console.test.ts (the console) and
 * test/browser/security-console.test.ts (the sign-in page).
 */
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_PATHS } from '../../src/console/console-routes.js';
import { openDatabase } from '../../src/database/open-database.js';
import { createTestApp, TEST_ORIGIN, TEST_PUBLIC_URL, type TestApp } from '../support/app.js';
import { ensureBuilt } from '../browser/support/server.js';

const ONE_YEAR_S = 31_536_000;

function directives(csp: string): Map<string, string[]> {
  return new Map(
    csp
      .split(';')
      .map((part) => part.trim().split(/\s+/))
      .filter((words) => words[0])
      .map(([name, ...values]) => [name!.toLowerCase(), values]),
  );
}

/** Every assertion of docs/security.md, item 37 for one HTML response. */
function expectHardenedHtml(label: string, response: LightMyRequestResponse): void {
  expect(String(response.headers['content-type']), label).toMatch(/^text\/html/);
  const csp = String(response.headers['content-security-policy'] ?? '');
  const policy = directives(csp);
  expect(policy.get('frame-ancestors'), `${label}: ${csp}`).toEqual(["'none'"]);
  expect(policy.get('object-src'), `${label}: ${csp}`).toEqual(["'none'"]);
  expect(policy.get('base-uri'), `${label}: ${csp}`).toEqual(["'none'"]);
  const scripts = policy.get('script-src') ?? policy.get('default-src');
  expect(scripts, `${label}: script-src`).toBeDefined();
  const noScriptAtAll = scripts!.length === 1 && scripts![0] === "'none'";
  if (!noScriptAtAll) {
    expect(scripts!.some((source) => /^'(nonce-[A-Za-z0-9+/=_-]+|sha(256|384|512)-[A-Za-z0-9+/=]+)'$/.test(source)), `${label}: ${csp}`).toBe(true);
    // With a nonce or hash, nothing else may let a script in: 'strict-dynamic' only.
    for (const source of scripts!) expect(source, `${label}: ${csp}`).toMatch(/^'(nonce-|sha(256|384|512)-|strict-dynamic')/);
  }
  expect(csp, label).not.toMatch(/unsafe-inline|unsafe-eval/);
  expect(response.headers['x-content-type-options'], label).toBe('nosniff');
  expect(['no-referrer', 'strict-origin-when-cross-origin'], label).toContain(response.headers['referrer-policy']);
  const hsts = String(response.headers['strict-transport-security'] ?? '');
  expect(hsts, `${label}: HSTS`).toMatch(/max-age=\d+/);
  expect(Number(/max-age=(\d+)/.exec(hsts)![1]), label).toBeGreaterThanOrEqual(ONE_YEAR_S);
}

const formHeaders = { 'content-type': 'application/x-www-form-urlencoded', origin: TEST_ORIGIN, 'sec-fetch-site': 'same-origin' };

// docs/security.md, item 37
describe('security headers on every HTML response', () => {
  let app: TestApp;
  let oidcDown: TestApp;
  beforeAll(async () => {
    ensureBuilt();
    const open = async () => {
      const store = openDatabase('sqlite::memory:');
      await store.migrate();
      return store;
    };
    app = await createTestApp(await open());
    oidcDown = await createTestApp(await open(), {
      oidc: { issuer: 'http://127.0.0.1:1', clientId: 'x', clientSecret: 'y', redirectUri: `${TEST_PUBLIC_URL}/auth/oidc/callback`, adminEmails: [] },
    });
  }, 180_000);
  afterAll(async () => {
    await app?.close();
    await oidcDown?.close();
  });

  it('the console, sign-in, link, consent and every sign-in error page', async () => {
    const session = await app.signIn();
    const link = await app.services.signInLinks.issueFor({ email: 'headers@example.test' });
    const linkPath = new URL(link.url).pathname;
    const cliQuery = new URLSearchParams({
      redirect_uri: 'http://127.0.0.1:9/callback',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
      state: 'abc',
      client_name: 'laptop',
    });
    const inject = (options: InjectOptions): Promise<LightMyRequestResponse> => app.http.inject(options);

    const pages: Array<[string, LightMyRequestResponse, number]> = [
      ...(await Promise.all(CONSOLE_PATHS.map(async (url) => [`console ${url}`, await inject({ url, headers: { cookie: session.cookie } }), 200] as [string, LightMyRequestResponse, number]))),
      ['console signed out', await inject({ url: '/settings/tokens' }), 200],
      ['sign-in page', await inject({ url: '/auth/sign-in' }), 200],
      ['one-time link page', await inject({ url: linkPath }), 200],
      ['unknown link (error page)', await inject({ method: 'POST', url: '/auth/link/lk_link_nope', headers: formHeaders, payload: '' }), 400],
      [
        'cross-site link POST (error page)',
        await inject({ method: 'POST', url: linkPath, headers: { ...formHeaders, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }, payload: '' }),
        403,
      ],
      ['CLI consent page', await inject({ url: `/auth/cli?${cliQuery}`, headers: { cookie: session.cookie } }), 200],
      ['bad CLI request (error page)', await inject({ url: '/auth/cli?redirect_uri=https://evil.example/', headers: { cookie: session.cookie } }), 400],
      ['CLI consent without a session (error page)', await inject({ method: 'POST', url: '/auth/cli/consent', headers: formHeaders, payload: 'decision=allow' }), 401],
      ['identity provider down (error page)', await oidcDown.http.inject({ url: '/auth/oidc/start' }), 503],
      ['OIDC sign-in page', await oidcDown.http.inject({ url: '/auth/sign-in' }), 200],
    ];
    for (const [label, response, status] of pages) {
      expect(response.statusCode, `${label}: ${response.body.slice(0, 200)}`).toBe(status);
      expectHardenedHtml(label, response);
    }
  });

  it('no other route answers with HTML; the error documentation is Markdown with nosniff', async () => {
    for (const url of ['/nope', '/auth/nope', '/docs/nope', '/api/v1/nope', '/api/v1/me', '/healthz', '/api/openapi.json', '/docs/errors/invalid-token']) {
      const response = await app.http.inject({ url });
      expect(String(response.headers['content-type'] ?? ''), url).not.toMatch(/html/);
    }
    const docs = await app.http.inject({ url: '/docs/errors' });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-type']).toMatch(/^text\/markdown/);
    expect(docs.headers['x-content-type-options']).toBe('nosniff');
  });
});
