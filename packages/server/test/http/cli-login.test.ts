/**
 * The CLI's browser login, as a browser walks it through `app.inject` (cookies kept, redirects
 * followed): a login that starts signed out comes back to its consent page after signing in, by
 * one-time link or OpenID Connect; a [::1] loopback redirect can finish; each page's CSP allows
 * the page's own style. The same walk in real Chromium is test/browser/cli-login.test.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/database/open-database.js';
import { TEST_ORIGIN, TEST_PUBLIC_URL, appForEachTest, createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { TEST_CLIENT_ID, TEST_CLIENT_SECRET, followToApp, startTestProvider, type TestProvider } from '../support/oidc-provider.js';

const formHeaders = { 'content-type': 'application/x-www-form-urlencoded', origin: TEST_ORIGIN, 'sec-fetch-site': 'same-origin' };

/** A person's browser on the app: a cookie jar, and every page it saw. */
function browserOn(app: TestApp) {
  const jar = new Map<string, string>();
  const pages: LightMyRequestResponse[] = [];
  const cookieHeader = () => [...jar].map(([name, value]) => `${name}=${value}`).join('; ');

  function keepCookies(response: LightMyRequestResponse) {
    const header = response.headers['set-cookie'];
    for (const cookie of [header ?? []].flat()) {
      const [pair, ...attributes] = cookie.split(';');
      const index = pair!.indexOf('=');
      const name = pair!.slice(0, index);
      if (attributes.some((attribute) => /^\s*Max-Age=0$/i.test(attribute) || /Expires=Thu, 01 Jan 1970/.test(attribute))) jar.delete(name);
      else jar.set(name, pair!.slice(index + 1));
    }
  }

  /** Requests `url` and follows redirects on this origin; stops at a page or a redirect elsewhere. */
  async function go(url: string, init: { method?: 'GET' | 'POST'; payload?: string } = {}): Promise<LightMyRequestResponse> {
    let response = await app.http.inject({
      method: init.method ?? 'GET',
      url,
      headers: { ...(init.method === 'POST' ? formHeaders : {}), cookie: cookieHeader() },
      payload: init.payload,
    });
    for (let hop = 0; hop < 10; hop++) {
      keepCookies(response);
      pages.push(response);
      const location = response.headers.location as string | undefined;
      if (!location || !(location.startsWith('/') || location.startsWith(TEST_PUBLIC_URL))) return response;
      const next = new URL(location, TEST_PUBLIC_URL);
      response = await app.http.inject({ url: next.pathname + next.search, headers: { cookie: cookieHeader() } });
    }
    throw new Error('too many redirects');
  }

  /** Presses a button of the page's form: its hidden fields, plus `extra`. */
  function submit(page: LightMyRequestResponse, action: string, extra: Record<string, string> = {}) {
    const fields = Object.fromEntries(
      [...page.body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((match) => [match[1]!, unescape(match[2]!)]),
    );
    return go(action, { method: 'POST', payload: new URLSearchParams({ ...fields, ...extra }).toString() });
  }

  return { go, submit, pages, jar };
}

function unescape(value: string): string {
  return value.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function cliLoginUrl(redirectUri = 'http://127.0.0.1:53682/callback') {
  const verifier = randomBytes(32).toString('base64url');
  const params = new URLSearchParams({
    redirect_uri: redirectUri,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    state: 'state-1',
    client_name: 'build-box',
  });
  return { url: `/auth/cli?${params}`, verifier, redirectUri };
}

/** Every `<style>` of an HTML page is allowed by the page's own CSP (by nonce or by hash). */
function expectStylesAllowed(page: LightMyRequestResponse) {
  const csp = String(page.headers['content-security-policy']);
  const allowed = (/(?:^|;\s*)style-src ([^;]*)/.exec(csp)?.[1] ?? /(?:^|;\s*)default-src ([^;]*)/.exec(csp)?.[1] ?? '').split(/\s+/);
  const styles = [...page.body.matchAll(/<style(?: nonce="([^"]*)")?>([^<]*)<\/style>/g)];
  expect(styles.length).toBeGreaterThan(0);
  for (const [, nonce, text] of styles) {
    const hash = `'sha256-${createHash('sha256').update(text!).digest('base64')}'`;
    expect(allowed.includes(hash) || (nonce !== undefined && allowed.includes(`'nonce-${nonce}'`)), csp).toBe(true);
  }
  expect(page.body).not.toMatch(/<[^>]+\sstyle=/);
}

describeEachBackend('CLI browser login', (ctx) => {
  let app: TestApp;
  appForEachTest(ctx, (fresh) => (app = fresh));

  it('a login that starts signed out comes back to its consent page after a one-time sign-in link', async () => {
    const browser = browserOn(app);
    const login = cliLoginUrl();
    const signInPage = await browser.go(login.url);
    expect(signInPage.statusCode).toBe(200);
    expect(signInPage.body).toContain('Open it in this browser');

    // The link comes from elsewhere (an administrator, or the server's command line).
    const { url: link } = await (
      await app.http.inject({ method: 'POST', url: '/api/v1/invites', headers: (await app.signIn({ isAdmin: true })).headers, payload: { email: 'cli@example.test' } })
    ).json();
    expect((await browser.go(new URL(link).pathname)).body).toContain('sign in with this one-time link');
    const consent = await browser.go(new URL(link).pathname, { method: 'POST', payload: '' });
    expect(consent.statusCode).toBe(200);
    expect(consent.body).toContain('Allow the Latchkey CLI on <strong>build-box</strong>');
    expect(browser.jar.has('__Host-latchkey_return')).toBe(false);

    const allowed = await browser.submit(consent, '/auth/cli/consent', { decision: 'allow' });
    expect(allowed.statusCode).toBe(303);
    const callback = new URL(allowed.headers.location as string);
    expect(callback.origin).toBe('http://127.0.0.1:53682');
    const exchange = await app.http.inject({
      method: 'POST',
      url: '/auth/cli/token',
      payload: { code: callback.searchParams.get('code'), code_verifier: login.verifier, redirect_uri: login.redirectUri },
    });
    expect(exchange.statusCode).toBe(200);
    const me = await app.http.inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${exchange.json().token}` } });
    expect(me.json().account.email).toBe('cli@example.test');
  });

  it('a sign-in link used without a pending return goes to the console, as before', async () => {
    const browser = browserOn(app);
    await browser.go('/auth/sign-in');
    const { url: link } = await (
      await app.http.inject({ method: 'POST', url: '/api/v1/invites', headers: (await app.signIn({ isAdmin: true })).headers, payload: { email: 'plain@example.test' } })
    ).json();
    const used = await app.http.inject({ method: 'POST', url: new URL(link).pathname, headers: formHeaders, payload: '' });
    expect(used.headers.location).toBe('/');
  });

  it('a [::1] loopback redirect can finish: Allow answers a page that moves the browser on to [::1], which no CSP blocks', async () => {
    const session = await app.signIn();
    const browser = browserOn(app);
    browser.jar.set(...(session.cookie.split('=') as [string, string]));
    const login = cliLoginUrl('http://[::1]:53682/callback');
    const consent = await browser.go(login.url);
    expect(consent.statusCode).toBe(200);
    expectStylesAllowed(consent);

    const onwards = await browser.submit(consent, '/auth/cli/consent', { decision: 'allow' });
    expect(onwards.statusCode).toBe(200);
    expectStylesAllowed(onwards);
    const target = unescape(/<meta http-equiv="refresh" content="0;url=([^"]+)">/.exec(onwards.body)![1]!);
    const callback = new URL(target);
    expect(callback.origin).toBe('http://[::1]:53682');
    expect(callback.searchParams.get('state')).toBe('state-1');
    const exchange = await app.http.inject({
      method: 'POST',
      url: '/auth/cli/token',
      payload: { code: callback.searchParams.get('code'), code_verifier: login.verifier, redirect_uri: login.redirectUri },
    });
    expect(exchange.statusCode).toBe(200);
    // The login's token carries an explicit choice of scopes: the default ones, written out.
    const minted = await app.http.inject({ url: '/api/v1/tokens/self', headers: { authorization: `Bearer ${exchange.json().token}` } });
    expect(minted.json().scopes).toEqual(['namespaces:read', 'namespaces:write', 'tokens:read', 'tokens:write']);
    // No script runs the refresh: it is a navigation, which form-action does not govern.
    expect(String(onwards.headers['content-security-policy'])).toContain("script-src 'none'");
  });

  it("every sign-in page's CSP allows the page's own style", async () => {
    const browser = browserOn(app);
    expectStylesAllowed(await browser.go(cliLoginUrl().url));
    expectStylesAllowed(await browser.go('/auth/link/lk_link_unknown'));
    expectStylesAllowed(await browser.go('/auth/link/lk_link_unknown', { method: 'POST', payload: '' }));
  });
});

describe('CLI browser login with OpenID Connect', () => {
  const callbackUrl = `${TEST_PUBLIC_URL}/auth/oidc/callback`;
  let provider: TestProvider;
  let app: TestApp;
  beforeAll(async () => {
    provider = await startTestProvider(callbackUrl);
  });
  afterAll(() => provider.close());
  beforeEach(async () => {
    const database = openDatabase('sqlite::memory:');
    await database.migrate();
    app = await createTestApp(database, {
      oidc: { issuer: provider.issuer, clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET, redirectUri: callbackUrl, adminEmails: [] },
    });
  });
  afterEach(async () => {
    await app.close();
    await app.database.close();
  });

  it('a login that starts signed out comes back to its consent page after the provider', async () => {
    const browser = browserOn(app);
    const login = cliLoginUrl();
    const signInPage = await browser.go(login.url);
    const start = unescape(/href="(\/auth\/oidc\/start\?[^"]+)"/.exec(signInPage.body)![1]!);
    const toProvider = await browser.go(start);
    const back = await followToApp(toProvider.headers.location as string, new URL(TEST_PUBLIC_URL).origin);
    const consent = await browser.go(back.pathname + back.search);
    expect(consent.statusCode).toBe(200);
    expect(consent.body).toContain('Allow the Latchkey CLI on <strong>build-box</strong>');
  });
});
