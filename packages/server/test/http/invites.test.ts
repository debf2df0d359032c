/**
 * Invites (docs/security.md, item 49): an administrator's invite creates a new account and a
 * one-time link for it, and never hands out a way to sign in as an account that already exists.
 */
import { SESSION_COOKIE } from '@latchkey/contract';
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { TEST_ORIGIN, appForEachTest, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';

const formHeaders = { 'content-type': 'application/x-www-form-urlencoded', origin: TEST_ORIGIN, 'sec-fetch-site': 'same-origin' };

describeEachBackend('invites', (ctx) => {
  let app: TestApp;
  appForEachTest(ctx, (fresh) => (app = fresh));

  async function count(table: 'accounts' | 'signin_links' | 'audit_events' | 'sessions'): Promise<number> {
    const rows = (await ctx.exec(sql`select count(*) as n from ${sql.table(table)}`)) as Array<{ n: number | string }>;
    return Number(rows[0]!.n);
  }

  async function invite(headers: Record<string, string>, email: string) {
    return app.http.inject({ method: 'POST', url: '/api/v1/invites', headers, payload: { email } });
  }

  /** Uses a one-time link as a browser would; the account the new session belongs to. */
  async function signInWith(url: string): Promise<string> {
    const used = await app.http.inject({ method: 'POST', url: new URL(url).pathname, headers: formHeaders, payload: '' });
    expect(used.statusCode).toBe(303);
    const header = used.headers['set-cookie'];
    const cookie = [header ?? []].flat().find((value) => value.startsWith(`${SESSION_COOKIE}=`))!.split(';')[0]!;
    const me = await app.http.inject({ url: '/api/v1/me', headers: { cookie } });
    return me.json().account.id as string;
  }

  it('an invite creates a new account, and its link signs in as that account, not as the administrator', async () => {
    const admin = await app.signIn({ isAdmin: true });
    const response = await invite(admin.headers, 'Carol@Example.test');
    expect(response.statusCode).toBe(201);
    const created = response.json();
    expect(created.email).toBe('carol@example.test');
    expect(created.accountId).not.toBe(admin.account.id);
    expect(await signInWith(created.url)).toBe(created.accountId);
  });

  it('refuses an invite for an email that already has an account: 409 ACCOUNT_EXISTS, no link, nothing written', async () => {
    const admin = await app.signIn({ isAdmin: true });
    const bob = await app.signIn({ email: 'bob@example.com' });
    const before = { accounts: await count('accounts'), links: await count('signin_links'), audit: await count('audit_events') };

    for (const email of ['bob@example.com', 'Bob@Example.COM']) {
      const refused = await invite(admin.headers, email);
      expect(refused.statusCode, email).toBe(409);
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(refused.json()).toMatchObject({ code: 'ACCOUNT_EXISTS', status: 409, type: '/docs/errors/account-exists' });
      expect(refused.body).not.toContain('/auth/link/');
    }
    expect({ accounts: await count('accounts'), links: await count('signin_links'), audit: await count('audit_events') }).toEqual(before);

    // The administrator's own account is refused the same way: no link to sign in as anyone.
    const self = await invite(admin.headers, admin.account.email!);
    expect(self.json().code).toBe('ACCOUNT_EXISTS');
    expect(bob.account.email).toBe('bob@example.com');
  });

  it('a second invite for the same email is refused, even before the first link was used', async () => {
    const admin = await app.signIn({ isAdmin: true });
    expect((await invite(admin.headers, 'dana@example.test')).statusCode).toBe(201);
    const again = await invite(admin.headers, 'dana@example.test');
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('ACCOUNT_EXISTS');
    expect(await count('signin_links')).toBe(1);
  });
  it('an invite whose link cannot be written leaves no account behind, so the same invite succeeds once it can', async () => {
    const admin = await app.signIn({ isAdmin: true });
    const before = await count('accounts');
    await ctx.exec(sql`alter table signin_links rename to signin_links_away`);
    try {
      const failed = await invite(admin.headers, 'erin@example.test');
      expect(failed.statusCode).toBeGreaterThanOrEqual(500);
      expect(failed.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(await count('accounts')).toBe(before);
    } finally {
      await ctx.exec(sql`alter table signin_links_away rename to signin_links`);
    }
    const retried = await invite(admin.headers, 'erin@example.test');
    expect(retried.statusCode).toBe(201);
    expect(await signInWith(retried.json().url)).toBe(retried.json().accountId);
  });
});
