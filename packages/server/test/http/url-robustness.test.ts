/**
 * docs/security.md, item 58: `return_to` values with DEL, non-Latin characters, great length or
 * encoded separators never produce a 5xx, through the sign-in page, the OpenID Connect round trip
 * and the CLI login; every Location written is a valid same-origin header; a path with malformed
 * percent-encoding is problem+json with the usual headers, never Fastify's own body.
 */
import { SESSION_COOKIE } from '@latchkey/contract';
import { MAX_RETURN_PATH_LENGTH } from '@latchkey/contract/return-path';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_PUBLIC_URL, appForEachTest, createMemoryApp, type TestApp, type TestSession } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { TEST_CLIENT_ID, TEST_CLIENT_SECRET, followToApp, startTestProvider, type TestProvider } from '../support/oidc-provider.js';

const CALLBACK = `${TEST_PUBLIC_URL}/auth/oidc/callback`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A Location that Node writes and every browser resolves on this origin: `/`, then printable ASCII. */
const SAFE_LOCATION = /^\/(?![/\\])[\x21-\x7e]*$/;

/**
 * Hostile `return_to` values, as they appear (already percent-encoded) in a query string, with
 * where the user should land.
 */
const HOSTILE_RETURN_TO: Array<[label: string, query: string, expected: string]> = [
  ['DEL', '%2F%7F', '/'],
  ['DEL, unencoded', '/\x7f', '/'],
  ['non-Latin', '%2F%E4%B8%AD', '/%E4%B8%AD'],
  ['non-Latin with a query of its own', '/%E4%B8%AD?q=%E4%B8%AD', '/%E4%B8%AD?q=%E4%B8%AD'],
  ['emoji and bidi override', '%2F%F0%9F%98%80%E2%80%AE', '/%F0%9F%98%80%E2%80%AE'],
  // The query parser keeps a value it cannot decode as it came: `%2F%E9` does not start with `/`.
  ['Latin-1 byte (not UTF-8)', '%2F%E9', '/'],
  ['malformed escape in an encoded value', '%2F%ZZ', '/'],
  ['NUL', '%2Ftokens%00', '/'],
  ['CR LF header injection', '%2F%0D%0ASet-Cookie:%20x=1', '/'],
  ['tab before a second slash', '%2F%09%2Fevil.example', '/'],
  ['encoded double slash', '%2F%2Fevil.example', '/'],
  ['encoded slash and backslash', '%2F%5Cevil.example', '/'],
  ['encoded separators inside the path', '%2F%252F%252Fevil.example', '/%2F%2Fevil.example'],
  ['backslash later in the path', '%2Fa%5Cb', '/a%5Cb'],
  ['a stray percent sign', '%2F100%25', '/100%25'],
  ['malformed escape', '/%ZZ', '/%25ZZ'],
  ['absolute URL', 'https%3A%2F%2Fevil.example%2F', '/'],
  ['just over the cap', `%2F${'a'.repeat(MAX_RETURN_PATH_LENGTH)}`, '/'],
  ['under the cap until encoded', `%2F${'%E4%B8%AD'.repeat(200)}`, '/'],
  ['64 KiB', `%2F${'a'.repeat(64 * 1024)}`, '/'],
  ['repeated', '%2Fa&return_to=%2Fb', '/'],
];

function expectSafeRedirect(response: LightMyRequestResponse, expected: string, label: string): void {
  expect(response.statusCode, label).toBe(303);
  expect(response.headers.location, label).toBe(expected);
  expect(response.headers.location, label).toMatch(SAFE_LOCATION);
}

describeEachBackend('return_to never breaks a sign-in', (ctx) => {
  let app: TestApp;
  let session: TestSession;
  appForEachTest(ctx, async (fresh) => {
    app = fresh;
    session = await app.signIn();
  });

  it('signed in, the sign-in page redirects to a valid same-origin Location for every hostile value', async () => {
    for (const [label, query, expected] of HOSTILE_RETURN_TO) {
      const response = await app.http.inject({ url: `/auth/sign-in?return_to=${query}`, headers: { cookie: session.cookie } });
      expectSafeRedirect(response, expected, label);
    }
  });
});

// The crafted link of item 58: through OpenID Connect a *successful* sign-in used to end in a 500.
describe('an OpenID Connect sign-in started with a hostile return_to', () => {
  let provider: TestProvider;
  let app: TestApp;

  beforeAll(async () => {
    provider = await startTestProvider(CALLBACK);
    app = await createMemoryApp({
      oidc: { issuer: provider.issuer, clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET, redirectUri: CALLBACK, adminEmails: [] },
    });
  });
  afterAll(async () => {
    await app.close();
    await provider.close();
  });

  for (const [label, query, expected] of HOSTILE_RETURN_TO.filter(([label]) =>
    ['DEL', 'non-Latin', 'malformed escape', 'just over the cap'].includes(label),
  )) {
    it(`ends signed in with a redirect, not a 5xx (${label})`, async () => {
      provider.subject = `hostile-${label.replace(/\W/g, '')}`;
      // The sign-in page's button already carries the cleaned value.
      const page = await app.http.inject({ url: `/auth/sign-in?return_to=${query}` });
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain(`href="/auth/oidc/start?return_to=${encodeURIComponent(expected)}"`);

      const start = await app.http.inject({ url: `/auth/oidc/start?return_to=${query}` });
      expect(start.statusCode).toBe(302);
      const flowCookie = String(start.headers['set-cookie']).split(';')[0]!;
      const callback = await followToApp(start.headers.location as string, new URL(TEST_PUBLIC_URL).origin);
      const finished = await app.http.inject({ url: callback.pathname + callback.search, headers: { cookie: flowCookie } });
      expectSafeRedirect(finished, expected, label);
      const cookies = [finished.headers['set-cookie']].flat().join('\n');
      expect(cookies).toContain(`${SESSION_COOKIE}=`);
    });
  }
});

describeEachBackend('malformed paths get problem+json, never the framework body', (ctx) => {
  let app: TestApp;
  appForEachTest(ctx, (fresh) => (app = fresh));

  it('answers bad percent-encoding in any path as R-BADREQ-shaped problem+json with a request id, without echoing the path', async () => {
    for (const url of ['/auth/link/%ZZ', '/api/v1/tokens/%ZZ', '/api/v1/namespaces/%E4%B8', '/docs/errors/%C0%AF', '/auth/link/%']) {
      for (const method of ['GET', 'POST', 'DELETE'] as const) {
        const response = await app.http.inject({ method, url });
        const label = `${method} ${url}`;
        expect(response.statusCode, label).toBe(400);
        expect(response.headers['content-type'], label).toMatch(/^application\/problem\+json/);
        expect(response.headers['x-request-id'], label).toMatch(UUID);
        expect(response.headers['cache-control'], label).toBe('no-store');
        expect(response.headers['x-content-type-options'], label).toBe('nosniff');
        expect(response.json(), label).toMatchObject({ status: 400, code: 'BAD_REQUEST', type: '/docs/errors/bad-request' });
        expect(response.body, label).not.toContain('FST_ERR');
        expect(response.body, label).not.toContain(url.split('/').pop());
      }
    }
  });

  it('logs a request the router refused with the request line every request gets, query values redacted', async () => {
    const response = await app.http.inject({ url: '/api/v1/tokens/%ZZ?access_token=lk_pat_1secret' });
    expect(response.statusCode).toBe(400);
    const line = app.logs.find((entry) => entry.reqId === response.headers['x-request-id'] && entry.msg === 'request');
    expect(line).toMatchObject({ method: 'GET', status: 400, url: '/api/v1/tokens/%ZZ?access_token=[REDACTED]' });
    expect(app.logText()).not.toContain('lk_pat_1secret');
  });

  it('answers a path parameter over the router limit as the R-404 every unknown id gets', async () => {
    const response = await app.http.inject({ method: 'DELETE', url: `/api/v1/namespaces/${'a'.repeat(500)}` });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ code: 'NOT_FOUND', detail: 'No such resource.' });
    expect(response.headers['x-request-id']).toMatch(UUID);
    expect(response.body).not.toContain('aaaa');
  });
});
