/**
 * Forward auth, `GET /api/v1/verify` (docs/forward-auth.md; docs/security.md, item 54 through
 * real proxies in test/scale/forward-auth.test.ts): on both databases, a valid token is 204 with
 * the identity headers; the demanded scope and namespace are checked; every refusal is the error
 * contract's, with its challenge.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { bearer, signedInAppForEachTest, type TestApp, type TestSession } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { expectResponseCode, expectScopeRefusal, unknownWellFormedToken } from '../support/protected-route.js';

describeEachBackend('forward auth (GET /api/v1/verify)', (ctx) => {
  let app: TestApp;
  let session: TestSession;
  signedInAppForEachTest(ctx, (fresh) => ({ app, session } = fresh));

  const verify = (secret: string, query = '', remoteAddress?: string) =>
    app.http.inject({ url: `/api/v1/verify${query}`, headers: bearer(secret), remoteAddress });

  it('answers a valid token 204 with who it is: account, email, token, scopes, expiry; no body', async () => {
    const { token, secret } = await app.createToken(session, 'gateway', { scopes: ['namespaces:read'] });
    const response = await verify(secret);
    expect(response.statusCode).toBe(204);
    expect(response.body).toBe('');
    expect(response.headers).toMatchObject({
      'latchkey-account-id': session.account.id,
      'latchkey-account-email': session.account.email,
      'latchkey-token-id': token.id,
      'latchkey-token-scopes': 'namespaces:read',
      'latchkey-token-expires-at': token.expiresAt,
      'cache-control': 'no-store',
    });
  });

  it('checks the demanded scope (write includes read) and names it when missing', async () => {
    const { secret } = await app.createToken(session, 'ns-writer', { scopes: ['namespaces:write'] });
    expect((await verify(secret, '?scope=namespaces:write')).statusCode).toBe(204);
    expect((await verify(secret, '?scope=namespaces:read')).statusCode).toBe(204);
    expectScopeRefusal(await verify(secret, '?scope=tokens:read'), 'tokens:read');
  });

  it("checks the demanded namespace against the token's restriction, naming it when outside", async () => {
    const { secret } = await app.createToken(session, 'preview', { scopes: ['namespaces:write'], namespaces: ['preview-*'] });
    expect((await verify(secret, '?scope=namespaces:write&namespace=preview-42')).statusCode).toBe(204);
    expectScopeRefusal(await verify(secret, '?scope=namespaces:write&namespace=prod'), 'namespaces:write', 'prod');
    // A namespace alone: refused without naming a scope, the challenge says only why.
    const alone = await verify(secret, '?namespace=prod');
    expect(alone.statusCode).toBe(403);
    expect(alone.headers['www-authenticate']).toBe('Bearer realm="api", error="insufficient_scope"');
    expect(alone.json()).toMatchObject({ code: 'INSUFFICIENT_SCOPE', namespace: 'prod' });
    expect(alone.json()).not.toHaveProperty('requiredScope');
    // An unrestricted token may touch any namespace.
    const { secret: open } = await app.createToken(session, 'open');
    expect((await verify(open, '?namespace=prod')).statusCode).toBe(204);
  });

  it('refuses an unknown scope or a malformed namespace as a bad parameter (R-422), not as a pass', async () => {
    const { secret } = await app.createToken(session, 'any');
    for (const query of ['?scope=everything', '?namespace=Not_A_Label', '?namespace=']) {
      expectResponseCode(await verify(secret, query), 'R-422');
    }
  });

  it('refuses what the API refuses: no token, a session cookie, unknown, revoked, expired, outside the allowlist', async () => {
    expectResponseCode(await app.http.inject({ url: '/api/v1/verify' }), 'R-NOAUTH');
    expectResponseCode(await app.http.inject({ url: '/api/v1/verify', headers: { cookie: session.cookie } }), 'R-NOAUTH');
    expectResponseCode(await verify(unknownWellFormedToken()), 'R-INVALID');
    const revoked = await app.createToken(session, 'revoked');
    await app.http.inject({ method: 'DELETE', url: `/api/v1/tokens/${revoked.token.id}`, headers: session.headers });
    expectResponseCode(await verify(revoked.secret), 'R-INVALID');
    const expired = await app.createToken(session, 'expired');
    await ctx.exec(sql`update tokens set expires_at = 1000 where id = ${expired.token.id}`);
    expectResponseCode(await verify(expired.secret), 'R-EXPIRED');
    const walled = await app.createToken(session, 'walled', { allowedIps: ['10.0.0.0/8'] });
    expect((await verify(walled.secret, '', '10.1.1.1')).statusCode).toBe(204);
    expectResponseCode(await verify(walled.secret, '', '192.0.2.1'), 'R-INVALID');
  });

  describe('identity headers', () => {
    it('an email outside ASCII is percent-encoded; an account without email gets an empty email header', async () => {
      const unicode = await app.signIn({ email: 'zoë@example.test' });
      const { secret } = await app.createToken(unicode, 'u');
      expect((await verify(secret)).headers['latchkey-account-email']).toBe(encodeURIComponent('zoë@example.test'));
      await ctx.exec(sql`update accounts set email = null where id = ${session.account.id}`);
      const { secret: nameless } = await app.createToken(session, 'nameless');
      const response = await verify(nameless);
      expect(response.statusCode).toBe(204);
      expect(response.headers['latchkey-account-email']).toBe('');
    });
  });
});
