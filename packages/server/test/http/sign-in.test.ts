/**
 * Sign-in end to end: one-time links, session cookies and CSRF (docs/security.md, item 36), OpenID
 * Connect against a real provider with fixation, state, PKCE and replay checks (item 38), the
 * CLI's loopback browser login, and invites.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SESSION_COOKIE } from '@latchkey/contract';
import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rawKysely } from '../../src/database/database.js';
import { openDatabase } from '../../src/database/open-database.js';
import type { Database } from '../../src/database/database.js';
import { TEST_ORIGIN, TEST_PUBLIC_URL, appForEachTest, bearer, createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { TEST_CLIENT_ID, TEST_CLIENT_SECRET, followToApp, startTestProvider, type TestProvider } from '../support/oidc-provider.js';

const SESSION_COOKIE_SHAPE = /^__Host-[^=]+=[^;]+(; (Path=\/|Secure|HttpOnly|SameSite=(Lax|Strict)|Max-Age=\d+))+$/;
const CALLBACK = `${TEST_PUBLIC_URL}/auth/oidc/callback`;

function setCookies(response: LightMyRequestResponse): string[] {
  const header = response.headers['set-cookie'];
  return header === undefined ? [] : Array.isArray(header) ? header : [header];
}

function sessionCookieFrom(response: LightMyRequestResponse): string | undefined {
  const cookie = setCookies(response).find((value) => value.startsWith(`${SESSION_COOKIE}=`) && !/Max-Age=0|Expires=Thu, 01 Jan 1970/.test(value));
  return cookie?.split(';')[0];
}

async function memoryDatabase(): Promise<Database> {
  const database = openDatabase('sqlite::memory:');
  await database.migrate();
  return database;
}

const formHeaders = { 'content-type': 'application/x-www-form-urlencoded', origin: TEST_ORIGIN, 'sec-fetch-site': 'same-origin' };

describe('one-time sign-in links', () => {
  let app: TestApp;
  beforeEach(async () => {
    app = await createTestApp(await memoryDatabase());
  });
  afterEach(() => app.close());

  it('opening the link uses nothing; the Sign in POST sets a __Host- session cookie once', async () => {
    const link = await app.services.signInLinks.issueFor({ email: 'ada@example.test' });
    const path = new URL(link.url).pathname;
    expect(link.url.startsWith(`${TEST_PUBLIC_URL}/auth/link/lk_link_`)).toBe(true);

    for (let i = 0; i < 2; i++) {
      const page = await app.http.inject({ url: path });
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('<button type="submit">Sign in</button>');
      expect(setCookies(page)).toEqual([]);
    }

    const signIn = await app.http.inject({ method: 'POST', url: path, headers: formHeaders, payload: '' });
    expect(signIn.statusCode).toBe(303);
    expect(signIn.headers.location).toBe('/');
    const raw = setCookies(signIn).find((value) => value.startsWith(SESSION_COOKIE))!;
    expect(raw).toMatch(SESSION_COOKIE_SHAPE);
    for (const attribute of ['Path=/', 'Secure', 'HttpOnly', 'SameSite=Lax']) expect(raw).toContain(attribute);
    expect(raw).not.toMatch(/Domain=/i);

    const cookie = sessionCookieFrom(signIn)!;
    const me = await app.http.inject({ url: '/api/v1/me', headers: { cookie } });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ authenticatedWith: 'session', account: { email: 'ada@example.test' } });
    expect(me.json().csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const again = await app.http.inject({ method: 'POST', url: path, headers: formHeaders, payload: '' });
    expect(again.statusCode).toBe(400);
    expect(again.headers['content-type']).toMatch(/^text\/html/);
    expect(sessionCookieFrom(again)).toBeUndefined();
  });

  it('refuses a cross-site sign-in POST (login CSRF) without using the link', async () => {
    const path = new URL((await app.services.signInLinks.issueFor({ email: 'eve@example.test' })).url).pathname;
    const { 'sec-fetch-site': _site, ...withoutFetchSite } = formHeaders;
    for (const headers of [
      { ...formHeaders, 'sec-fetch-site': 'cross-site' },
      { ...withoutFetchSite, origin: 'https://evil.example' },
    ]) {
      const response = await app.http.inject({ method: 'POST', url: path, headers, payload: '' });
      expect(response.statusCode).toBe(403);
      expect(sessionCookieFrom(response)).toBeUndefined();
    }
    // `Origin: null` is refused unless the browser itself says the POST is same-origin.
    const opaque = await app.http.inject({ method: 'POST', url: path, headers: { ...withoutFetchSite, origin: 'null' }, payload: '' });
    expect(opaque.statusCode).toBe(403);
    const crossOpaque = await app.http.inject({
      method: 'POST',
      url: path,
      headers: { ...formHeaders, origin: 'null', 'sec-fetch-site': 'cross-site' },
      payload: '',
    });
    expect(crossOpaque.statusCode).toBe(403);
    const real = await app.http.inject({ method: 'POST', url: path, headers: { ...formHeaders, origin: 'null' }, payload: '' });
    expect(real.statusCode).toBe(303);
  });

  it('expires links after 15 minutes (database clock) and never logs them', async () => {
    const link = await app.services.signInLinks.issueFor({ email: 'late@example.test' });
    await sql`update signin_links set expires_at = cast(unixepoch('subsec') * 1000 as integer) - 1`.execute(rawKysely(app.database));
    const response = await app.http.inject({ method: 'POST', url: new URL(link.url).pathname, headers: formHeaders, payload: '' });
    expect(response.statusCode).toBe(400);
    expect(app.logText()).not.toContain(link.url.split('/').pop()!);
    expect(app.logText()).not.toMatch(/lk_link_[0-9a-f]+/);
  });

  it('sends the HTML pages with a strict CSP and no framing', async () => {
    const page = await app.http.inject({ url: '/auth/sign-in' });
    expect(page.statusCode).toBe(200);
    const csp = String(page.headers['content-security-policy']);
    for (const directive of ["frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'", "script-src 'none'"]) {
      expect(csp).toContain(directive);
    }
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.body).toContain('latchkey-server signin-link');
  });

  it('lets administrators invite people, and nobody else', async () => {
    const admin = await app.signIn({ isAdmin: true });
    const invite = await app.http.inject({
      method: 'POST',
      url: '/api/v1/invites',
      headers: admin.headers,
      payload: { email: 'New.Person@Example.test' },
    });
    expect(invite.statusCode).toBe(201);
    expect(invite.headers['cache-control']).toBe('no-store');
    const { url, email } = invite.json();
    expect(email).toBe('new.person@example.test');
    const used = await app.http.inject({ method: 'POST', url: new URL(url).pathname, headers: formHeaders, payload: '' });
    expect(sessionCookieFrom(used)).toBeDefined();

    const member = await app.signIn();
    const refused = await app.http.inject({ method: 'POST', url: '/api/v1/invites', headers: member.headers, payload: { email: 'x@example.test' } });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().code).toBe('FORBIDDEN');
  });
});

// docs/security.md, item 36
describeEachBackend('console mutations and CSRF', (ctx) => {
  let app: TestApp;
  appForEachTest(ctx, (fresh) => (app = fresh));

  async function tokenCount(): Promise<number> {
    const rows = (await ctx.exec(sql`select count(*) as n from tokens where revoked_at is null`)) as Array<{ n: number | string }>;
    return Number(rows[0]!.n);
  }

  it('refuses POST /tokens and DELETE /tokens/:id without a valid CSRF token or from another site', async () => {
    const session = await app.signIn();
    const { token } = await app.createToken(session, 'keep');
    const { 'x-csrf-token': _csrf, ...withoutCsrf } = session.headers;
    const variants: Array<[string, Record<string, string>]> = [
      ['missing CSRF token', withoutCsrf],
      ['wrong CSRF token', { ...session.headers, 'x-csrf-token': randomBytes(32).toString('base64url') }],
      ['foreign Origin', { ...session.headers, origin: 'https://evil.example' }],
      ['Sec-Fetch-Site: cross-site', { ...session.headers, 'sec-fetch-site': 'cross-site' }],
    ];
    for (const [label, headers] of variants) {
      const create = await app.http.inject({ method: 'POST', url: '/api/v1/tokens', headers, payload: { name: `x-${label}` } });
      expect(create.statusCode, label).toBe(403);
      expect(create.json(), label).toMatchObject({ code: 'CSRF_REJECTED', type: '/docs/errors/csrf' });
      const del = await app.http.inject({ method: 'DELETE', url: `/api/v1/tokens/${token.id}`, headers });
      expect(del.statusCode, label).toBe(403);
    }
    expect(await tokenCount()).toBe(1);

    const create = await app.http.inject({ method: 'POST', url: '/api/v1/tokens', headers: session.headers, payload: { name: 'ok' } });
    expect(create.statusCode).toBe(201);
    const del = await app.http.inject({ method: 'DELETE', url: `/api/v1/tokens/${token.id}`, headers: session.headers });
    expect(del.statusCode).toBe(204);
  });

  it('signing out deletes the session server-side: the old cookie is refused on every instance', async () => {
    const second = await createTestApp(ctx.database);
    try {
      const session = await app.signIn();
      for (const instance of [app.http, second.http]) {
        expect((await instance.inject({ url: '/api/v1/me', headers: { cookie: session.cookie } })).statusCode).toBe(200);
      }
      const out = await second.http.inject({ method: 'POST', url: '/auth/sign-out', headers: session.headers });
      expect(out.statusCode).toBe(204);
      for (const instance of [app.http, second.http]) {
        const me = await instance.inject({ url: '/api/v1/me', headers: { cookie: session.cookie } });
        expect(me.statusCode).toBe(401);
      }
    } finally {
      await second.http.close();
    }
  });
});

// docs/security.md, item 38
describe('OpenID Connect against a real provider', () => {
  let provider: TestProvider;
  let app: TestApp;

  beforeAll(async () => {
    provider = await startTestProvider(CALLBACK);
  });
  afterAll(() => provider.close());

  beforeEach(async () => {
    app = await createTestApp(await memoryDatabase(), {
      oidc: {
        issuer: provider.issuer,
        clientId: TEST_CLIENT_ID,
        clientSecret: TEST_CLIENT_SECRET,
        redirectUri: CALLBACK,
        adminEmails: ['root@example.test'],
      },
    });
  });
  afterEach(() => app.close());

  /** Starts a sign-in and walks the provider; returns the callback path and the flow cookie. */
  async function signInAtProvider(headers: Record<string, string> = {}) {
    const start = await app.http.inject({ url: '/auth/oidc/start?return_to=/settings/tokens', headers });
    expect(start.statusCode).toBe(302);
    const flowCookie = setCookies(start).find((value) => value.startsWith('__Host-latchkey_flow='))!.split(';')[0]!;
    const authorizationUrl = new URL(start.headers.location as string);
    expect(authorizationUrl.origin).toBe(provider.issuer);
    expect(authorizationUrl.searchParams.get('code_challenge_method')).toBe('S256');
    for (const param of ['state', 'nonce', 'code_challenge']) expect(authorizationUrl.searchParams.get(param)).toBeTruthy();
    const callback = await followToApp(authorizationUrl.href, new URL(TEST_PUBLIC_URL).origin);
    return { callbackPath: callback.pathname + callback.search, flowCookie };
  }

  it('signs in, creates the account from the claims, and returns where the user was going', async () => {
    provider.subject = 'root';
    const page = await app.http.inject({ url: '/auth/sign-in' });
    expect(page.body).toContain(`Sign in with ${new URL(provider.issuer).host}`);

    const { callbackPath, flowCookie } = await signInAtProvider();
    const callback = await app.http.inject({ url: callbackPath, headers: { cookie: flowCookie } });
    expect(callback.statusCode).toBe(303);
    expect(callback.headers.location).toBe('/settings/tokens');
    const cookie = sessionCookieFrom(callback)!;
    const me = await app.http.inject({ url: '/api/v1/me', headers: { cookie } });
    expect(me.json().account).toMatchObject({ email: 'root@example.test', name: 'User root', isAdmin: true });

    // The same identity signs in to the same account next time.
    const next = await signInAtProvider();
    const again = await app.http.inject({ url: next.callbackPath, headers: { cookie: next.flowCookie } });
    const meAgain = await app.http.inject({ url: '/api/v1/me', headers: { cookie: sessionCookieFrom(again)! } });
    expect(meAgain.json().account.id).toBe(me.json().account.id);
  });

  it('issues a fresh session id at sign-in and kills the one the browser came with (fixation)', async () => {
    provider.subject = 'bob';
    const before = await app.signIn();
    const { callbackPath, flowCookie } = await signInAtProvider({ cookie: before.cookie });
    const callback = await app.http.inject({ url: callbackPath, headers: { cookie: `${before.cookie}; ${flowCookie}` } });
    const after = sessionCookieFrom(callback)!;
    expect(after).toBeDefined();
    expect(after).not.toBe(before.cookie);
    expect((await app.http.inject({ url: '/api/v1/me', headers: { cookie: before.cookie } })).statusCode).toBe(401);
    expect((await app.http.inject({ url: '/api/v1/me', headers: { cookie: after } })).statusCode).toBe(200);
  });

  it('refuses a callback with a missing or mismatched state, without a session cookie', async () => {
    provider.subject = 'carol';
    const { callbackPath, flowCookie } = await signInAtProvider();
    const url = new URL(callbackPath, TEST_PUBLIC_URL);
    const withoutState = new URL(url);
    withoutState.searchParams.delete('state');
    const wrongState = new URL(url);
    wrongState.searchParams.set('state', randomBytes(16).toString('base64url'));
    for (const target of [withoutState, wrongState]) {
      const response = await app.http.inject({ url: target.pathname + target.search, headers: { cookie: flowCookie } });
      expect(response.statusCode).toBe(400);
      expect(sessionCookieFrom(response)).toBeUndefined();
    }
    // Without the browser-binding cookie (the callback replayed elsewhere) it fails too.
    const elsewhere = await app.http.inject({ url: callbackPath });
    expect(elsewhere.statusCode).toBe(400);
    expect(sessionCookieFrom(elsewhere)).toBeUndefined();
  });

  it('refuses a wrong PKCE verifier', async () => {
    provider.subject = 'dave';
    const { callbackPath, flowCookie } = await signInAtProvider();
    await sql`update login_flows set code_verifier = ${randomBytes(32).toString('base64url')}`.execute(rawKysely(app.database));
    const response = await app.http.inject({ url: callbackPath, headers: { cookie: flowCookie } });
    expect(response.statusCode).toBe(400);
    expect(sessionCookieFrom(response)).toBeUndefined();
  });

  it('refuses a replayed callback code', async () => {
    provider.subject = 'erin';
    const { callbackPath, flowCookie } = await signInAtProvider();
    const first = await app.http.inject({ url: callbackPath, headers: { cookie: flowCookie } });
    expect(first.statusCode).toBe(303);
    const replay = await app.http.inject({ url: callbackPath, headers: { cookie: flowCookie } });
    expect(replay.statusCode).toBe(400);
    expect(sessionCookieFrom(replay)).toBeUndefined();
  });

  it('shows a clear page, not a 500, when the provider is down', async () => {
    const down = await createTestApp(await memoryDatabase(), {
      oidc: { issuer: 'http://127.0.0.1:1', clientId: 'x', clientSecret: 'y', redirectUri: CALLBACK, adminEmails: [] },
    });
    try {
      const response = await down.http.inject({ url: '/auth/oidc/start' });
      expect(response.statusCode).toBe(503);
      expect(response.headers['content-type']).toMatch(/^text\/html/);
      expect(response.body).toContain('identity provider could not be reached');
    } finally {
      await down.close();
    }
  });
});

describe('CLI browser login over a loopback redirect', () => {
  let app: TestApp;
  let listener: Server;
  let received: URL[];
  let redirectUri: string;

  beforeEach(async () => {
    app = await createTestApp(await memoryDatabase());
    received = [];
    listener = createServer((req, res) => {
      received.push(new URL(req.url!, 'http://127.0.0.1'));
      res.end('You can close this window.');
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    redirectUri = `http://127.0.0.1:${(listener.address() as AddressInfo).port}/callback`;
  });
  afterEach(async () => {
    await app.close();
    await new Promise((resolve) => listener.close(resolve));
  });

  function pkce() {
    const verifier = randomBytes(32).toString('base64url');
    return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
  }

  function loginUrl(challenge: string, state: string, overrides: Record<string, string> = {}) {
    const params = new URLSearchParams({
      redirect_uri: redirectUri,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state,
      client_name: 'build-box',
      ...overrides,
    });
    return `/auth/cli?${params}`;
  }

  /** The user's browser: consent page → Allow (or Cancel) → follow the redirect to the CLI. */
  async function approve(session: Awaited<ReturnType<TestApp['signIn']>>, url: string, decision = 'allow') {
    const consent = await app.http.inject({ url, headers: { cookie: session.cookie } });
    expect(consent.statusCode).toBe(200);
    expect(consent.body).toContain('Allow the Latchkey CLI on <strong>build-box</strong> to use your account');
    const fields = Object.fromEntries(
      [...consent.body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((match) => [match[1], match[2]]),
    );
    const posted = await app.http.inject({
      method: 'POST',
      url: '/auth/cli/consent',
      headers: { ...formHeaders, cookie: session.cookie },
      payload: new URLSearchParams({ ...fields, decision }).toString(),
    });
    expect(posted.statusCode).toBe(303);
    const location = posted.headers.location as string;
    expect(location.startsWith(redirectUri)).toBe(true);
    await fetch(location);
    return received.at(-1)!;
  }

  it('mints a cli@<host> token that only the CLI holding the verifier can collect, once', async () => {
    const session = await app.signIn();
    const { verifier, challenge } = pkce();
    const callback = await approve(session, loginUrl(challenge, 'state-123'));
    expect(callback.searchParams.get('state')).toBe('state-123');
    const code = callback.searchParams.get('code')!;
    expect(code).toMatch(/^lk_code_/);
    expect(callback.href).not.toMatch(/lk_pat_1/);

    const exchange = await app.http.inject({
      method: 'POST',
      url: '/auth/cli/token',
      payload: { code, code_verifier: verifier, redirect_uri: redirectUri },
    });
    expect(exchange.statusCode).toBe(200);
    expect(exchange.headers['cache-control']).toBe('no-store');
    const issued = exchange.json();
    expect(issued.name).toBe('cli@build-box');
    const me = await app.http.inject({ url: '/api/v1/me', headers: bearer(issued.token) });
    expect(me.json().account.id).toBe(session.account.id);

    const replay = await app.http.inject({
      method: 'POST',
      url: '/auth/cli/token',
      payload: { code, code_verifier: verifier, redirect_uri: redirectUri },
    });
    expect(replay.statusCode).toBe(400);
    expect(replay.json().code).toBe('INVALID_GRANT');

    // A second login from the same host gets a suffixed name.
    const second = pkce();
    const again = await approve(session, loginUrl(second.challenge, 'state-2'));
    const secondToken = await app.http.inject({
      method: 'POST',
      url: '/auth/cli/token',
      payload: { code: again.searchParams.get('code'), code_verifier: second.verifier, redirect_uri: redirectUri },
    });
    expect(secondToken.json().name).toBe('cli@build-box-2');
    expect(app.logText()).not.toMatch(/lk_pat_1[0-9A-Za-z]{49}|lk_code_[0-9a-f]+/);
  });

  it('burns the code on a wrong verifier', async () => {
    const session = await app.signIn();
    const { verifier, challenge } = pkce();
    const code = (await approve(session, loginUrl(challenge, 's'))).searchParams.get('code');
    const wrong = await app.http.inject({
      method: 'POST',
      url: '/auth/cli/token',
      payload: { code, code_verifier: pkce().verifier, redirect_uri: redirectUri },
    });
    expect(wrong.statusCode).toBe(400);
    const right = await app.http.inject({
      method: 'POST',
      url: '/auth/cli/token',
      payload: { code, code_verifier: verifier, redirect_uri: redirectUri },
    });
    expect(right.statusCode).toBe(400);
  });

  it('sends Cancel back as access_denied, asks signed-out users to sign in, and accepts only loopback redirects', async () => {
    const session = await app.signIn();
    const { challenge } = pkce();
    const denied = await approve(session, loginUrl(challenge, 'nope'), 'deny');
    expect(denied.searchParams.get('error')).toBe('access_denied');
    expect(denied.searchParams.get('code')).toBeNull();

    const signedOut = await app.http.inject({ url: loginUrl(challenge, 's') });
    expect(signedOut.statusCode).toBe(302);
    expect(signedOut.headers.location).toMatch(/^\/auth\/sign-in\?return_to=%2Fauth%2Fcli%3F/);

    for (const bad of ['https://evil.example/callback', 'http://localhost.evil.example:8000/cb', 'http://10.0.0.1:8000/cb']) {
      const response = await app.http.inject({ url: loginUrl(challenge, 's', { redirect_uri: bad }), headers: { cookie: session.cookie } });
      expect(response.statusCode, bad).toBe(400);
    }
    const plain = await app.http.inject({ url: loginUrl(challenge, 's', { code_challenge_method: 'plain' }), headers: { cookie: session.cookie } });
    expect(plain.statusCode).toBe(400);
  });
});
