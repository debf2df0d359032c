/**
 * docs/security.md, item 29: the token is shown once. POST /tokens carries it exactly once, with
 * `Cache-Control: no-store`; every later view (the list, one token, the token itself, the
 * console's HTML) shows only `lk_pat_1…` + last4. The show-once page's URL is checked in
 * Chromium by test/browser/console.test.ts ("New Token → Generate → Copy": location, title,
 * local/session storage and the page after Done hold no token).
 */
import { tokenScannerRegExp, type CreateTokenResponse } from '@latchkey/contract';
import { expect, it } from 'vitest';
import { CONSOLE_PATHS } from '../../src/console/console-routes.js';
import { bearer, signedInAppForEachTest, type TestApp, type TestSession } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';

const matches = (text: string) => text.match(tokenScannerRegExp()) ?? [];

// docs/security.md, item 29
describeEachBackend('a token is shown once', (ctx) => {
  let app: TestApp;
  let session: TestSession;
  signedInAppForEachTest(ctx, (fresh) => ({ app, session } = fresh));

  it('POST /tokens returns the token exactly once, with Cache-Control: no-store, and nowhere in the headers', async () => {
    const response = await app.http.inject({ method: 'POST', url: '/api/v1/tokens', headers: session.headers, payload: { name: 'once' } });
    expect(response.statusCode).toBe(201);
    expect(response.headers['cache-control']).toBe('no-store');
    const { secret, token } = response.json() as CreateTokenResponse;
    expect(matches(response.body)).toEqual([secret]);
    expect(response.body.split(secret)).toHaveLength(2);
    expect(matches(JSON.stringify(response.headers))).toEqual([]);
    expect(token.displayToken).toBe(`lk_pat_1…${secret.slice(-4)}`);
  });

  it('GET /tokens, GET /tokens/:id, GET /tokens/self and the console HTML show only lk_pat_1… + last4', async () => {
    const created = [await app.createToken(session, 'first'), await app.createToken(session, 'second')];
    const revoked = await app.createToken(session, 'revoked');
    await app.http.inject({ method: 'DELETE', url: `/api/v1/tokens/${revoked.token.id}`, headers: session.headers });

    const views = [
      await app.http.inject({ url: '/api/v1/tokens', headers: { cookie: session.cookie } }),
      await app.http.inject({ url: '/api/v1/tokens?state=all', headers: { cookie: session.cookie } }),
      ...(await Promise.all(
        [...created, revoked].map((c) => app.http.inject({ url: `/api/v1/tokens/${c.token.id}`, headers: { cookie: session.cookie } })),
      )),
      ...(await Promise.all(created.map((c) => app.http.inject({ url: '/api/v1/tokens/self', headers: bearer(c.secret) })))),
      await app.http.inject({ url: '/api/v1/me', headers: { cookie: session.cookie } }),
      ...(await Promise.all(CONSOLE_PATHS.map((url) => app.http.inject({ url, headers: { cookie: session.cookie } })))),
    ];
    for (const view of views) {
      expect(view.statusCode, view.body).toBeLessThan(500);
      expect(matches(view.body), view.body).toEqual([]);
      expect(matches(JSON.stringify(view.headers))).toEqual([]);
      for (const { secret } of [...created, revoked]) expect(view.body.includes(secret.slice(8, 51))).toBe(false);
    }
    const list = views[1]!.json() as { tokens: Array<{ name: string; displayToken: string }> };
    expect(list.tokens.map((t) => t.name).sort()).toEqual(['first', 'revoked', 'second']);
    for (const { token, secret } of [...created, revoked]) {
      expect(list.tokens.find((t) => t.name === token.name)!.displayToken).toBe(`lk_pat_1…${secret.slice(-4)}`);
    }
    // The control: these views do answer with token data.
    expect(views[2]!.statusCode).toBe(200);
    expect(views[5]!.statusCode).toBe(200);
  });
});
