/**
 * The administration API over HTTP, on both databases (docs/api.md, "Administration API"):
 * administrators' actions audited with the administrator as actor and the affected owner told
 * (docs/security.md, item 49); disabling, deleting and revoking refused at once, also on a second
 * instance over the same PostgreSQL (item 50); filters and cursor pages without duplicates or
 * omissions; the NDJSON audit export; 404s, self-protection 409s, strict bodies and bounded
 * queries. That every admin route refuses a non-administrator's session and token (403
 * FORBIDDEN) runs for each route in the shared suite (protected-routes.test.ts).
 */
import { randomUUID } from 'node:crypto';
import type {
  AdminAccountList,
  AdminAccountView,
  AdminAuditEventView,
  AdminAuditList,
  AdminTokenList,
  NoticeView,
} from '@latchkey/contract';
import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { auditEvent, SYSTEM_ACTOR } from '../../src/audit/audit-event.js';
import { writeWithAudit } from '../../src/audit/kysely-audit-store.js';
import { openDatabase } from '../../src/database/open-database.js';
import { appForEachTest, bearer, createTestApp, withAppsOnOnePostgres, type TestApp, type TestSession } from '../support/app.js';
import { describeEachBackend, postgresAvailable } from '../support/databases.js';
import { expectResponseCode, setTokenExpiresIn } from '../support/protected-route.js';

const DAY_MS = 86_400_000;
const ADMIN_SCOPES = ['tokens:read', 'admin:read', 'admin:write'];

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

function call(app: TestApp, method: Method, url: string, headers: Record<string, string>, payload?: unknown): Promise<LightMyRequestResponse> {
  return app.http.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
}

async function ok<T>(response: Promise<LightMyRequestResponse> | LightMyRequestResponse, status = 200): Promise<T> {
  const answered = await response;
  expect(answered.statusCode, answered.body).toBe(status);
  return (answered.body ? answered.json() : undefined) as T;
}

/** Every page of a cursor-paged list, following nextCursor. */
async function allPages<T>(fetchPage: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor: string | null }>): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | undefined;
  let pages = 0;
  for (;;) {
    const page = await fetchPage(cursor);
    pages++;
    items.push(...page.items);
    if (page.nextCursor === null) return { items, pages };
    cursor = page.nextCursor;
    if (pages > 1000) throw new Error('the cursor never ends');
  }
}

const withCursor = (url: string, cursor: string | undefined) => (cursor ? `${url}${url.includes('?') ? '&' : '?'}cursor=${cursor}` : url);

describeEachBackend('administration API', (ctx) => {
  let app: TestApp;
  let admin: TestSession;
  let adminToken: { secret: string; id: string };
  appForEachTest(ctx, async (fresh) => {
    app = fresh;
    admin = await app.signIn({ isAdmin: true, email: `admin-${randomUUID().slice(0, 8)}@example.test` });
    const created = await app.createToken(admin, 'admin-automation', { scopes: ADMIN_SCOPES });
    adminToken = { secret: created.secret, id: created.token.id };
  });

  const get = <T>(url: string, headers = admin.headers) => ok<T>(call(app, 'GET', url, headers));
  const auditOf = async (query: string): Promise<AdminAuditEventView[]> => (await get<AdminAuditList>(`/api/v1/admin/audit?${query}`)).events;
  const noticesOf = async (session: TestSession): Promise<NoticeView[]> =>
    (await ok<{ notices: NoticeView[] }>(call(app, 'GET', '/api/v1/notices', session.headers))).notices;

  describe('item 49: audited with the administrator as actor, and the owner told', () => {
    it("revoking someone's token: refused at once, audited as the administrator's (session and token), and the owner gets a notice", async () => {
      const bob = await app.signIn();
      const laptop = await app.createToken(bob, 'laptop', { note: 'my laptop' });
      const ci = await app.createToken(bob, 'ci');
      await ok(call(app, 'GET', '/api/v1/me', bearer(laptop.secret)));

      await ok(call(app, 'DELETE', `/api/v1/admin/tokens/${laptop.token.id}`, admin.headers), 204);
      expectResponseCode(await call(app, 'GET', '/api/v1/me', bearer(laptop.secret)), 'R-INVALID');
      await ok(call(app, 'DELETE', `/api/v1/admin/tokens/${ci.token.id}`, bearer(adminToken.secret)), 204);
      expectResponseCode(await call(app, 'GET', '/api/v1/me', bearer(ci.secret)), 'R-INVALID');

      const revokes = await auditOf('action=token.revoked');
      expect(revokes.map((event) => [event.targetId, event.actor.accountId, event.actor.tokenId])).toEqual([
        [ci.token.id, admin.account.id, adminToken.id],
        [laptop.token.id, admin.account.id, null],
      ]);
      expect(revokes[1]!.detail).toMatchObject({ name: 'laptop', owner: bob.account.id });

      const notices = await noticesOf(bob);
      expect(notices.map((notice) => notice.kind)).toEqual(['token_revoked_by_admin', 'token_revoked_by_admin']);
      const laptopNotice = notices.find((notice) => notice.kind === 'token_revoked_by_admin' && notice.token.id === laptop.token.id);
      expect(laptopNotice).toMatchObject({ token: { id: laptop.token.id, name: 'laptop', last4: laptop.token.last4, note: 'my laptop' } });
      // The administrator got none; revoking again finds nothing and tells nobody.
      expect(await noticesOf(admin)).toEqual([]);
      expectResponseCode(await call(app, 'DELETE', `/api/v1/admin/tokens/${laptop.token.id}`, admin.headers), 'R-404');
      expect(await noticesOf(bob)).toHaveLength(2);
    });

    it('disable, enable, PATCH and delete are audited with the administrator as actor', async () => {
      const carol = await app.signIn();
      const carolToken = await app.createToken(carol, 'carol-cli');
      const id = carol.account.id;
      await ok(call(app, 'POST', `/api/v1/admin/accounts/${id}/disable`, admin.headers), 204);
      expectResponseCode(await call(app, 'GET', '/api/v1/me', bearer(carolToken.secret)), 'R-INVALID');
      expectResponseCode(await call(app, 'GET', '/api/v1/me', carol.headers), 'R-NOAUTH');
      const disabled = await get<AdminAccountView>(`/api/v1/admin/accounts/${id}`);
      expect(disabled.disabledAt).not.toBeNull();

      await ok(call(app, 'POST', `/api/v1/admin/accounts/${id}/enable`, bearer(adminToken.secret)), 204);
      await ok(call(app, 'GET', '/api/v1/me', bearer(carolToken.secret)));

      const promoted = await ok<AdminAccountView>(call(app, 'PATCH', `/api/v1/admin/accounts/${id}`, admin.headers, { isAdmin: true, name: '  Carol  ' }));
      expect(promoted).toMatchObject({ id, isAdmin: true, name: 'Carol', disabledAt: null, activeTokens: 1 });
      const demoted = await ok<AdminAccountView>(call(app, 'PATCH', `/api/v1/admin/accounts/${id}`, admin.headers, { isAdmin: false, name: null }));
      expect(demoted).toMatchObject({ isAdmin: false, name: null });
      // Nothing changes: nothing audited.
      await ok(call(app, 'PATCH', `/api/v1/admin/accounts/${id}`, admin.headers, { isAdmin: false }));

      await ok(call(app, 'DELETE', `/api/v1/admin/accounts/${id}`, admin.headers), 204);
      expectResponseCode(await call(app, 'GET', `/api/v1/admin/accounts/${id}`, admin.headers), 'R-404');

      const events = (await auditOf(`actor=${admin.account.id}`)).filter((event) => event.targetId === id);
      expect(events.map((event) => event.action).reverse()).toEqual([
        'account.disabled',
        'account.enabled',
        'account.admin_granted',
        'account.updated',
        'account.admin_revoked',
        'account.updated',
        'account.deleted',
      ]);
      expect(events.every((event) => event.actor.accountId === admin.account.id)).toBe(true);
      expect(events.find((event) => event.action === 'account.enabled')!.actor.tokenId).toBe(adminToken.id);
      expect(events[0]!.detail).toMatchObject({ tokensRevoked: 1 });
      expect(events.find((event) => event.action === 'account.updated')!.detail).toEqual({ name: { from: 'Carol', to: null } });
    });
    it('re-enabling, granting and removing the administrator role and renaming tell the account; a disable, a delete, a no-op and a self-rename tell nobody', async () => {
      const dave = await app.signIn();
      const id = dave.account.id;
      const account = `/api/v1/admin/accounts/${id}`;
      // Enabling an account that is not disabled changes nothing the owner needs to hear about.
      await ok(call(app, 'POST', `${account}/enable`, admin.headers), 204);
      expect(await noticesOf(dave)).toEqual([]);

      await ok(call(app, 'POST', `${account}/disable`, admin.headers), 204);
      await ok(call(app, 'POST', `${account}/enable`, bearer(adminToken.secret)), 204);
      await ok(call(app, 'PATCH', account, admin.headers, { isAdmin: true, name: '  Dave  ' }));
      await ok(call(app, 'PATCH', account, admin.headers, { isAdmin: true, name: 'Dave' })); // no change
      await ok(call(app, 'PATCH', account, bearer(adminToken.secret), { isAdmin: false }));
      await ok(call(app, 'PATCH', account, admin.headers, { name: null }));

      const notices = await noticesOf(dave);
      const changes = notices.map((notice) => (notice.kind === 'account_changed_by_admin' ? { change: notice.change, name: notice.name } : notice.kind));
      // One notice per change. Notices list newest first, but changes made within one
      // millisecond (a quick machine) share a time, so they are compared as a set.
      expect(changes).toHaveLength(5);
      expect(changes).toEqual(
        expect.arrayContaining([
          { change: 'enabled', name: undefined },
          { change: 'admin_granted', name: undefined },
          { change: 'renamed', name: 'Dave' },
          { change: 'admin_revoked', name: undefined },
          { change: 'renamed', name: null },
        ]),
      );
      expect(notices.every((notice) => !Number.isNaN(Date.parse(notice.createdAt)))).toBe(true);

      // Each is dismissable by its owner.
      await ok(call(app, 'POST', `/api/v1/notices/${notices[0]!.id}/dismiss`, dave.headers), 204);
      expect(await noticesOf(dave)).toHaveLength(4);

      // Renaming oneself tells nobody; the administrator got none of Dave's.
      await ok(call(app, 'PATCH', `/api/v1/admin/accounts/${admin.account.id}`, admin.headers, { name: 'Me' }));
      expect(await noticesOf(admin)).toEqual([]);

      // A disabled account is told nothing (it cannot read notices), nor is it told of the disable.
      await ok(call(app, 'POST', `${account}/disable`, admin.headers), 204);
      await ok(call(app, 'PATCH', account, admin.headers, { name: 'Hidden' }));
      const rows = () =>
        ctx.database.kysely.selectFrom('notices').select(['kind', 'detail']).where('account_id', '=', id).where('dismissed_at', 'is', null).execute();
      expect(await rows()).toHaveLength(4);
      // Re-enabled: that one notice, written with the enable.
      await ok(call(app, 'POST', `${account}/enable`, admin.headers), 204);
      expect((await rows()).map((row) => JSON.parse(row.detail) as unknown)).toContainEqual({ change: 'enabled' });
      expect(await rows()).toHaveLength(5);
      await ok(call(app, 'DELETE', account, admin.headers), 204);
      expect(await rows()).toHaveLength(0);
    });
  });

  describe('self-protection, 404s, strict bodies and bounded queries', () => {
    it('an administrator cannot disable, delete or demote their own account (409), and nothing changes', async () => {
      const self = `/api/v1/admin/accounts/${admin.account.id}`;
      for (const [method, url, payload] of [
        ['POST', `${self}/disable`, undefined],
        ['DELETE', self, undefined],
        ['PATCH', self, { isAdmin: false }],
      ] as const) {
        const body = expectResponseCode(await call(app, method, url, admin.headers, payload), 'R-409');
        expect(String(body.detail)).toMatch(/own account/);
        expectResponseCode(await call(app, method, url, bearer(adminToken.secret), payload), 'R-409');
      }
      expect(await get<AdminAccountView>(self)).toMatchObject({ isAdmin: true, disabledAt: null });
      // Renaming oneself, or confirming one's own flag, is fine.
      await ok(call(app, 'PATCH', self, admin.headers, { isAdmin: true, name: 'Me' }));
      // Audited: the rename only (the token is the administrator's own, made before).
      expect((await auditOf(`actor=${admin.account.id}`)).map((event) => event.action)).toEqual(['account.updated', 'token.created']);
    });

    it('unknown and malformed ids are R-404', async () => {
      const bob = await app.signIn();
      const revoked = await app.createToken(bob, 'gone');
      await ok(call(app, 'DELETE', `/api/v1/tokens/${revoked.token.id}`, bob.headers), 204);
      for (const id of [randomUUID(), 'not-a-uuid', 'x'.repeat(300)]) {
        for (const [method, suffix] of [
          ['GET', ''],
          ['PATCH', ''],
          ['POST', '/disable'],
          ['POST', '/enable'],
          ['DELETE', ''],
        ] as const) {
          const response = await call(app, method, `/api/v1/admin/accounts/${id}${suffix}`, admin.headers, method === 'PATCH' ? { name: 'x' } : undefined);
          expectResponseCode(response, 'R-404');
        }
        expectResponseCode(await call(app, 'DELETE', `/api/v1/admin/tokens/${id}`, admin.headers), 'R-404');
      }
      // An already revoked token is not found either.
      expectResponseCode(await call(app, 'DELETE', `/api/v1/admin/tokens/${revoked.token.id}`, admin.headers), 'R-404');
    });

    it('the PATCH body is strict: unknown properties and wrong types are R-422 naming them, nothing written', async () => {
      const bob = await app.signIn();
      const url = `/api/v1/admin/accounts/${bob.account.id}`;
      for (const [payload, pointer] of [
        [{ isAdmin: true, email: 'x@example.test' }, '/email'],
        [{ disabled: true }, '/disabled'],
        [{ isAdmin: 'yes' }, '/isAdmin'],
        [{ name: 42 }, '/name'],
        [{ name: 'n'.repeat(101) }, '/name'],
        [{ name: 'Bob\u202egnp.exe' }, '/name'],
        [{ name: 'Bob\u0007' }, '/name'],
      ] as const) {
        const body = expectResponseCode(await call(app, 'PATCH', url, admin.headers, payload), 'R-422');
        expect(JSON.stringify(body.errors)).toContain(pointer);
      }
      expect(await get<AdminAccountView>(url)).toMatchObject({ isAdmin: false, name: null });
      expect(await auditOf('action=account.admin_granted')).toEqual([]);
    });

    it('query numbers are coerced and bounded; a foreign cursor is R-422; unknown parameters are ignored', async () => {
      for (const url of [
        '/api/v1/admin/accounts?limit=0',
        '/api/v1/admin/accounts?limit=201',
        '/api/v1/admin/accounts?limit=ten',
        '/api/v1/admin/accounts?state=gone',
        '/api/v1/admin/accounts?cursor=not-ours',
        `/api/v1/admin/accounts?cursor=${Buffer.from('[1,2,3]').toString('base64url')}`,
        '/api/v1/admin/tokens?expiringWithinDays=-1',
        '/api/v1/admin/tokens?unusedForDays=1.5',
        '/api/v1/admin/tokens?scope=root',
        '/api/v1/admin/tokens?cursor=%00',
        '/api/v1/admin/audit?since=yesterday',
        '/api/v1/admin/audit?action=DROP%20TABLE',
        `/api/v1/admin/audit?cursor=${Buffer.from('["x"]').toString('base64url')}`,
      ]) {
        expectResponseCode(await call(app, 'GET', url, admin.headers), 'R-422');
      }
      expect((await get<AdminAccountList>('/api/v1/admin/accounts?limit=200&color=blue')).accounts).toHaveLength(1);
    });

    it('a filter by an id no account or token can have is R-422 naming it (not an empty list), the NDJSON export too', async () => {
      const ndjson = 'application/x-ndjson';
      for (const [url, parameter, what, accepts] of [
        ['/api/v1/admin/tokens?owner=%00', 'owner', 'an account id', ['application/json']],
        ['/api/v1/admin/tokens?owner=bob', 'owner', 'an account id', ['application/json']],
        ['/api/v1/admin/audit?actor=bob', 'actor', 'an account id', ['application/json', ndjson]],
        [`/api/v1/admin/audit?actor=${randomUUID()}&token=x`, 'token', 'a token id', ['application/json', ndjson]],
      ] as const) {
        for (const accept of accepts) {
          const body = expectResponseCode(await call(app, 'GET', url, { ...admin.headers, accept }), 'R-422');
          expect(body.errors, `${url} (${accept})`).toEqual([{ parameter, detail: expect.stringMatching(new RegExp(`^is not ${what} \\(a UUID`)) }]);
        }
      }
      // A well-formed id that matches nothing is an empty answer.
      expect((await get<AdminTokenList>(`/api/v1/admin/tokens?owner=${randomUUID()}`)).tokens).toEqual([]);
      expect((await get<AdminAuditList>(`/api/v1/admin/audit?token=${randomUUID()}`)).events).toEqual([]);
    });
  });

  describe('accounts', () => {
    it('search (email or name, any case), state, and cursor pages without duplicates or omissions', async () => {
      const made: TestSession[] = [];
      for (let index = 0; index < 9; index++) made.push(await app.signIn({ email: `member${index}@Example.test` }));
      await app.services.admin.updateAccount(made[3]!.account.id, { name: 'Zoë ADAMS' }, SYSTEM_ACTOR);
      await app.services.accounts.disable(made[5]!.account.id, SYSTEM_ACTOR);
      await app.createToken(made[1]!, 'one');

      const everyone = await allPages(async (cursor) => {
        const page = await get<AdminAccountList>(withCursor('/api/v1/admin/accounts?limit=2', cursor));
        expect(page.accounts.length).toBeLessThanOrEqual(2);
        return { items: page.accounts, nextCursor: page.nextCursor };
      });
      expect(everyone.pages).toBe(5);
      const ids = everyone.items.map((account) => account.id);
      expect(new Set(ids).size).toBe(10);
      expect(new Set(ids)).toEqual(new Set([admin.account.id, ...made.map((session) => session.account.id)]));
      const created = everyone.items.map((account) => Date.parse(account.createdAt));
      expect(created).toEqual([...created].sort((a, b) => b - a));
      expect(everyone.items.find((account) => account.id === made[1]!.account.id)).toMatchObject({ activeTokens: 1 });
      expect(everyone.items.find((account) => account.id === admin.account.id)).toMatchObject({ activeTokens: 1, isAdmin: true });

      expect((await get<AdminAccountList>('/api/v1/admin/accounts?search=adams')).accounts.map((account) => account.id)).toEqual([made[3]!.account.id]);
      expect((await get<AdminAccountList>('/api/v1/admin/accounts?search=zoë')).accounts).toHaveLength(1);
      expect((await get<AdminAccountList>('/api/v1/admin/accounts?search=MEMBER7')).accounts.map((account) => account.id)).toEqual([made[7]!.account.id]);
      // `%` and `_` are themselves, not wildcards.
      expect((await get<AdminAccountList>('/api/v1/admin/accounts?search=member%25')).accounts).toEqual([]);
      const searched = await allPages(async (cursor) => {
        const page = await get<AdminAccountList>(withCursor('/api/v1/admin/accounts?search=member&limit=4', cursor));
        return { items: page.accounts, nextCursor: page.nextCursor };
      });
      expect(searched.items.map((account) => account.id).sort()).toEqual(made.map((session) => session.account.id).sort());

      expect((await get<AdminAccountList>('/api/v1/admin/accounts?state=disabled')).accounts.map((account) => account.id)).toEqual([made[5]!.account.id]);
      const active = (await get<AdminAccountList>('/api/v1/admin/accounts?state=active')).accounts;
      expect(active).toHaveLength(9);
      expect(active.every((account) => account.disabledAt === null)).toBe(true);
    });
  });

  describe('tokens', () => {
    it('every account\'s tokens with owners, by owner, state, expiring within, unused for and scope, in pages', async () => {
      const bob = await app.signIn({ email: 'bob@example.test' });
      const dave = await app.signIn({ email: 'dave@example.test' });
      const soon = await app.createToken(bob, 'soon');
      const old = await app.createToken(bob, 'old', { scopes: ['namespaces:read'] });
      const reader = await app.createToken(dave, 'reader', { scopes: ['tokens:write'] });
      const gone = await app.createToken(dave, 'gone');
      await call(app, 'DELETE', `/api/v1/tokens/${gone.token.id}`, dave.headers);
      await setTokenExpiresIn(ctx, soon.token.id, 3 * DAY_MS);
      await ctx.exec(sql`update tokens set created_at = created_at - ${40 * DAY_MS}, last_used_at = null where id = ${old.token.id}`);
      await ctx.exec(sql`update tokens set last_used_at = created_at - ${0}, created_at = created_at - ${40 * DAY_MS} where id = ${reader.token.id}`);

      const names = async (query: string) =>
        (await get<AdminTokenList>(`/api/v1/admin/tokens?${query}`)).tokens.map((token) => token.name).sort();

      const all = await get<AdminTokenList>('/api/v1/admin/tokens');
      expect(all.tokens.map((token) => token.name).sort()).toEqual(['admin-automation', 'old', 'reader', 'soon']);
      expect(all.tokens.find((token) => token.name === 'soon')!.owner).toEqual({ id: bob.account.id, email: 'bob@example.test', name: null });
      expect(JSON.stringify(all)).not.toContain(soon.secret);
      expect(await names(`owner=${bob.account.id}`)).toEqual(['old', 'soon']);
      expect(await names('state=revoked')).toEqual(['gone']);
      expect(await names('state=all')).toEqual(['admin-automation', 'gone', 'old', 'reader', 'soon']);
      expect(await names('state=expiring')).toEqual(['soon']);
      expect(await names('expiringWithinDays=5')).toEqual(['soon']);
      expect(await names('expiringWithinDays=1')).toEqual([]);
      expect(await names('unusedForDays=30')).toEqual(['old']);
      // A token used recently is not "unused" however old; 0 days: every token.
      expect(await names('unusedForDays=0')).toEqual(['admin-automation', 'old', 'reader', 'soon']);
      expect(await names('scope=namespaces:read')).toEqual(['old', 'soon']);
      // tokens:write includes tokens:read.
      expect(await names('scope=tokens:read')).toEqual(['admin-automation', 'reader', 'soon']);
      expect(await names('scope=admin:read')).toEqual(['admin-automation']);
      expect(await names(`scope=namespaces:write&owner=${dave.account.id}`)).toEqual([]);

      for (let index = 0; index < 7; index++) await app.createToken(dave, `bulk-${index}`);
      const paged = await allPages(async (cursor) => {
        const page = await get<AdminTokenList>(withCursor('/api/v1/admin/tokens?state=all&limit=3', cursor));
        return { items: page.tokens, nextCursor: page.nextCursor };
      });
      const ids = paged.items.map((token) => token.id);
      expect(ids).toHaveLength(12);
      expect(new Set(ids).size).toBe(12);
      const created = paged.items.map((token) => Date.parse(token.createdAt));
      expect(created).toEqual([...created].sort((a, b) => b - a));
    });
  });

  describe('audit', () => {
    it('filters by actor, token, action, since and until; pages without duplicates or omissions', async () => {
      const bob = await app.signIn();
      const byToken = await app.createToken(bob, 'maker', { scopes: ['tokens:write'] });
      await ok(call(app, 'POST', '/api/v1/tokens', bearer(byToken.secret), { name: 'child' }), 201);
      await ok(call(app, 'POST', `/api/v1/admin/accounts/${bob.account.id}/disable`, admin.headers), 204);

      const byBob = await auditOf(`actor=${bob.account.id}`);
      expect(byBob.map((event) => event.action)).toEqual(['token.created', 'token.created']);
      // A token's trail: what it did (the child), and what was done to it (its creation).
      const withToken = await auditOf(`token=${byToken.token.id}`);
      expect(withToken).toHaveLength(2);
      expect(withToken[0]!.actor).toMatchObject({ accountId: bob.account.id, tokenId: byToken.token.id });
      expect(withToken[1]).toMatchObject({ action: 'token.created', targetId: byToken.token.id });
      expect((await auditOf('action=account.disabled')).map((event) => event.targetId)).toEqual([bob.account.id]);

      const everything = (await get<AdminAuditList>('/api/v1/admin/audit?limit=200')).events;
      const middle = everything[Math.floor(everything.length / 2)]!;
      const since = await auditOf(`since=${encodeURIComponent(middle.occurredAt)}&limit=200`);
      expect(since.every((event) => event.occurredAt >= middle.occurredAt)).toBe(true);
      expect(since.map((event) => event.id)).toContain(middle.id);
      const until = await auditOf(`until=${encodeURIComponent(middle.occurredAt)}&limit=200`);
      expect(until.every((event) => event.occurredAt < middle.occurredAt)).toBe(true);
      expect(since.length + until.length).toBe(everything.length);

      const paged = await allPages(async (cursor) => {
        const page = await get<AdminAuditList>(withCursor('/api/v1/admin/audit?limit=2', cursor));
        return { items: page.events, nextCursor: page.nextCursor };
      });
      expect(paged.items.map((event) => event.id)).toEqual(everything.map((event) => event.id));
    });

    it('Accept: application/x-ndjson streams every matching event, newest first, one JSON object a line, with the API headers', async () => {
      const targets = Array.from({ length: 1203 }, (_, index) => `target-${index}`);
      const base = Date.now() - 60_000;
      await writeWithAudit(ctx.database, async () => ({
        result: undefined,
        audit: targets.map((target, index) =>
          auditEvent(base + index, index % 3 === 0 ? 'namespace.created' : 'namespace.deleted', { accountId: admin.account.id, tokenId: null, ip: '10.0.0.1' }, target),
        ),
      }));

      const response = await call(app, 'GET', '/api/v1/admin/audit?action=namespace.deleted&limit=5', { ...bearer(adminToken.secret), accept: 'application/x-ndjson' });
      expect(response.statusCode, response.body.slice(0, 300)).toBe(200);
      expect(response.headers['content-type']).toMatch(/^application\/x-ndjson/);
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.headers['x-request-id']).toBeTruthy();
      expect(response.headers['latchkey-token-expires-at']).toBeTruthy();
      expect(response.body.endsWith('\n')).toBe(true);
      const lines = response.body.trimEnd().split('\n').map((line) => JSON.parse(line) as AdminAuditEventView);
      const expected = targets.filter((_, index) => index % 3 !== 0).reverse();
      expect(lines.map((event) => event.targetId)).toEqual(expected);
      expect(lines[0]).toMatchObject({ action: 'namespace.deleted', actor: { accountId: admin.account.id, tokenId: null, ip: '10.0.0.1' }, detail: {} });

      // The same filters as the paged JSON; a session may export too.
      const bySession = await call(app, 'GET', `/api/v1/admin/audit?actor=${randomUUID()}`, { ...admin.headers, accept: 'application/x-ndjson' });
      expect(bySession.statusCode).toBe(200);
      expect(bySession.body).toBe('');
      // JSON unless asked.
      const json = await call(app, 'GET', '/api/v1/admin/audit?limit=1', { ...admin.headers, accept: 'application/json, */*' });
      expect(json.headers['content-type']).toMatch(/^application\/json/);
    });
  });
});

/** Two apps (instances) over one database: what one does, the other refuses at once. */
async function expectRefusedEverywhereAtOnce(a: TestApp, b: TestApp): Promise<void> {
  const admin = await a.signIn({ isAdmin: true });
  for (const [label, act] of [
    ['disable', (id: string) => call(a, 'POST', `/api/v1/admin/accounts/${id}/disable`, admin.headers)],
    ['delete', (id: string) => call(a, 'DELETE', `/api/v1/admin/accounts/${id}`, admin.headers)],
  ] as const) {
    const victim = await a.signIn();
    const token = await a.createToken(victim, `${label}-victim`);
    // Both instances have just accepted the token and the session (a cache would now hold them).
    for (const instance of [a, b]) {
      expect((await call(instance, 'GET', '/api/v1/me', bearer(token.secret))).statusCode).toBe(200);
      expect((await call(instance, 'GET', '/api/v1/me', victim.headers)).statusCode).toBe(200);
    }
    expect((await act(victim.account.id)).statusCode).toBe(204);
    for (const instance of [b, a]) {
      expectResponseCode(await call(instance, 'GET', '/api/v1/me', bearer(token.secret)), 'R-INVALID');
      expectResponseCode(await call(instance, 'GET', '/api/v1/me', victim.headers), 'R-NOAUTH');
    }
  }
  const owner = await a.signIn();
  const token = await a.createToken(owner, 'revoked-by-admin');
  expect((await call(b, 'GET', '/api/v1/me', bearer(token.secret))).statusCode).toBe(200);
  expect((await call(a, 'DELETE', `/api/v1/admin/tokens/${token.token.id}`, admin.headers)).statusCode).toBe(204);
  expectResponseCode(await call(b, 'GET', '/api/v1/me', bearer(token.secret)), 'R-INVALID');
}

describe('item 50: disabled, deleted and revoked through the API, refused at once on every instance', () => {
  it('two app instances over one PostgreSQL database', async (context) => {
    if (!(await postgresAvailable())) return context.skip('PostgreSQL is not available');
    await withAppsOnOnePostgres(2, { tokenCache: true }, (apps) => expectRefusedEverywhereAtOnce(apps[0]!, apps[1]!));
  });

  it('one SQLite instance with its verified-token cache on', async () => {
    const database = openDatabase('sqlite::memory:');
    await database.migrate();
    const instance = await createTestApp(database, { tokenCache: true });
    try {
      await expectRefusedEverywhereAtOnce(instance, instance);
    } finally {
      await instance.close();
      await database.close();
    }
  });
});
