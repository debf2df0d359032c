/**
 * The instance policy over HTTP, on both databases (docs/api.md, "Administration API"): the
 * environment's defaults until saved; PUT strict and validated, audited `policy.updated` with
 * before and after; applied to new tokens at once on every instance (maximum lifetime, personal
 * scopes), followed by GET /api/v1/token-settings; and the idle rule, revoking tokens unused for
 * N days with an audit event and the owner's notice.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  TOKEN_SCOPES,
  type AdminAuditList,
  type CreateTokenResponse,
  type NoticeView,
  type PolicyView,
  type TokenSettingsView,
} from '@latchkey/contract';
import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { appForEachTest, bearer, createTestApp, type TestApp, type TestSession } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { expectResponseCode } from '../support/protected-route.js';

const DAY_MS = 86_400_000;
const DEFAULTS = { maxLifetimeDays: 180, serviceMaxLifetimeDays: null, personalScopes: [...TOKEN_SCOPES], idleRevokeDays: null };

describeEachBackend('instance policy', (ctx) => {
  let app: TestApp;
  let admin: TestSession;
  appForEachTest(ctx, async (fresh) => {
    app = fresh;
    admin = await app.signIn({ isAdmin: true, email: `admin-${randomUUID().slice(0, 8)}@example.test` });
  });

  const call = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown, headers = admin.headers, on = app) =>
    on.http.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
  async function ok<T>(response: Promise<LightMyRequestResponse>, status = 200): Promise<T> {
    const answered = await response;
    expect(answered.statusCode, answered.body).toBe(status);
    return answered.json() as T;
  }
  const put = (policy: Record<string, unknown>) => ok<PolicyView>(call('PUT', '/api/v1/admin/policy', { ...DEFAULTS, ...policy }));

  it('answers the environment defaults until saved; PUT saves the whole policy, audited with before and after', async () => {
    expect(await ok<PolicyView>(call('GET', '/api/v1/admin/policy'))).toEqual({ ...DEFAULTS, updatedAt: null });
    const saved = await put({ maxLifetimeDays: 30, serviceMaxLifetimeDays: 365, personalScopes: ['namespaces:read', 'tokens:write'], idleRevokeDays: 365 });
    expect(saved).toMatchObject({ maxLifetimeDays: 30, serviceMaxLifetimeDays: 365, personalScopes: ['namespaces:read', 'tokens:write'], idleRevokeDays: 365 });
    expect(saved.updatedAt).not.toBeNull();
    expect(await ok<PolicyView>(call('GET', '/api/v1/admin/policy'))).toEqual(saved);
    const [event] = (await ok<AdminAuditList>(call('GET', '/api/v1/admin/audit?action=policy.updated'))).events;
    expect(event).toMatchObject({
      actor: { accountId: admin.account.id },
      detail: {
        before: DEFAULTS,
        after: { maxLifetimeDays: 30, serviceMaxLifetimeDays: 365, personalScopes: ['namespaces:read', 'tokens:write'], idleRevokeDays: 365 },
      },
    });
  });

  it('refuses a body out of range, incomplete or with unknown fields (R-422 naming the field), changing nothing', async () => {
    for (const [change, pointer] of [
      [{ maxLifetimeDays: 0 }, '/maxLifetimeDays'],
      [{ maxLifetimeDays: 3651 }, '/maxLifetimeDays'],
      [{ maxLifetimeDays: 1.5 }, '/maxLifetimeDays'],
      [{ serviceMaxLifetimeDays: 0 }, '/serviceMaxLifetimeDays'],
      [{ idleRevokeDays: -1 }, '/idleRevokeDays'],
      [{ personalScopes: [] }, '/personalScopes'],
      [{ personalScopes: ['root'] }, '/personalScopes'],
      [{ personalScopes: ['tokens:read', 'tokens:read'] }, '/personalScopes'],
      [{ surprise: true }, 'surprise'],
    ] as const) {
      const body = expectResponseCode(await call('PUT', '/api/v1/admin/policy', { ...DEFAULTS, ...change }), 'R-422');
      expect(JSON.stringify(body.errors), JSON.stringify(change)).toContain(pointer);
    }
    const { idleRevokeDays: _omitted, ...incomplete } = DEFAULTS;
    expectResponseCode(await call('PUT', '/api/v1/admin/policy', incomplete), 'R-422');
    expect((await ok<PolicyView>(call('GET', '/api/v1/admin/policy'))).updatedAt).toBeNull();
  });

  it('applies to new tokens at once on every instance, and token-settings follows it', async () => {
    const other = await createTestApp(ctx.database);
    try {
      const person = await other.signIn();
      await put({ maxLifetimeDays: 30, personalScopes: ['namespaces:read', 'namespaces:write', 'tokens:read'] });
      // The other instance reads the policy at its next create.
      const settings = await ok<TokenSettingsView>(call('GET', '/api/v1/token-settings', undefined, person.headers, other));
      expect(settings).toEqual({
        maxLifetimeDays: 30,
        defaultLifetimeDays: 30,
        lifetimeChoices: [7, 30],
        allowedScopes: ['namespaces:read', 'namespaces:write', 'tokens:read'],
      });
      const tooLong = expectResponseCode(await call('POST', '/api/v1/tokens', { name: 'long', expiresInDays: 60 }, person.headers, other), 'R-422');
      expect(JSON.stringify(tooLong.errors)).toContain('/expiresInDays');
      const outside = expectResponseCode(
        await call('POST', '/api/v1/tokens', { name: 'writer', scopes: ['tokens:write', 'introspect', 'namespaces:read'] }, person.headers, other),
        'R-422',
      );
      expect(JSON.stringify(outside.errors)).toContain('/scopes');
      expect(JSON.stringify(outside.errors)).toContain('tokens:write, introspect');
      // The default scopes are narrowed to what the policy allows; the lifetime is the new maximum.
      const { token } = await ok<CreateTokenResponse>(call('POST', '/api/v1/tokens', { name: 'default' }, person.headers, other), 201);
      expect(token.scopes).toEqual(['namespaces:read', 'namespaces:write', 'tokens:read']);
      expect(Date.parse(token.expiresAt) - Date.parse(token.createdAt)).toBe(30 * DAY_MS);

      // Raised again: a lifetime the start-up settings did not offer is accepted at once.
      await put({ maxLifetimeDays: 365 });
      const year = await ok<CreateTokenResponse>(call('POST', '/api/v1/tokens', { name: 'year', expiresInDays: 365 }, person.headers, other), 201);
      expect(Date.parse(year.token.expiresAt) - Date.parse(year.token.createdAt)).toBe(365 * DAY_MS);
    } finally {
      await other.close();
    }
  });

  it('refuses a personal token when the policy allows none of the default scopes and none are named', async () => {
    await put({ personalScopes: ['introspect'] });
    const body = expectResponseCode(await call('POST', '/api/v1/tokens', { name: 'plain' }), 'R-422');
    expect(JSON.stringify(body.errors)).toContain('/scopes');
    await ok(call('POST', '/api/v1/tokens', { name: 'gateway', scopes: ['introspect'] }), 201);
  });

  it("the CLI's browser login still works under a narrower policy: its token gets the default scopes the policy allows", async () => {
    await put({ personalScopes: ['namespaces:read', 'namespaces:write', 'introspect'] });
    const verifier = randomBytes(32).toString('base64url');
    const redirectUri = 'http://127.0.0.1:4567/callback';
    const target = await app.services.cliLogin.approve(admin.account.id, {
      redirectUri,
      codeChallenge: createHash('sha256').update(verifier).digest('base64url'),
      state: 'state',
      clientName: 'laptop',
    });
    const code = new URL(target).searchParams.get('code')!;
    const exchange = await app.http.inject({
      method: 'POST',
      url: '/auth/cli/token',
      payload: { code, code_verifier: verifier, redirect_uri: redirectUri },
    });
    expect(exchange.statusCode, exchange.body).toBe(200);
    const self = await app.http.inject({ url: '/api/v1/tokens/self', headers: bearer(exchange.json<{ token: string }>().token) });
    expect(self.json<{ scopes: string[] }>().scopes).toEqual(['namespaces:read', 'namespaces:write']);
  });

  describe('the idle rule', () => {
    /** Makes a token look last used (or, with `used: false`, created) `days` ago. */
    async function ageToken(id: string, days: number, used: boolean): Promise<void> {
      const at = Date.now() - days * DAY_MS;
      await ctx.exec(used ? sql`update tokens set last_used_at = ${at} where id = ${id}` : sql`update tokens set created_at = ${at} where id = ${id}`);
    }

    it('is off by default: nothing is revoked however long unused', async () => {
      const owner = await app.signIn();
      const old = await app.createToken(owner, 'ancient');
      await ageToken(old.token.id, 3000, false);
      await app.services.retention.pruneOnce();
      expect((await call('GET', '/api/v1/me', undefined, bearer(old.secret))).statusCode).toBe(200);
    });

    it('revokes tokens unused for N days (last use, or creation when never used), audited with reason idle, and tells the owner', async () => {
      const owner = await app.signIn();
      const usedLongAgo = await app.createToken(owner, 'used-long-ago');
      const neverUsed = await app.createToken(owner, 'never-used');
      const recent = await app.createToken(owner, 'recent');
      const usedRecently = await app.createToken(owner, 'used-recently');
      await ageToken(usedLongAgo.token.id, 31, true);
      await ageToken(neverUsed.token.id, 40, false);
      await ageToken(usedRecently.token.id, 40, false);
      await ageToken(usedRecently.token.id, 2, true);
      await put({ idleRevokeDays: 30 });

      const counts = await app.services.retention.pruneOnce();
      expect(counts.idle_tokens).toBe(2);
      for (const gone of [usedLongAgo, neverUsed]) {
        expectResponseCode(await call('GET', '/api/v1/me', undefined, bearer(gone.secret)), 'R-INVALID');
      }
      for (const kept of [recent, usedRecently]) {
        expect((await call('GET', '/api/v1/me', undefined, bearer(kept.secret))).statusCode).toBe(200);
      }
      const events = (await ok<AdminAuditList>(call('GET', '/api/v1/admin/audit?action=token.revoked'))).events;
      expect(events.map((event) => event.targetId).sort()).toEqual([usedLongAgo.token.id, neverUsed.token.id].sort());
      for (const event of events) expect(event).toMatchObject({ actor: { accountId: null }, detail: { reason: 'idle', idleDays: 30 } });

      const { notices } = await ok<{ notices: NoticeView[] }>(call('GET', '/api/v1/notices', undefined, owner.headers));
      expect(notices).toHaveLength(1);
      expect(notices[0]).toMatchObject({ kind: 'tokens_revoked_idle', idleDays: 30 });
      const listed = (notices[0] as Extract<NoticeView, { kind: 'tokens_revoked_idle' }>).tokens.map((token) => token.name).sort();
      expect(listed).toEqual(['never-used', 'used-long-ago']);

      // A second pass finds nothing more.
      expect((await app.services.retention.pruneOnce()).idle_tokens).toBe(0);
    });

    it('works in batches and leaves expired tokens alone', async () => {
      const owner = await app.signIn();
      const made: CreateTokenResponse[] = [];
      for (let i = 0; i < 5; i++) made.push(await app.createToken(owner, `batch-${i}`));
      for (const token of made) await ageToken(token.token.id, 100, false);
      const expired = made.pop()!;
      await ctx.exec(sql`update tokens set expires_at = ${Date.now() - DAY_MS} where id = ${expired.token.id}`);
      await put({ idleRevokeDays: 30 });
      const small = await import('../../src/retention/retention-service.js');
      const revoker = small.createRetentionService({
        pruners: [
          // The same revoker as the app's, in batches of 2.
          (await import('../../src/retention/idle-token-revoker.js')).createIdleTokenRevoker({
            store: (await import('../../src/retention/kysely-idle-token-store.js')).createKyselyIdleTokenStore(app.database),
            policy: app.services.policy,
            clock: { now: () => Date.now() },
          }),
        ],
        clock: { now: () => Date.now() },
        batchSize: 2,
      });
      expect((await revoker.pruneOnce()).idle_tokens).toBe(4);
      const rows = (await ctx.exec(sql`select id from tokens where revoked_at is not null`)) as Array<{ id: string }>;
      expect(rows.map((row) => row.id).sort()).toEqual(made.map((token) => token.token.id).sort());
    });
  });
});
