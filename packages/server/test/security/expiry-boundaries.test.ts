/**
 * docs/security.md, item 42: expiry and banner boundaries, against the DATABASE clock (expires_at
 * is written relative to the database's now() by the test/support helper). The console banner at
 * the same two points is checked in Chromium by test/browser/security-console.test.ts.
 */
import { DAY_MS, type TokenView } from '@latchkey/contract';
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { bearer, signedInAppForEachTest, type TestApp, type TestSession } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { expectResponseCode, setTokenExpiresIn } from '../support/protected-route.js';

const MINUTE_MS = 60_000;
const RFC3339_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$/;

// docs/security.md, item 42
describeEachBackend('expiry and banner boundaries follow the database clock', (ctx) => {
  let app: TestApp;
  let session: TestSession;
  signedInAppForEachTest(ctx, (fresh) => ({ app, session } = fresh));

  const storedExpiresAt = async (tokenId: string) =>
    Number(((await ctx.exec(sql`select expires_at from tokens where id = ${tokenId}`)) as Array<{ expires_at: number | string }>)[0]!.expires_at);

  it('expires_at = now()+1 s → 200 with Latchkey-Token-Expires-At = expires_at; 2 s later → R-EXPIRED', async () => {
    const { token, secret } = await app.createToken(session, 'one-second');
    const expiresAt = await setTokenExpiresIn(ctx, token.id, 1000);
    const ok = await app.http.inject({ url: '/api/v1/me', headers: bearer(secret) });
    expect(ok.statusCode, ok.body).toBe(200);
    const header = String(ok.headers['latchkey-token-expires-at']);
    expect(header).toMatch(RFC3339_UTC);
    expect(header).toBe(new Date(expiresAt).toISOString());
    expect(Date.parse(header)).toBe(await storedExpiresAt(token.id));

    await new Promise((resolve) => setTimeout(resolve, 2000));
    const expired = await app.http.inject({ url: '/api/v1/me', headers: bearer(secret) });
    const body = expectResponseCode(expired, 'R-EXPIRED');
    expect(body.expiresAt).toBe(header);
    expect(expired.headers['latchkey-token-expires-at']).toBeUndefined();
  });

  it('list state: expiring at 7 d − 1 min, active at 7 d + 1 min (list, ?state= filters and GET /tokens/:id agree)', async () => {
    const inside = await app.createToken(session, 'seven-days-minus-a-minute');
    const outside = await app.createToken(session, 'seven-days-plus-a-minute');
    await setTokenExpiresIn(ctx, inside.token.id, 7 * DAY_MS - MINUTE_MS);
    await setTokenExpiresIn(ctx, outside.token.id, 7 * DAY_MS + MINUTE_MS);

    const get = async (url: string) => (await app.http.inject({ url, headers: { cookie: session.cookie } })).json();
    const states = Object.fromEntries(((await get('/api/v1/tokens')) as { tokens: TokenView[] }).tokens.map((t) => [t.name, t.state]));
    expect(states).toEqual({ 'seven-days-minus-a-minute': 'expiring', 'seven-days-plus-a-minute': 'active' });
    const names = async (state: string) => ((await get(`/api/v1/tokens?state=${state}`)) as { tokens: TokenView[] }).tokens.map((t) => t.name);
    expect(await names('expiring')).toEqual(['seven-days-minus-a-minute']);
    expect(await names('active')).toEqual(['seven-days-plus-a-minute']);
    expect(((await get(`/api/v1/tokens/${inside.token.id}`)) as TokenView).state).toBe('expiring');
    expect(((await get(`/api/v1/tokens/${outside.token.id}`)) as TokenView).state).toBe('active');
    // The token itself sees the same state.
    const self = await app.http.inject({ url: '/api/v1/tokens/self', headers: bearer(inside.secret) });
    expect((self.json() as TokenView).state).toBe('expiring');
    expect(self.headers['latchkey-token-expires-at']).toBe(new Date(await storedExpiresAt(inside.token.id)).toISOString());
  });

  it('a new token lives 180 days ± 1 s: in the response, in the header and in the database', async () => {
    const { token, secret } = await app.createToken(session, 'default-lifetime');
    const lifetime = Date.parse(token.expiresAt) - Date.parse(token.createdAt);
    expect(Math.abs(lifetime - 180 * DAY_MS)).toBeLessThanOrEqual(1000);
    expect(token.expiresAt).toMatch(RFC3339_UTC);
    const rows = (await ctx.exec(sql`select created_at, expires_at from tokens where id = ${token.id}`)) as Array<{
      created_at: number | string;
      expires_at: number | string;
    }>;
    expect(Math.abs(Number(rows[0]!.expires_at) - Number(rows[0]!.created_at) - 180 * DAY_MS)).toBeLessThanOrEqual(1000);
    const me = await app.http.inject({ url: '/api/v1/me', headers: bearer(secret) });
    expect(me.headers['latchkey-token-expires-at']).toBe(token.expiresAt);
    expect(Date.parse(token.expiresAt)).toBe(Number(rows[0]!.expires_at));
  });
});
