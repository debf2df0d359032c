/**
 * Least privilege over HTTP (docs/scopes.md), on both databases: tokens managing tokens without
 * escalation (docs/security.md, item 45), namespace restrictions (item 46), IP allowlists with
 * the owner's notice (item 47), and a token's page data (addresses and actions). The route ×
 * scope matrix (item 44) runs in the shared route suite (protected-routes.test.ts).
 */
import { randomUUID } from 'node:crypto';
import type { NoticeView, TokenView } from '@latchkey/contract';
import { generateToken } from '@latchkey/contract/token';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { Migrator, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createMemoryFailureLimiter } from '../../src/auth-failures/memory-failure-limiter.js';
import { rawKysely } from '../../src/database/database.js';
import { createMigrationProvider } from '../../src/database/migrations.js';
import { openDatabase } from '../../src/database/open-database.js';
import { createManualClock, systemClock } from '../../src/kernel/clock.js';
import { appForEachTest, bearer, comparable, createTestApp, type TestApp, type TestSession } from '../support/app.js';
import { createTestPostgresDatabase, describeEachBackend } from '../support/databases.js';
import { expectResponseCode, expectScopeRefusal, unknownWellFormedToken } from '../support/protected-route.js';

const DAY_MS = 86_400_000;

function inject(
  app: TestApp,
  request: { method?: 'GET' | 'POST' | 'DELETE'; url: string; headers: Record<string, string>; payload?: unknown; remoteAddress?: string },
): Promise<LightMyRequestResponse> {
  return app.http.inject({
    method: request.method ?? 'GET',
    url: request.url,
    headers: request.headers,
    remoteAddress: request.remoteAddress,
    ...(request.payload === undefined ? {} : { payload: request.payload as Record<string, unknown> }),
  });
}

async function createWith(app: TestApp, credentials: Record<string, string>, body: Record<string, unknown>, remoteAddress?: string) {
  return inject(app, { method: 'POST', url: '/api/v1/tokens', headers: credentials, payload: body, remoteAddress });
}

async function namespaceNames(app: TestApp, credentials: Record<string, string>, remoteAddress?: string): Promise<string[]> {
  const response = await inject(app, { url: '/api/v1/namespaces', headers: credentials, remoteAddress });
  expect(response.statusCode, response.body).toBe(200);
  return response.json<{ namespaces: Array<{ name: string }> }>().namespaces.map((namespace) => namespace.name).sort();
}

describeEachBackend('least privilege', (ctx) => {
  let app: TestApp;
  let session: TestSession;
  appForEachTest(ctx, async (fresh) => {
    app = fresh;
    session = await app.signIn();
  });

  describe('scopes', () => {
    it('a token made before scopes existed keeps exactly what it could do: namespaces, not tokens', async () => {
      // A database as the release before scopes left it (migrated to 0010), with a token in it.
      const fresh = ctx.dialect === 'postgres' ? await createTestPostgresDatabase() : undefined;
      const database = openDatabase(fresh?.url ?? 'sqlite::memory:');
      try {
        const migrator = new Migrator({ db: rawKysely(database), provider: createMigrationProvider(ctx.dialect) });
        expect((await migrator.migrateTo('0010_token_note')).error).toBeUndefined();
        const db = rawKysely(database);
        const accountId = randomUUID();
        const tokenId = randomUUID();
        const old = generateToken();
        const now = Date.now();
        await sql`insert into accounts (id, email, name, is_admin, created_at) values (${accountId}, ${'old@example.test'}, ${null}, ${0}, ${now})`.execute(db);
        await sql`insert into tokens (id, account_id, name, note, digest, last4, created_at, expires_at)
                  values (${tokenId}, ${accountId}, ${'old'}, ${null}, ${old.digest}, ${old.last4}, ${now}, ${now + 30 * DAY_MS})`.execute(db);
        await database.migrate();
        const upgraded = await createTestApp(database);
        try {
          const owner = { account: { id: accountId } };
          const token = { id: tokenId };
          const secret = old.token;
          expect((await upgraded.services.tokens.get(owner.account.id, token.id)).token.scopes).toEqual(['namespaces:read', 'namespaces:write']);
          expect((await inject(upgraded, { method: 'POST', url: '/api/v1/namespaces', headers: bearer(secret), payload: { name: 'still-works' } })).statusCode).toBe(201);
          expect((await inject(upgraded, { url: '/api/v1/namespaces', headers: bearer(secret) })).statusCode).toBe(200);
          expect((await inject(upgraded, { method: 'DELETE', url: '/api/v1/namespaces/still-works', headers: bearer(secret) })).statusCode).toBe(204);
          expectScopeRefusal(await inject(upgraded, { url: '/api/v1/tokens', headers: bearer(secret) }), 'tokens:read');
          expectScopeRefusal(await createWith(upgraded, bearer(secret), { name: 'child' }), 'tokens:write');
          expect((await inject(upgraded, { url: '/api/v1/tokens/self', headers: bearer(secret) })).statusCode).toBe(200);
        } finally {
          await upgraded.close();
        }
      } finally {
        await database.close();
        await fresh?.drop();
      }
    });

    it('defaults a new token to every non-admin scope but introspect, unrestricted', async () => {
      const { token } = await app.createToken(session, 'default');
      expect(token.scopes).toEqual(['namespaces:read', 'namespaces:write', 'tokens:read', 'tokens:write']);
      expect(token.namespaces).toBeNull();
      expect(token.allowedIps).toBeNull();
    });

    it('refuses admin scopes to a non-administrator and grants them to an administrator', async () => {
      const refused = await createWith(app, session.headers, { name: 'adm', scopes: ['admin:read'] });
      expectResponseCode(refused, 'R-422');
      expect(refused.json().errors).toEqual([{ pointer: '/scopes', detail: 'admin scopes are only for administrators’ tokens' }]);
      const admin = await app.signIn({ isAdmin: true });
      const granted = await createWith(app, admin.headers, { name: 'adm', scopes: ['admin:read'] });
      expect(granted.statusCode, granted.body).toBe(201);
    });

    it('refuses an unknown or repeated scope, naming it, and writes nothing', async () => {
      for (const scopes of [['namespaces:admin'], ['tokens:read', 'tokens:read'], [], 'tokens:read']) {
        const response = await createWith(app, session.headers, { name: `bad-${randomUUID().slice(0, 6)}`, scopes });
        expectResponseCode(response, 'R-422');
        expect(response.json().errors[0].pointer).toMatch(/^\/scopes/);
      }
      const listed = await inject(app, { url: '/api/v1/tokens', headers: session.headers });
      expect(listed.json<{ tokens: TokenView[] }>().tokens).toEqual([]);
    });

    it('a read-only token lists but may not create: R-SCOPE naming namespaces:write', async () => {
      const { secret } = await app.createToken(session, 'ro', { scopes: ['namespaces:read', 'tokens:read'] });
      expect((await inject(app, { url: '/api/v1/namespaces', headers: bearer(secret) })).statusCode).toBe(200);
      const refused = await inject(app, { method: 'POST', url: '/api/v1/namespaces', headers: bearer(secret), payload: { name: 'nope' } });
      expectScopeRefusal(refused, 'namespaces:write');
      expect(await namespaceNames(app, session.headers)).toEqual([]);
    });
  });

  describe('token management by token (item 45)', () => {
    it('a tokens:write token lists, creates and revokes the owner’s tokens; the new token inherits its bounds', async () => {
      const { secret: manager } = await app.createToken(session, 'manager', {
        scopes: ['namespaces:write', 'tokens:write'],
        namespaces: ['preview-*'],
        allowedIps: ['10.0.0.0/8'],
        expiresInDays: 30,
      });
      const from = '10.1.2.3';
      const created = await createWith(app, bearer(manager), { name: 'child' }, from);
      expect(created.statusCode, created.body).toBe(201);
      const child = created.json<{ token: TokenView; secret: string }>();
      expect(child.token).toMatchObject({
        // What it holds, with the read scopes its write scopes include.
        scopes: ['namespaces:read', 'namespaces:write', 'tokens:read', 'tokens:write'],
        namespaces: ['preview-*'],
        allowedIps: ['10.0.0.0/8'],
      });
      const managerView = (await inject(app, { url: '/api/v1/tokens/self', headers: bearer(manager), remoteAddress: from })).json<TokenView>();
      expect(Date.parse(child.token.expiresAt)).toBe(Date.parse(managerView.expiresAt));

      const listed = await inject(app, { url: '/api/v1/tokens', headers: bearer(manager), remoteAddress: from });
      expect(listed.json<{ tokens: TokenView[] }>().tokens.map((token) => token.name).sort()).toEqual(['child', 'manager']);
      const revoked = await inject(app, { method: 'DELETE', url: `/api/v1/tokens/${child.token.id}`, headers: bearer(manager), remoteAddress: from });
      expect(revoked.statusCode).toBe(204);
      expectResponseCode(await inject(app, { url: '/api/v1/me', headers: bearer(child.secret), remoteAddress: from }), 'R-INVALID');
    });

    it('refuses each way of asking for more, naming what, and writes nothing', async () => {
      const { secret: manager } = await app.createToken(session, 'manager', {
        scopes: ['namespaces:read', 'tokens:write'],
        namespaces: ['preview-*', 'staging'],
        allowedIps: ['10.0.0.0/8', '2001:db8::/32'],
        expiresInDays: 30,
      });
      const from = '10.9.9.9';
      const ask = (body: Record<string, unknown>) => createWith(app, bearer(manager), { name: `x-${randomUUID().slice(0, 6)}`, ...body }, from);

      expectScopeRefusal(await ask({ scopes: ['namespaces:write'] }), 'namespaces:write');
      expectScopeRefusal(await ask({ scopes: ['introspect'] }), 'introspect');
      const admin = await ask({ scopes: ['admin:read'] });
      expectResponseCode(admin, 'R-422');
      expect(admin.json().errors[0].pointer).toBe('/scopes');
      const pointers = async (body: Record<string, unknown>) => {
        const response = await ask(body);
        expectResponseCode(response, 'R-422');
        return response.json<{ errors: Array<{ pointer: string }> }>().errors.map((error) => error.pointer);
      };
      expect(await pointers({ namespaces: null })).toEqual(['/namespaces']);
      expect(await pointers({ namespaces: ['prod'] })).toEqual(['/namespaces/0']);
      expect(await pointers({ namespaces: ['staging', 'pre*'] })).toEqual(['/namespaces/1']);
      expect(await pointers({ allowedIps: null })).toEqual(['/allowedIps']);
      expect(await pointers({ allowedIps: ['0.0.0.0/0'] })).toEqual(['/allowedIps/0']);
      expect(await pointers({ allowedIps: ['10.0.0.1', '2001:db9::1'] })).toEqual(['/allowedIps/1']);
      expect(await pointers({ expiresInDays: 60 })).toEqual(['/expiresInDays']);
      expect(await pointers({ expiresAt: new Date(Date.now() + 40 * DAY_MS).toISOString() })).toEqual(['/expiresAt']);

      // Within its bounds, narrower, it may.
      const narrower = await ask({
        scopes: ['namespaces:read'],
        namespaces: ['preview-1', 'preview-2*'],
        allowedIps: ['10.1.0.0/16', '2001:db8:1::5'],
        expiresInDays: 7,
      });
      expect(narrower.statusCode, narrower.body).toBe(201);
      const tokens = (await inject(app, { url: '/api/v1/tokens', headers: session.headers })).json<{ tokens: TokenView[] }>().tokens;
      expect(tokens.map((token) => token.name).filter((name) => name !== 'manager')).toHaveLength(1);
    });

    it('a token without tokens:write may not create or revoke; without tokens:read may not list', async () => {
      const { secret: reader } = await app.createToken(session, 'reader', { scopes: ['tokens:read'] });
      const { token: other } = await app.createToken(session, 'other');
      expectScopeRefusal(await createWith(app, bearer(reader), { name: 'x' }), 'tokens:write');
      expectScopeRefusal(await inject(app, { method: 'DELETE', url: `/api/v1/tokens/${other.id}`, headers: bearer(reader) }), 'tokens:write');
      const { secret: nsOnly } = await app.createToken(session, 'ns', { scopes: ['namespaces:read'] });
      expectScopeRefusal(await inject(app, { url: '/api/v1/tokens', headers: bearer(nsOnly) }), 'tokens:read');
      // Every token may still read and revoke itself.
      expect((await inject(app, { url: '/api/v1/tokens/self', headers: bearer(nsOnly) })).statusCode).toBe(200);
      expect((await inject(app, { method: 'DELETE', url: '/api/v1/tokens/self', headers: bearer(nsOnly) })).statusCode).toBe(204);
    });

    it('no token creates a token broader than itself: a property over random scope, namespace, address and lifetime sets', async () => {
      const scopeArb = fc.subarray(['namespaces:read', 'namespaces:write', 'tokens:read', 'tokens:write', 'introspect', 'admin:read'] as const);
      const namespaceArb = fc.option(
        fc.uniqueArray(fc.constantFrom('preview-*', 'preview-1', 'pre*', 'staging', 'prod', 'preview-12*', 'p*'), { minLength: 1, maxLength: 3 }),
        { nil: null },
      );
      const ipArb = fc.option(
        fc.uniqueArray(fc.constantFrom('10.0.0.0/8', '10.1.0.0/16', '10.1.2.3', '192.168.0.0/16', '2001:db8::/32', '2001:db8:1::/48', '0.0.0.0/0'), {
          minLength: 1,
          maxLength: 3,
        }),
        { nil: null },
      );
      const lifetimeArb = fc.constantFrom(7, 30, 60, 90, 180);
      let made = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.record({ scopes: scopeArb, namespaces: namespaceArb, allowedIps: ipArb, expiresInDays: lifetimeArb }),
          fc.record({
            // Often absent, so that some children are made (absent: the grantor's own bounds).
            scopes: fc.option(scopeArb, { nil: undefined, freq: 2 }),
            namespaces: fc.option(namespaceArb, { nil: undefined, freq: 2 }),
            allowedIps: fc.option(ipArb, { nil: undefined, freq: 2 }),
            expiresInDays: fc.option(lifetimeArb, { nil: undefined, freq: 2 }),
          }),
          async (parent, asked) => {
            // A fresh owner each run: an account holds at most 100 tokens.
            const admin = await app.signIn({ isAdmin: true });
            const parentScopes = [...new Set([...parent.scopes, 'tokens:write' as const])];
            const created = await createWith(app, admin.headers, { name: `p-${randomUUID()}`, ...parent, scopes: parentScopes });
            expect(created.statusCode, created.body).toBe(201);
            const grantor = created.json<{ token: TokenView; secret: string }>();
            // Present it from an address its allowlist admits.
            const from = grantor.token.allowedIps?.some((entry) => entry.includes(':')) && !grantor.token.allowedIps.some((e) => !e.includes(':'))
              ? '2001:db8:1::9'
              : '10.1.2.3';
            const body = Object.fromEntries(Object.entries({ name: `c-${randomUUID()}`, ...asked }).filter(([, value]) => value !== undefined));
            if (Array.isArray(body.scopes) && body.scopes.length === 0) delete body.scopes;
            const response = await createWith(app, bearer(grantor.secret), body, from);
            if (response.statusCode === 401) {
              // The grantor's allowlist does not admit either test address: nothing to learn.
              expect(grantor.token.allowedIps).not.toBeNull();
              return;
            }
            if (response.statusCode !== 201) {
              expect([403, 422], response.body).toContain(response.statusCode);
              return;
            }
            made++;
            const child = response.json<{ token: TokenView }>().token;
            expect(child.scopes.some((scope) => scope.startsWith('admin:'))).toBe(false);
            for (const scope of child.scopes) expect(grants(grantor.token.scopes, scope), `${scope} ⊄ ${grantor.token.scopes}`).toBe(true);
            if (grantor.token.namespaces !== null) {
              expect(child.namespaces).not.toBeNull();
              for (const pattern of child.namespaces!) expect(covered(pattern, grantor.token.namespaces), pattern).toBe(true);
            }
            if (grantor.token.allowedIps !== null) {
              expect(child.allowedIps).not.toBeNull();
              for (const entry of child.allowedIps!) expect(ipCovered(entry, grantor.token.allowedIps), entry).toBe(true);
            }
            expect(Date.parse(child.expiresAt)).toBeLessThanOrEqual(Date.parse(grantor.token.expiresAt));
          },
        ),
        { numRuns: 80, seed: Number(process.env.LATCHKEY_PROPERTY_SEED ?? Date.now() % 2 ** 31) },
      );
      // The property is not vacuous: some children were made.
      expect(made).toBeGreaterThan(5);
    });
  });

  describe('namespace restriction (item 46)', () => {
    it('lists only matching namespaces, creates and deletes only matching names; others are R-SCOPE naming the namespace', async () => {
      for (const name of ['preview-1', 'staging', 'prod']) {
        expect((await inject(app, { method: 'POST', url: '/api/v1/namespaces', headers: session.headers, payload: { name } })).statusCode).toBe(201);
      }
      const { secret } = await app.createToken(session, 'ci', { scopes: ['namespaces:write'], namespaces: ['preview-*'] });
      expect(await namespaceNames(app, bearer(secret))).toEqual(['preview-1']);

      const created = await inject(app, { method: 'POST', url: '/api/v1/namespaces', headers: bearer(secret), payload: { name: 'preview-42' } });
      expect(created.statusCode, created.body).toBe(201);
      expectScopeRefusal(
        await inject(app, { method: 'POST', url: '/api/v1/namespaces', headers: bearer(secret), payload: { name: 'prod-2' } }),
        'namespaces:write',
        'prod-2',
      );
      expectScopeRefusal(await inject(app, { method: 'DELETE', url: '/api/v1/namespaces/prod', headers: bearer(secret) }), 'namespaces:write', 'prod');
      expect((await inject(app, { method: 'DELETE', url: '/api/v1/namespaces/preview-1', headers: bearer(secret) })).statusCode).toBe(204);
      expect(await namespaceNames(app, session.headers)).toEqual(['preview-42', 'prod', 'staging']);
    });

    it("another account's matching namespace stays R-404 to delete, and its name is taken (R-409)", async () => {
      const other = await app.signIn();
      expect((await inject(app, { method: 'POST', url: '/api/v1/namespaces', headers: other.headers, payload: { name: 'preview-9' } })).statusCode).toBe(201);
      const { secret } = await app.createToken(session, 'ci', { scopes: ['namespaces:write'], namespaces: ['preview-*'] });
      expectResponseCode(await inject(app, { method: 'DELETE', url: '/api/v1/namespaces/preview-9', headers: bearer(secret) }), 'R-404');
      expectResponseCode(
        await inject(app, { method: 'POST', url: '/api/v1/namespaces', headers: bearer(secret), payload: { name: 'preview-9' } }),
        'R-409',
      );
      expect(await namespaceNames(app, other.headers)).toEqual(['preview-9']);
    });

    it('refuses a malformed pattern, naming the entry', async () => {
      for (const pattern of ['*', 'Preview-*', 'pre*view', 'a b', '-x*', '']) {
        const response = await createWith(app, session.headers, { name: `n-${randomUUID().slice(0, 6)}`, namespaces: ['ok', pattern] });
        expectResponseCode(response, 'R-422');
        expect(response.json().errors[0].pointer, pattern).toBe('/namespaces/1');
      }
    });
  });

  describe('IP allowlist (item 47)', () => {
    const allowlisted = async (allowedIps: string[]) =>
      (await app.createToken(session, `ip-${randomUUID().slice(0, 6)}`, { allowedIps })).secret;
    const me = (secret: string, remoteAddress: string) => inject(app, { url: '/api/v1/me', headers: bearer(secret), remoteAddress });

    it('admits IPv4, IPv6 and IPv4-mapped IPv6 addresses inside the list, and refuses the rest', async () => {
      const secret = await allowlisted(['10.0.0.0/8', '192.0.2.7', '2001:db8::/32', '::ffff:198.51.100.0/120']);
      for (const inside of ['10.0.0.1', '10.255.255.255', '192.0.2.7', '::ffff:10.3.4.5', '2001:db8::1', '2001:db8:ffff::1', '198.51.100.9', '::ffff:198.51.100.200']) {
        expect((await me(secret, inside)).statusCode, inside).toBe(200);
      }
      for (const outside of ['11.0.0.1', '192.0.2.8', '::ffff:192.0.2.8', '2001:db9::1', '::1', '198.51.101.1']) {
        expectResponseCode(await me(secret, outside), 'R-INVALID');
      }
    });

    it('stores canonical entries and refuses malformed ones or ones with host bits, naming the entry', async () => {
      const { token } = await app.createToken(session, 'canon', { allowedIps: ['10.0.0.5/32', '2001:DB8:0:0::/32', '::ffff:10.0.0.0/104', '10.0.0.5'] });
      expect(token.allowedIps).toEqual(['10.0.0.5', '2001:db8::/32', '10.0.0.0/8']);
      for (const entry of ['10.0.0.1/8', '10.1', '0x0a.0.0.1', '10.0.0.0/33', 'fe80::1%eth0', 'localhost', '10.0.0.0/']) {
        const response = await createWith(app, session.headers, { name: `bad-${randomUUID().slice(0, 6)}`, allowedIps: [entry] });
        expectResponseCode(response, 'R-422');
        expect(response.json().errors[0].pointer, entry).toBe('/allowedIps/0');
      }
      expect((await createWith(app, session.headers, { name: 'hb', allowedIps: ['10.0.0.1/8'] })).json().errors[0].detail).toBe(
        'has host bits set; did you mean 10.0.0.0/8?',
      );
    });

    it('from outside: byte-identical to an unknown token, logged ip_not_allowed, and one notice to the owner per address', async () => {
      const { token, secret } = await app.createToken(session, 'ci-preview', { allowedIps: ['10.0.0.0/8'], note: 'GitLab runner' });
      const outside = await me(secret, '203.0.113.9');
      const unknown = await me(unknownWellFormedToken(), '203.0.113.9');
      expect(comparable(outside)).toEqual(comparable(unknown));
      expect(outside.body).not.toContain('ci-preview');
      for (let i = 0; i < 5; i++) await me(secret, '203.0.113.9');
      await me(secret, '203.0.113.10');
      // An expired token from outside is refused the same way: expiry would confirm it is real.
      await ctx.exec(sql`update tokens set expires_at = 1000 where id = ${token.id}`);
      expect(comparable(await me(secret, '203.0.113.9'))).toEqual(comparable(unknown));

      const reasons = app.logs.filter((line) => line.event === 'auth_failed').map((line) => line.reason);
      expect(reasons).toContain('ip_not_allowed');
      expect(JSON.stringify(app.logs)).not.toContain(secret);

      const notices = await waitForNotices(app, session, 2);
      expect(notices).toEqual([
        expect.objectContaining({ kind: 'token_outside_allowlist', ip: '203.0.113.10', token: { id: token.id, name: 'ci-preview', last4: token.last4, note: 'GitLab runner' } }),
        expect.objectContaining({ kind: 'token_outside_allowlist', ip: '203.0.113.9' }),
      ]);
      expect(JSON.stringify(notices)).not.toContain(secret);
    });

    it('counts X-Forwarded-For only from a trusted proxy', async () => {
      const { secret } = await app.createToken(session, 'behind-proxy', { allowedIps: ['10.0.0.0/8'] });
      const direct = await createTestApp(ctx.database, { trustProxy: false });
      const proxied = await createTestApp(ctx.database, { trustProxy: ['192.0.2.1'] });
      try {
        const forwarded = { ...bearer(secret), 'x-forwarded-for': '10.1.1.1' };
        // Untrusted: the socket's address counts, the header does not.
        expectResponseCode(await inject(direct, { url: '/api/v1/me', headers: forwarded, remoteAddress: '203.0.113.5' }), 'R-INVALID');
        // From the trusted proxy: the client address it reports counts.
        expect((await inject(proxied, { url: '/api/v1/me', headers: forwarded, remoteAddress: '192.0.2.1' })).statusCode).toBe(200);
        // From anyone else claiming to be a proxy: the header is ignored.
        expectResponseCode(await inject(proxied, { url: '/api/v1/me', headers: forwarded, remoteAddress: '203.0.113.5' }), 'R-INVALID');
        const outside = { ...bearer(secret), 'x-forwarded-for': '203.0.113.7' };
        expectResponseCode(await inject(proxied, { url: '/api/v1/me', headers: outside, remoteAddress: '192.0.2.1' }), 'R-INVALID');
      } finally {
        await direct.close();
        await proxied.close();
      }
    });

    it('refusals from outside count against the address like any invalid token (the throttle sees no difference)', async () => {
      const throttled = await createTestApp(ctx.database, { failureLimiter: createMemoryFailureLimiter({ clock: systemClock }) });
      try {
        const owner = await throttled.signIn();
        const { secret } = await throttled.createToken(owner, 'walled', { allowedIps: ['10.0.0.0/8'] });
        const codes: number[] = [];
        for (let i = 0; i < 40; i++) codes.push((await inject(throttled, { url: '/api/v1/me', headers: bearer(secret), remoteAddress: '203.0.113.77' })).statusCode);
        expect(codes).toContain(429);
        expect(codes.every((code) => code === 401 || code === 429)).toBe(true);
      } finally {
        await throttled.close();
      }
    });
  });

  describe("a token's page data", () => {
    it('lists the last five distinct addresses, newest first, and the token\'s trail: the actions it took and its creation', async () => {
      // A clock that moves a second per use, so "newest first" is not a tie within a millisecond.
      const clock = createManualClock(Date.now());
      const clocked = await createTestApp(ctx.database, { clock });
      const owner = await clocked.signIn();
      const { token, secret } = await clocked.createToken(owner, 'worker');
      const addresses = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5', '192.0.2.6'];
      try {
        for (const address of addresses) {
          clock.advance(1000);
          expect((await meFrom(clocked, secret, address)).statusCode).toBe(200);
          await waitFor(async () => (await activity(clocked, owner, token.id)).addresses.some((row) => row.ip === address));
        }
        await inject(clocked, { method: 'POST', url: '/api/v1/namespaces', headers: bearer(secret), payload: { name: 'made-by-worker' }, remoteAddress: '192.0.2.6' });
        const seen = await activity(clocked, owner, token.id);
        expect(seen.addresses.map((row) => row.ip)).toEqual(['192.0.2.6', '192.0.2.5', '192.0.2.4', '192.0.2.3', '192.0.2.2']);
        expect(seen.events).toEqual([
          expect.objectContaining({ action: 'namespace.created', ip: '192.0.2.6', target: 'made-by-worker' }),
          expect.objectContaining({ action: 'token.created', targetId: token.id, target: 'worker' }),
        ]);
        // Another account's token is R-404, as everywhere.
        const other = await clocked.signIn();
        expectResponseCode(await inject(clocked, { url: `/api/v1/tokens/${token.id}/activity`, headers: other.headers }), 'R-404');
      } finally {
        await clocked.close();
      }
    });
  });
});

function meFrom(app: TestApp, secret: string, remoteAddress: string) {
  return inject(app, { url: '/api/v1/me', headers: bearer(secret), remoteAddress });
}

async function activity(app: TestApp, session: TestSession, tokenId: string) {
  const response = await inject(app, { url: `/api/v1/tokens/${tokenId}/activity`, headers: session.headers });
  expect(response.statusCode, response.body).toBe(200);
  return response.json<{ addresses: Array<{ ip: string }>; events: Array<Record<string, unknown>> }>();
}

/** Background writes (a notice, an address) land after the response: wait for them, without a time limit of our own. */
async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 10));
}

async function waitForNotices(app: TestApp, session: TestSession, count: number): Promise<NoticeView[]> {
  let notices: NoticeView[] = [];
  await waitFor(async () => {
    const response = await inject(app, { url: '/api/v1/notices', headers: session.headers });
    notices = response.json<{ notices: NoticeView[] }>().notices;
    return notices.length >= count;
  });
  return notices;
}

/** Written out, not imported: what each scope includes. */
function grants(held: readonly string[], scope: string): boolean {
  const includes: Record<string, string> = { 'namespaces:write': 'namespaces:read', 'tokens:write': 'tokens:read', 'admin:write': 'admin:read' };
  return held.includes(scope) || held.some((h) => includes[h] === scope);
}

function covered(pattern: string, held: readonly string[]): boolean {
  const matches = (p: string, name: string) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : p === name);
  if (!pattern.endsWith('*')) return held.some((p) => matches(p, pattern));
  return held.some((p) => p.endsWith('*') && pattern.slice(0, -1).startsWith(p.slice(0, -1)));
}

/** The fixed entries the property draws from, with the ranges each one covers written out. */
function ipCovered(entry: string, held: readonly string[]): boolean {
  const within: Record<string, string[]> = {
    '10.0.0.0/8': ['10.0.0.0/8', '0.0.0.0/0'],
    '10.1.0.0/16': ['10.1.0.0/16', '10.0.0.0/8', '0.0.0.0/0'],
    '10.1.2.3': ['10.1.2.3', '10.1.0.0/16', '10.0.0.0/8', '0.0.0.0/0'],
    '192.168.0.0/16': ['192.168.0.0/16', '0.0.0.0/0'],
    '0.0.0.0/0': ['0.0.0.0/0'],
    '2001:db8::/32': ['2001:db8::/32'],
    '2001:db8:1::/48': ['2001:db8:1::/48', '2001:db8::/32'],
  };
  return (within[entry] ?? []).some((range) => held.includes(range));
}

