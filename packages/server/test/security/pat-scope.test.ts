/**
 * docs/security.md, item 34: a personal access token manages tokens only with a token scope
 * (tokens:read, tokens:write; docs/scopes.md). The shared suite in
 * test/http/protected-routes.test.ts already checks, per route and scope set, R-SCOPE naming
 * the scope, and that a session cookie gets R-NOAUTH on the bearer-only /tokens/self routes.
 * This file adds what the item says beyond that: a token without token scopes (as every token
 * was before scopes) refused on ANOTHER token's id and its own, nothing changed after each
 * refusal, and DELETE /tokens/self followed by R-INVALID for that token.
 */
import { expect, it } from 'vitest';
import { bearer, signedInAppForEachTest, type TestApp, type TestSession } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { expectResponseCode, expectScopeRefusal } from '../support/protected-route.js';

// docs/security.md, item 34
describeEachBackend('a personal access token without token scopes cannot manage tokens', (ctx) => {
  let app: TestApp;
  let session: TestSession;
  signedInAppForEachTest(ctx, (fresh) => ({ app, session } = fresh));

  const tokenNames = async () =>
    ((await app.http.inject({ url: '/api/v1/tokens?state=all', headers: { cookie: session.cookie } })).json() as {
      tokens: Array<{ name: string; state: string }>;
    }).tokens
      .map((t) => `${t.name}:${t.state}`)
      .sort();

  it('POST /tokens, GET /tokens, GET and DELETE /tokens/<other id> with a namespaces-only PAT → R-SCOPE naming the scope, and nothing changes', async () => {
    const pat = await app.createToken(session, 'pat', { scopes: ['namespaces:read', 'namespaces:write'] });
    const other = await app.createToken(session, 'other');
    const before = await tokenNames();

    const refused = [
      await app.http.inject({ method: 'POST', url: '/api/v1/tokens', headers: bearer(pat.secret), payload: { name: 'minted-by-pat' } }),
      await app.http.inject({ url: '/api/v1/tokens', headers: bearer(pat.secret) }),
      await app.http.inject({ url: `/api/v1/tokens/${other.token.id}`, headers: bearer(pat.secret) }),
      await app.http.inject({ method: 'DELETE', url: `/api/v1/tokens/${other.token.id}`, headers: bearer(pat.secret) }),
      await app.http.inject({ method: 'DELETE', url: `/api/v1/tokens/${pat.token.id}`, headers: bearer(pat.secret) }),
      // With the session's CSRF headers alongside, the bearer token still decides: refused.
      await app.http.inject({ method: 'DELETE', url: `/api/v1/tokens/${other.token.id}`, headers: { ...session.headers, ...bearer(pat.secret) } }),
    ];
    const needed = ['tokens:write', 'tokens:read', 'tokens:read', 'tokens:write', 'tokens:write', 'tokens:write'];
    refused.forEach((response, index) => {
      const body = expectScopeRefusal(response, needed[index]!);
      expect(body.type).toBe('/docs/errors/insufficient-scope');
    });

    expect(await tokenNames()).toEqual(before);
    for (const token of [pat, other]) {
      expect((await app.http.inject({ url: '/api/v1/me', headers: bearer(token.secret) })).statusCode).toBe(200);
    }
  });

  it('DELETE /tokens/self → 204, then that token → R-INVALID everywhere; its sibling still works', async () => {
    const pat = await app.createToken(session, 'self-revoking');
    const sibling = await app.createToken(session, 'sibling');
    const revoked = await app.http.inject({ method: 'DELETE', url: '/api/v1/tokens/self', headers: bearer(pat.secret) });
    expect(revoked.statusCode).toBe(204);
    expect(revoked.body).toBe('');

    for (const [method, url] of [
      ['GET', '/api/v1/me'],
      ['GET', '/api/v1/tokens/self'],
      ['DELETE', '/api/v1/tokens/self'],
      ['GET', '/api/v1/namespaces'],
    ] as const) {
      expectResponseCode(await app.http.inject({ method, url, headers: bearer(pat.secret) }), 'R-INVALID');
    }
    expect((await app.http.inject({ url: '/api/v1/me', headers: bearer(sibling.secret) })).statusCode).toBe(200);
    expect(await tokenNames()).toEqual(['self-revoking:revoked', 'sibling:active']);
  });

  it('a session cookie on a bearer-only route is not authentication (R-NOAUTH) and revokes nothing', async () => {
    const pat = await app.createToken(session, 'kept');
    for (const [method, url] of [
      ['GET', '/api/v1/tokens/self'],
      ['DELETE', '/api/v1/tokens/self'],
    ] as const) {
      expectResponseCode(await app.http.inject({ method, url, headers: session.headers }), 'R-NOAUTH');
      expectResponseCode(await app.http.inject({ method, url, headers: { cookie: session.cookie } }), 'R-NOAUTH');
    }
    expect((await app.http.inject({ url: '/api/v1/me', headers: bearer(pat.secret) })).statusCode).toBe(200);
    expect(await tokenNames()).toEqual(['kept:active']);
  });
});
