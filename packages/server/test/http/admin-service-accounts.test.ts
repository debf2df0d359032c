/**
 * Service accounts over HTTP, on both databases (docs/api.md, "Administration API"): created,
 * listed with their creator a page at a time, deleted with their tokens; tokens minted by an
 * administrator under the service policy (shown once, never an admin scope); and a service
 * account never signs in. Every action audited with the administrator as actor.
 */
import { randomUUID } from 'node:crypto';
import type {
  AdminAccountList,
  AdminAccountView,
  AdminAuditList,
  AdminServiceAccountList,
  AdminServiceAccountView,
  CreateTokenResponse,
} from '@latchkey/contract';
import { TOKEN_SCOPES, SESSION_COOKIE } from '@latchkey/contract';
import type { LightMyRequestResponse } from 'fastify';
import { expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/audit/audit-event.js';
import { AppError } from '../../src/kernel/app-error.js';
import { TEST_ORIGIN, appForEachTest, bearer, type TestApp, type TestSession } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { expectResponseCode } from '../support/protected-route.js';

const DAY_MS = 86_400_000;

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

describeEachBackend('service accounts', (ctx) => {
  let app: TestApp;
  let admin: TestSession;
  appForEachTest(ctx, async (fresh) => {
    app = fresh;
    admin = await app.signIn({ isAdmin: true, email: `admin-${randomUUID().slice(0, 8)}@example.test` });
  });

  const call = (method: Method, url: string, payload?: unknown, headers = admin.headers): Promise<LightMyRequestResponse> =>
    app.http.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
  async function ok<T>(response: Promise<LightMyRequestResponse>, status = 200): Promise<T> {
    const answered = await response;
    expect(answered.statusCode, answered.body).toBe(status);
    return (answered.body ? answered.json() : undefined) as T;
  }
  const create = (name: string, description?: string) =>
    ok<AdminServiceAccountView>(call('POST', '/api/v1/admin/service-accounts', { name, ...(description ? { description } : {}) }), 201);
  const mint = (id: string, body: Record<string, unknown>) => call('POST', `/api/v1/admin/service-accounts/${id}/tokens`, body);
  const auditOf = async (action: string) => (await ok<AdminAuditList>(call('GET', `/api/v1/admin/audit?action=${action}`))).events;

  it('creates a service account with its creator, audited with the administrator as actor, and lists them newest first in pages', async () => {
    const ci = await create('ci-deploy', 'Deploys from CI');
    expect(ci).toMatchObject({
      name: 'ci-deploy',
      description: 'Deploys from CI',
      activeTokens: 0,
      createdBy: { id: admin.account.id, email: admin.account.email },
    });
    const [created] = await auditOf('service_account.created');
    expect(created).toMatchObject({ targetId: ci.id, actor: { accountId: admin.account.id }, detail: { name: 'ci-deploy' } });

    const more = [await create('backup'), await create('metrics')];
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: AdminServiceAccountList = await ok(call('GET', `/api/v1/admin/service-accounts?limit=2${cursor ? `&cursor=${cursor}` : ''}`));
      seen.push(...page.serviceAccounts.map((account) => account.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(2);
    expect(new Set(seen)).toEqual(new Set([ci.id, ...more.map((account) => account.id)]));
    // People are not service accounts.
    expect(seen).not.toContain(admin.account.id);

    // The accounts list holds both, each saying which it is.
    const accounts = (await ok<AdminAccountList>(call('GET', '/api/v1/admin/accounts?limit=200'))).accounts;
    const kinds = new Map(accounts.map((account) => [account.id, account.kind]));
    expect(kinds.get(admin.account.id)).toBe('person');
    for (const account of [ci, ...more]) expect(kinds.get(account.id)).toBe('service');
    expect((await ok<AdminAccountView>(call('GET', `/api/v1/admin/accounts/${ci.id}`))).kind).toBe('service');
  });

  it('mints a token for it, shown once, audited with the administrator as actor; the token works and belongs to the service account', async () => {
    const svc = await create('deployer');
    const response = await mint(svc.id, { name: 'prod', scopes: ['namespaces:read'] });
    expect(response.statusCode, response.body).toBe(201);
    expect(response.headers['cache-control']).toBe('no-store');
    const { token, secret } = response.json<CreateTokenResponse>();
    expect(token.scopes).toEqual(['namespaces:read']);
    expect(Date.parse(token.expiresAt) - Date.parse(token.createdAt)).toBe(180 * DAY_MS);
    const me = await ok<{ account: { id: string; email: string | null } }>(call('GET', '/api/v1/me', undefined, bearer(secret)));
    expect(me.account).toMatchObject({ id: svc.id, email: null });
    const [audited] = await auditOf('token.created');
    expect(audited).toMatchObject({ targetId: token.id, actor: { accountId: admin.account.id } });
    // The secret is never shown again.
    const listed = await ok<{ tokens: Array<Record<string, unknown>> }>(call('GET', `/api/v1/admin/tokens?owner=${svc.id}`));
    expect(JSON.stringify(listed)).not.toContain(secret);
    expect((await ok<AdminServiceAccountList>(call('GET', '/api/v1/admin/service-accounts'))).serviceAccounts[0]!.activeTokens).toBe(1);
  });

  it('refuses admin scopes for a service account (R-422 at /scopes), its promotion to administrator (R-409), and a person\'s account or an unknown id (R-404)', async () => {
    const svc = await create('no-admin');
    for (const scopes of [['admin:read'], ['namespaces:read', 'admin:write']]) {
      const refused = await mint(svc.id, { name: `t-${randomUUID().slice(0, 6)}`, scopes });
      const body = expectResponseCode(refused, 'R-422');
      expect(JSON.stringify(body.errors)).toContain('/scopes');
    }
    // Nor can it be made an administrator (R-409), which would mean nothing for an account that never signs in.
    const promoted = await call('PATCH', `/api/v1/admin/accounts/${svc.id}`, { isAdmin: true });
    expectResponseCode(promoted, 'R-409');
    expect(promoted.json().detail).toBe('A service account cannot be an administrator.');
    expectResponseCode(await mint(admin.account.id, { name: 'mine' }), 'R-404');
    expectResponseCode(await mint(randomUUID(), { name: 'nobody' }), 'R-404');
    expectResponseCode(await mint('not-a-uuid', { name: 'nobody' }), 'R-404');
  });

  it('gives service tokens the service policy: up to 3650 days with no maximum, up to serviceMaxLifetimeDays when set', async () => {
    const svc = await create('long-lived');
    const long = await mint(svc.id, { name: 'decade', expiresInDays: 3650 });
    expect(long.statusCode, long.body).toBe(201);
    const { token } = long.json<CreateTokenResponse>();
    expect(Date.parse(token.expiresAt) - Date.parse(token.createdAt)).toBe(3650 * DAY_MS);
    expectResponseCode(await mint(svc.id, { name: 'too-long', expiresInDays: 3651 }), 'R-422');
    // A personal token may not live that long.
    expectResponseCode(await call('POST', '/api/v1/tokens', { name: 'personal', expiresInDays: 365 }), 'R-422');

    await ok(call('PUT', '/api/v1/admin/policy', {
      maxLifetimeDays: 90,
      serviceMaxLifetimeDays: 400,
      personalScopes: [...TOKEN_SCOPES],
      idleRevokeDays: null,
    }));
    const within = await mint(svc.id, { name: 'year', expiresInDays: 400 });
    expect(within.statusCode, within.body).toBe(201);
    const beyond = expectResponseCode(await mint(svc.id, { name: 'beyond', expiresInDays: 401 }), 'R-422');
    expect(JSON.stringify(beyond.errors)).toContain('/expiresInDays');
    // Without expiresInDays: 180 days (within 400).
    const byDefault = (await mint(svc.id, { name: 'default' })).json<CreateTokenResponse>().token;
    expect(Date.parse(byDefault.expiresAt) - Date.parse(byDefault.createdAt)).toBe(180 * DAY_MS);
  });

  it('deletes a service account with its tokens: refused at once, audited with the tokens revoked; then R-404', async () => {
    const svc = await create('doomed');
    const { secret } = (await mint(svc.id, { name: 'soon-gone' })).json<CreateTokenResponse>();
    expect((await call('GET', '/api/v1/me', undefined, bearer(secret))).statusCode).toBe(200);
    await ok(call('DELETE', `/api/v1/admin/service-accounts/${svc.id}`), 204);
    expectResponseCode(await call('GET', '/api/v1/me', undefined, bearer(secret)), 'R-INVALID');
    const [deleted] = await auditOf('service_account.deleted');
    expect(deleted).toMatchObject({ targetId: svc.id, actor: { accountId: admin.account.id }, detail: { name: 'doomed', tokensRevoked: 1 } });
    expectResponseCode(await call('DELETE', `/api/v1/admin/service-accounts/${svc.id}`), 'R-404');
    // A person's account is not deleted through this route.
    const person = await app.signIn();
    expectResponseCode(await call('DELETE', `/api/v1/admin/service-accounts/${person.account.id}`), 'R-404');
    expect((await call('GET', '/api/v1/me', undefined, person.headers)).statusCode).toBe(200);
  });

  it('never signs in: a sign-in link for it is refused without a session, and no session can be started for it', async () => {
    const svc = await app.services.serviceAccounts.create({ name: 'robot' }, SYSTEM_ACTOR);
    const link = await app.services.signInLinks.issue(svc.id);
    const path = new URL(link.url).pathname;
    const signIn = await app.http.inject({
      method: 'POST',
      url: path,
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: TEST_ORIGIN, 'sec-fetch-site': 'same-origin' },
      payload: '',
    });
    expect(signIn.statusCode).toBeGreaterThanOrEqual(400);
    expect(String(signIn.headers['set-cookie'] ?? '')).not.toContain(`${SESSION_COOKIE}=`);
    // Every way in (link, OpenID Connect, and the CLI login, which needs a console session) ends in startSession.
    const refused = await app.services.signIn.startSession(svc.id, undefined, SYSTEM_ACTOR).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('Service accounts cannot sign in') });
  });

  it('takes a strict, validated body', async () => {
    for (const [payload, pointer] of [
      [{ name: 'x', extra: true }, 'extra'],
      [{ name: '' }, '/name'],
      [{ name: 'bell\u0007' }, '/name'],
      [{ name: 'ok', description: 'x'.repeat(501) }, '/description'],
    ] as const) {
      const body = expectResponseCode(await call('POST', '/api/v1/admin/service-accounts', payload), 'R-422');
      expect(JSON.stringify(body.errors)).toContain(pointer);
    }
    const svc = await create('strict');
    const body = expectResponseCode(await mint(svc.id, { name: 'x', expiresAt: '2031-01-01' }), 'R-422');
    expect(JSON.stringify(body.errors)).toContain('expiresAt');
  });
});
