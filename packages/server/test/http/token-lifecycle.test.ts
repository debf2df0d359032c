import { TOKEN_SHAPE } from '@latchkey/contract';
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { appForEachTest, bearer, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';

describeEachBackend('a token from creation to revocation', (ctx) => {
  let app: TestApp;
  appForEachTest(ctx, (fresh) => (app = fresh));

  it('is shown once, authenticates, and is refused right after it is deleted', async () => {
    const session = await app.signIn();
    const { token, secret } = await app.createToken(session, 'ci');
    expect(secret).toMatch(TOKEN_SHAPE);
    expect(token.state).toBe('active');

    const me = await app.http.inject({ url: '/api/v1/me', headers: bearer(secret) });
    expect(me.statusCode).toBe(200);
    expect(me.json().account.id).toBe(session.account.id);
    expect(me.headers['latchkey-token-expires-at']).toBe(token.expiresAt);

    const list = await app.http.inject({ url: '/api/v1/tokens', headers: { cookie: session.cookie } });
    expect(list.json().tokens.map((t: { id: string }) => t.id)).toEqual([token.id]);
    expect(list.body).not.toContain(secret);

    const del = await app.http.inject({ method: 'DELETE', url: `/api/v1/tokens/${token.id}`, headers: session.headers });
    expect(del.statusCode).toBe(204);

    const after = await app.http.inject({ url: '/api/v1/me', headers: bearer(secret) });
    expect(after.statusCode).toBe(401);
    expect(after.json().code).toBe('INVALID_TOKEN');
  });

  it('tells an expired token apart, with the date it expired, so clients can say "create a new one"', async () => {
    const session = await app.signIn();
    const { token, secret } = await app.createToken(session, 'old');
    const past = (await ctx.database.now()) - 1000;
    await ctx.exec(sql`update tokens set expires_at = ${past} where id = ${token.id}`);
    const response = await app.http.inject({ url: '/api/v1/me', headers: bearer(secret) });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual({
      type: '/docs/errors/token-expired',
      title: 'Token expired',
      status: 401,
      code: 'TOKEN_EXPIRED',
      detail: 'The token expired; create a new one.',
      expiresAt: new Date(past).toISOString(),
    });
  });
});
