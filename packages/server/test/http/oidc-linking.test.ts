/**
 * Joining a first-time OpenID Connect identity to an existing account by email, against a real
 * provider: the email and its verification come from one source, and only an invited account
 * that has never signed in is joined (or any account, when the operator opts in).
 */
import { SESSION_COOKIE } from '@latchkey/contract';
import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { TEST_ORIGIN, TEST_PUBLIC_URL, createTestApp, type TestApp, type TestSession } from '../support/app.js';
import { describeEachBackend, type BackendContext } from '../support/databases.js';
import { TEST_CLIENT_ID, TEST_CLIENT_SECRET, followToApp, startTestProvider, type TestProvider } from '../support/oidc-provider.js';

const CALLBACK = `${TEST_PUBLIC_URL}/auth/oidc/callback`;
const formHeaders = { 'content-type': 'application/x-www-form-urlencoded', origin: TEST_ORIGIN, 'sec-fetch-site': 'same-origin' };

let provider: TestProvider;
beforeAll(async () => {
  // Claims in the ID token as well, so a test can make the two sources disagree.
  provider = await startTestProvider(CALLBACK, { claimsInIdToken: true });
});
afterAll(() => provider.close());

function sessionCookieFrom(response: LightMyRequestResponse): string | undefined {
  const header = response.headers['set-cookie'];
  const cookies = header === undefined ? [] : Array.isArray(header) ? header : [header];
  return cookies.find((value) => value.startsWith(`${SESSION_COOKIE}=`) && !/Max-Age=0/.test(value))?.split(';')[0];
}

function linkingSuite(ctx: BackendContext, linkExistingAccounts: boolean) {
  let app: TestApp;
  let admin: TestSession;

  beforeEach(async () => {
    provider.subject = 'alice';
    provider.claims = undefined;
    app = await createTestApp(ctx.database, {
      oidc: {
        issuer: provider.issuer,
        clientId: TEST_CLIENT_ID,
        clientSecret: TEST_CLIENT_SECRET,
        redirectUri: CALLBACK,
        adminEmails: [],
        linkExistingAccounts,
      },
    });
    admin = await app.signIn({ isAdmin: true });
  });
  afterEach(() => app.close());

  /** A complete OpenID Connect sign-in as `subject`: the callback's answer. */
  async function signInWithProvider(subject: string): Promise<LightMyRequestResponse> {
    provider.subject = subject;
    const start = await app.http.inject({ url: '/auth/oidc/start' });
    const header = start.headers['set-cookie'];
    const flowCookie = [header ?? []].flat().find((value) => value.startsWith('__Host-latchkey_flow='))!.split(';')[0]!;
    const callback = await followToApp(start.headers.location as string, new URL(TEST_PUBLIC_URL).origin);
    return app.http.inject({ url: callback.pathname + callback.search, headers: { cookie: flowCookie } });
  }

  async function accountIdOf(response: LightMyRequestResponse): Promise<string> {
    expect(response.statusCode, response.body).toBe(303);
    const me = await app.http.inject({ url: '/api/v1/me', headers: { cookie: sessionCookieFrom(response)! } });
    return me.json().account.id as string;
  }

  async function invite(email: string): Promise<{ accountId: string; url: string }> {
    const response = await app.http.inject({ method: 'POST', url: '/api/v1/invites', headers: admin.headers, payload: { email } });
    expect(response.statusCode).toBe(201);
    return response.json();
  }

  async function identityOf(accountId: string): Promise<string | null> {
    const rows = (await ctx.exec(sql`select oidc_subject from accounts where id = ${accountId}`)) as Array<{ oidc_subject: string | null }>;
    return rows[0]!.oidc_subject;
  }

  async function counts() {
    const count = async (table: string) =>
      Number(((await ctx.exec(sql`select count(*) as n from ${sql.table(table)}`)) as Array<{ n: number | string }>)[0]!.n);
    return { accounts: await count('accounts'), sessions: await count('sessions'), audit: await count('audit_events') };
  }

  return { signInWithProvider, accountIdOf, invite, identityOf, counts, app: () => app };
}

describeEachBackend('OpenID Connect account linking', (ctx) => {
  const suite = linkingSuite(ctx, false);

  it('links an invited account that has never signed in, and that identity signs in to it from then on', async () => {
    const invited = await suite.invite('dave@example.test');
    expect(await suite.accountIdOf(await suite.signInWithProvider('dave'))).toBe(invited.accountId);
    expect(await suite.identityOf(invited.accountId)).toBe('dave');
    // Already bound: signs in again (the account has signed in by now).
    expect(await suite.accountIdOf(await suite.signInWithProvider('dave'))).toBe(invited.accountId);
  });

  it('takes email and email_verified from one source: an address verified only by UserInfo links nothing', async () => {
    const invited = await suite.invite('carol@example.test');
    // The ID token names carol's address without saying it is verified (and no name, so UserInfo
    // is asked too), while UserInfo calls its own, different address verified.
    provider.claims = (use) =>
      use === 'id_token'
        ? { email: 'carol@example.test', email_verified: undefined, name: undefined }
        : { email: 'someone-else@example.test', email_verified: true };
    const unverified = await suite.signInWithProvider('carol');
    expect(await suite.accountIdOf(unverified)).not.toBe(invited.accountId);
    expect(await suite.identityOf(invited.accountId)).toBeNull();

    // The ID token says "not verified" outright; UserInfo says verified.
    provider.claims = (use) =>
      use === 'id_token' ? { email: 'carol@example.test', email_verified: false, name: undefined } : { email_verified: true };
    expect(await suite.accountIdOf(await suite.signInWithProvider('carol-2'))).not.toBe(invited.accountId);
    expect(await suite.identityOf(invited.accountId)).toBeNull();
  });

  it('refuses to link an account that has already signed in (here by its one-time link): 409 ACCOUNT_LINK_REFUSED, nothing written', async () => {
    const invited = await suite.invite('erin@example.test');
    const used = await suite.app().http.inject({ method: 'POST', url: new URL(invited.url).pathname, headers: formHeaders, payload: '' });
    expect(used.statusCode).toBe(303);
    const before = await suite.counts();

    const refused = await suite.signInWithProvider('erin');
    expect(refused.statusCode).toBe(409);
    expect(refused.headers['content-type']).toMatch(/^text\/html/);
    expect(refused.body).toContain('An account with this email already exists');
    expect(refused.body).toContain('<code>ACCOUNT_LINK_REFUSED</code>');
    expect(sessionCookieFrom(refused)).toBeUndefined();
    expect(await suite.identityOf(invited.accountId)).toBeNull();
    expect(await suite.counts()).toEqual(before);
  });

  it('refuses an identity whose email belongs to an account bound to another identity', async () => {
    const invited = await suite.invite('frank@example.test');
    expect(await suite.accountIdOf(await suite.signInWithProvider('frank'))).toBe(invited.accountId);
    provider.claims = () => ({ email: 'frank@example.test', email_verified: true });
    const before = await suite.counts();
    const other = await suite.signInWithProvider('frank-impostor');
    expect(other.statusCode).toBe(409);
    expect(sessionCookieFrom(other)).toBeUndefined();
    expect(await suite.counts()).toEqual(before);
  });
});

describeEachBackend('OpenID Connect account linking with OIDC_LINK_EXISTING_ACCOUNTS=true', (ctx) => {
  const suite = linkingSuite(ctx, true);

  it('links an account that has already signed in', async () => {
    const invited = await suite.invite('gina@example.test');
    const used = await suite.app().http.inject({ method: 'POST', url: new URL(invited.url).pathname, headers: formHeaders, payload: '' });
    expect(used.statusCode).toBe(303);
    expect(await suite.accountIdOf(await suite.signInWithProvider('gina'))).toBe(invited.accountId);
    expect(await suite.identityOf(invited.accountId)).toBe('gina');
  });
});
