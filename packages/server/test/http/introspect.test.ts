/**
 * RFC 7662 introspection, `POST /api/v1/introspect` (docs/forward-auth.md; docs/security.md,
 * item 55), on both databases: only a token holding `introspect` may call it; an active token is
 * described; anything else is exactly `{"active":false}`; the answer never holds a secret; the
 * caller's address is never throttled for the bad tokens it checks.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/audit/audit-event.js';
import { createMemoryFailureLimiter } from '../../src/auth-failures/memory-failure-limiter.js';
import { systemClock } from '../../src/kernel/clock.js';
import { bearer, createTestApp, signedInAppForEachTest, type TestApp, type TestSession } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { expectResponseCode, expectScopeRefusal, unknownWellFormedToken } from '../support/protected-route.js';

const form = (fields: Record<string, string>) => ({
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  payload: new URLSearchParams(fields).toString(),
});

describeEachBackend('introspection (POST /api/v1/introspect)', (ctx) => {
  let app: TestApp;
  let session: TestSession;
  let service: string;
  signedInAppForEachTest(ctx, async (fresh) => {
    ({ app, session } = fresh);
    service = (await app.createToken(session, 'gateway', { scopes: ['introspect'] })).secret;
  });

  const introspect = (token: string, caller = service, remoteAddress?: string) => {
    const { headers, payload } = form({ token });
    return app.http.inject({ method: 'POST', url: '/api/v1/introspect', headers: { ...headers, ...bearer(caller) }, payload, remoteAddress });
  };

  it('describes an active token: scope, owner, times in seconds, id, restrictions; never a secret', async () => {
    const { token, secret } = await app.createToken(session, 'ci', {
      scopes: ['namespaces:write'],
      namespaces: ['preview-*'],
      allowedIps: ['10.0.0.0/8'],
    });
    const response = await introspect(secret);
    expect(response.statusCode).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.json()).toEqual({
      active: true,
      scope: 'namespaces:write',
      sub: session.account.id,
      username: session.account.email,
      exp: Math.floor(Date.parse(token.expiresAt) / 1000),
      iat: Math.floor(Date.parse(token.createdAt) / 1000),
      token_type: 'Bearer',
      token_id: token.id,
      namespaces: ['preview-*'],
      allowed_ips: ['10.0.0.0/8'],
    });
    expect(response.body).not.toContain(secret);
    expect(response.body).not.toContain(service);
  });

  it('takes JSON as well as the form the RFC prescribes', async () => {
    const { secret } = await app.createToken(session, 'json');
    const response = await app.http.inject({
      method: 'POST',
      url: '/api/v1/introspect',
      headers: bearer(service),
      payload: { token: secret, token_type_hint: 'access_token' },
    });
    expect(response.json()).toMatchObject({ active: true });
  });

  it('answers exactly {"active":false} for malformed, unknown, revoked, expired and disabled-owner tokens', async () => {
    const revoked = await app.createToken(session, 'revoked');
    await app.http.inject({ method: 'DELETE', url: `/api/v1/tokens/${revoked.token.id}`, headers: session.headers });
    const expired = await app.createToken(session, 'expired');
    await ctx.exec(sql`update tokens set expires_at = 1000 where id = ${expired.token.id}`);
    const other = await app.signIn();
    const disabled = await app.createToken(other, 'disabled-owner');
    await app.services.accounts.disable(other.account.id, SYSTEM_ACTOR);

    const bodies = [];
    for (const token of ['', 'lk_pat_1notatoken', unknownWellFormedToken(), revoked.secret, expired.secret, disabled.secret, 'x'.repeat(4096)]) {
      const response = await introspect(token);
      expect(response.statusCode, token.slice(0, 20)).toBe(200);
      bodies.push(response.body);
    }
    expect(new Set(bodies)).toEqual(new Set(['{"active":false}']));
  });

  it('only a token holding introspect may ask; a session may not; a bad caller token is refused as usual', async () => {
    const { secret: plain } = await app.createToken(session, 'plain');
    expectScopeRefusal(await introspect(plain, plain), 'introspect');
    const { headers, payload } = form({ token: plain });
    expectResponseCode(
      await app.http.inject({ method: 'POST', url: '/api/v1/introspect', headers: { ...headers, ...session.headers }, payload }),
      'R-NOAUTH',
    );
    expectResponseCode(await introspect(plain, unknownWellFormedToken()), 'R-INVALID');
  });

  it('refuses a missing token or an unknown field (R-422), never answering for a token it was not asked about', async () => {
    for (const fields of [{}, { token: 'x', surprise: '1' }, { tok: 'x' }]) {
      const { headers, payload } = form(fields as Record<string, string>);
      expectResponseCode(
        await app.http.inject({ method: 'POST', url: '/api/v1/introspect', headers: { ...headers, ...bearer(service) }, payload }),
        'R-422',
      );
    }
  });

  describe('the throttle', () => {
    it("never counts the bad tokens a service checks against the service's address", async () => {
      const throttled = await createTestApp(ctx.database, { failureLimiter: createMemoryFailureLimiter({ clock: systemClock }) });
      try {
        const owner = await throttled.signIn();
        const { secret: gateway } = await throttled.createToken(owner, 'gateway', { scopes: ['introspect'] });
        for (let i = 0; i < 60; i++) {
          const { headers, payload } = form({ token: unknownWellFormedToken() });
          const response = await throttled.http.inject({
            method: 'POST',
            url: '/api/v1/introspect',
            headers: { ...headers, ...bearer(gateway) },
            payload,
            remoteAddress: '192.0.2.50',
          });
          expect(response.statusCode).toBe(200);
          expect(response.body).toBe('{"active":false}');
        }
      } finally {
        await throttled.close();
      }
    });
  });
});
