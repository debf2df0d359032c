/**
 * The account store's written guarantees (account-store.ts), on SQLite and on a real
 * PostgreSQL. No mock store: each `it` talks to a database.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/databases.js';
import { createStores } from '../../test/support/stores.js';
import type { AccountRecord } from './account.js';
import { conflict, digestOf, expectNoTokenSecretSentAfterEach, storeFixtures } from '../../test/support/store-fixtures.js';

describeEachBackend('Account store contract', (ctx) => {
  const { tick, account, audit, givenAccount, givenToken, session, count, auditCount } = storeFixtures(ctx);
  expectNoTokenSecretSentAfterEach(ctx);

  /** A sign-in as the sign-in service records it: session, last sign-in and audit event together. */
  const signIn = (accountId: string) =>
    ctx.stores.sessions.insertSession(digestOf(randomUUID()), session(accountId), {
      replacing: undefined,
      audit: audit('account.signed_in', accountId, accountId),
    });

  it('an inserted account is found by id and by email, with its audit event', async () => {
    const record = await givenAccount({ isAdmin: true, name: 'Ada' });
    expect(await ctx.stores.accounts.findAccountById(record.id)).toEqual(record);
    expect(await ctx.stores.accounts.findAccountByEmail(record.email!)).toEqual(record);
    expect(await ctx.stores.accounts.findAccountById(randomUUID())).toBeUndefined();
    expect(await ctx.stores.accounts.findAccountByEmail('nobody@example.test')).toBeUndefined();
    const events = await ctx.stores.audit.listAuditEvents({ limit: 10 });
    expect(events.map((event) => [event.action, event.targetId])).toEqual([['account.created', record.id]]);
  });

  it('a duplicate email → StoreConflictError email_taken, and nothing is written', async () => {
    const first = await givenAccount();
    const reason = await conflict(ctx.stores.accounts.insertAccount(account({ email: first.email }), audit('account.created', 'second')));
    expect(reason).toBe('email_taken');
    expect(await count('accounts')).toBe(1);
    expect(await auditCount('account.created')).toBe(1);
  });

  it('accounts without an email do not collide', async () => {
    await givenAccount({ email: null });
    await givenAccount({ email: null });
    expect(await count('accounts')).toBe(2);
  });

  it('an OpenID Connect identity is unique and binds once', async () => {
    const identity = { issuer: 'https://idp.example.test', subject: 'user-1' };
    const bound = account();
    await ctx.stores.accounts.insertAccount(bound, audit('account.created', bound.id), identity);
    expect(await ctx.stores.accounts.findAccountByOidcIdentity(identity)).toEqual(bound);
    expect(await ctx.stores.accounts.findAccountByOidcIdentity({ ...identity, subject: 'user-2' })).toBeUndefined();

    const reason = await conflict(ctx.stores.accounts.insertAccount(account(), audit('account.created', 'x'), identity));
    expect(reason).toBe('oidc_identity_taken');
    expect(await count('accounts')).toBe(1);
    expect(await auditCount('account.created')).toBe(1);

    const other = await givenAccount();
    expect(await ctx.stores.accounts.bindOidcIdentity(bound.id, { ...identity, subject: 'again' })).toBe(false);
    expect(await ctx.stores.accounts.bindOidcIdentity(other.id, { ...identity, subject: 'user-2' })).toBe(true);
    expect(await ctx.stores.accounts.bindOidcIdentity(other.id, { ...identity, subject: 'user-3' })).toBe(false);
    expect((await ctx.stores.accounts.findAccountByOidcIdentity({ ...identity, subject: 'user-2' }))?.id).toBe(other.id);
  });

  it('binding an identity another account already holds → StoreConflictError oidc_identity_taken', async () => {
    const identity = { issuer: 'https://idp.example.test', subject: 'user-1' };
    const holder = account();
    await ctx.stores.accounts.insertAccount(holder, audit('account.created', holder.id), identity);
    const other = await givenAccount();
    expect(await conflict(ctx.stores.accounts.bindOidcIdentity(other.id, identity))).toBe('oidc_identity_taken');
    expect((await ctx.stores.accounts.findAccountByOidcIdentity(identity))?.id).toBe(holder.id);
  });

  it('binding only if never signed in: refused, with nothing written, once the account has signed in', async () => {
    const identity = { issuer: 'https://idp.example.test', subject: 'user-1' };
    const fresh = await givenAccount();
    const used = await givenAccount();
    await signIn(used.id);
    expect(await ctx.stores.accounts.bindOidcIdentity(used.id, identity, { onlyIfNeverSignedIn: true })).toBe(false);
    expect(await ctx.stores.accounts.findAccountByOidcIdentity(identity)).toBeUndefined();
    expect(await ctx.stores.accounts.bindOidcIdentity(fresh.id, identity, { onlyIfNeverSignedIn: true })).toBe(true);
    expect((await ctx.stores.accounts.findAccountByOidcIdentity(identity))?.id).toBe(fresh.id);
  });

  it('the first administrator is the oldest one; an administrator has signed in once a sign-in is recorded', async () => {
    await givenAccount();
    const firstAdmin = await givenAccount({ isAdmin: true });
    const laterAdmin = await givenAccount({ isAdmin: true });
    expect((await ctx.stores.accounts.findFirstAdmin())?.id).toBe(firstAdmin.id);
    expect(await ctx.stores.accounts.hasAdminSignedIn()).toBe(false);
    await signIn(laterAdmin.id);
    expect(await ctx.stores.accounts.hasAdminSignedIn()).toBe(true);
  });

  it('no administrator has signed in while only others have, or while admins only hold sessions started without a sign-in', async () => {
    expect(await ctx.stores.accounts.findFirstAdmin()).toBeUndefined();
    const person = await givenAccount();
    const admin = await givenAccount({ isAdmin: true });
    await signIn(person.id);
    await ctx.stores.sessions.insertSession(digestOf('admin-session'), session(admin.id));
    expect(await ctx.stores.accounts.hasAdminSignedIn()).toBe(false);
  });

  it('an account is disabled and re-enabled with an audit event each; an unknown id → false', async () => {
    const record = await givenAccount();
    const at = tick();
    expect(await ctx.stores.accounts.setAccountDisabled(record.id, at, audit('account.disabled', record.id))).toBe(true);
    expect((await ctx.stores.accounts.findAccountById(record.id))?.disabledAt).toBe(at);
    expect(await ctx.stores.accounts.setAccountDisabled(record.id, null, audit('account.enabled', record.id))).toBe(true);
    expect((await ctx.stores.accounts.findAccountById(record.id))?.disabledAt).toBeNull();
    expect(await auditCount('account.disabled')).toBe(1);
    expect(await auditCount('account.enabled')).toBe(1);

    expect(await ctx.stores.accounts.setAccountDisabled(randomUUID(), tick(), audit('account.disabled', 'ghost'))).toBe(false);
    expect(await auditCount('account.disabled')).toBe(1);
  });

  it('a disabled account is visible through token and session lookups at once', async () => {
    const record = await givenAccount();
    const made = await givenToken(record.id);
    const sessionDigest = digestOf('session');
    await ctx.stores.sessions.insertSession(sessionDigest, session(record.id));
    const at = tick();
    await ctx.stores.accounts.setAccountDisabled(record.id, at, audit('account.disabled', record.id));
    expect((await ctx.stores.tokens.findTokenForAuth(made.digest))?.account.disabledAt).toBe(at);
    expect((await ctx.stores.sessions.findSessionForAuth(sessionDigest))?.account.disabledAt).toBe(at);
  });

  it('deleting an account deletes its tokens, sessions and namespaces and audits how many tokens died', async () => {
    const doomed = await givenAccount();
    const bystander = await givenAccount();
    const live = [await givenToken(doomed.id), await givenToken(doomed.id)];
    const revoked = await givenToken(doomed.id);
    await ctx.stores.tokens.revokeToken(doomed.id, revoked.record.id, tick(), audit('token.revoked', revoked.record.id, doomed.id));
    const kept = await givenToken(bystander.id);
    for (const [owner, label] of [[doomed.id, 'a'], [bystander.id, 'b']] as const) {
      await ctx.stores.sessions.insertSession(digestOf(label), session(owner, { csrfToken: label }));
      await ctx.stores.namespaces.insertNamespace(
        { id: randomUUID(), name: `ns-${label}`, accountId: owner, createdAt: tick() },
        { maxPerAccount: 100 },
        audit('namespace.created', label, owner),
      );
    }

    expect(await ctx.stores.accounts.deleteAccount(doomed.id, audit('account.deleted', doomed.id, null, { reason: 'test' }))).toBe(true);

    expect(await ctx.stores.accounts.findAccountById(doomed.id)).toBeUndefined();
    const ofDoomed = sql`account_id = ${doomed.id}`;
    expect(await count('tokens', ofDoomed)).toBe(0);
    expect(await count('sessions', ofDoomed)).toBe(0);
    expect(await count('namespaces', ofDoomed)).toBe(0);
    for (const made of live) expect(await ctx.stores.tokens.findTokenForAuth(made.digest)).toBeUndefined();
    expect(await ctx.stores.sessions.findSessionForAuth(digestOf('a'))).toBeUndefined();

    // The bystander keeps everything.
    expect((await ctx.stores.tokens.findTokenForAuth(kept.digest))?.id).toBe(kept.record.id);
    expect(await ctx.stores.sessions.findSessionForAuth(digestOf('b'))).toBeDefined();
    expect((await ctx.stores.namespaces.listNamespaces(bystander.id)).map((ns) => ns.name)).toEqual(['ns-b']);

    const [deleted] = await ctx.stores.audit.listAuditEvents({ limit: 1 });
    expect(deleted?.action).toBe('account.deleted');
    expect(deleted?.targetId).toBe(doomed.id);
    expect(deleted?.detail).toEqual({ reason: 'test', tokensRevoked: 2 });
    // Audit events outlive the account they name.
    expect((await ctx.stores.audit.listAuditEvents({ accountId: doomed.id, limit: 10 })).length).toBeGreaterThan(0);
  });

  it('deleting an unknown account → false and no audit event', async () => {
    expect(await ctx.stores.accounts.deleteAccount(randomUUID(), audit('account.deleted', 'ghost'))).toBe(false);
    expect(await auditCount('account.deleted')).toBe(0);
  });

  describe('administration', () => {
    it('lists accounts newest first with last sign-in and live tokens, by state, in pages without duplicates or omissions', async () => {
      const made: AccountRecord[] = [];
      for (let index = 0; index < 7; index++) made.push(await givenAccount({ name: index === 2 ? 'Zoë Ångström' : null }));
      // Two accounts created in the same millisecond: the id breaks the tie.
      const twinAt = tick();
      const twins = [await givenAccount({ createdAt: twinAt }), await givenAccount({ createdAt: twinAt })];
      await ctx.stores.accounts.setAccountDisabled(made[1]!.id, tick(), audit('account.disabled', made[1]!.id));
      await signIn(made[4]!.id);
      await givenToken(made[4]!.id);
      const expired = await givenToken(made[4]!.id);
      await ctx.exec(sql`update tokens set expires_at = ${Date.now() - 1000} where id = ${expired.record.id}`);
      const revoked = await givenToken(made[4]!.id);
      await ctx.stores.tokens.revokeToken(made[4]!.id, revoked.record.id, tick(), audit('token.revoked', revoked.record.id));

      const now = Date.now();
      const pages: string[][] = [];
      let after: { createdAt: number; id: string } | undefined;
      for (;;) {
        const page = await ctx.stores.accounts.listAccounts({ state: 'all', after, limit: 2, now });
        pages.push(page.map((found) => found.id));
        const last = page.at(-1);
        if (page.length < 2 || !last) break;
        after = { createdAt: last.createdAt, id: last.id };
      }
      const expectedOrder = [...twins.map((twin) => twin.id).sort(), ...made.map((found) => found.id).reverse()];
      expect(pages.flat()).toEqual(expectedOrder);

      const all = await ctx.stores.accounts.listAccounts({ state: 'all', limit: 100, now });
      const active = all.find((found) => found.id === made[4]!.id)!;
      expect(active.activeTokens).toBe(1);
      expect(active.lastSignInAt).toEqual(expect.any(Number));
      expect(all.find((found) => found.id === made[0]!.id)).toMatchObject({ activeTokens: 0, lastSignInAt: null });
      expect((await ctx.stores.accounts.listAccounts({ state: 'disabled', limit: 100, now })).map((found) => found.id)).toEqual([made[1]!.id]);
      expect(await ctx.stores.accounts.listAccounts({ state: 'active', limit: 100, now })).toHaveLength(8);
      expect(await ctx.stores.accounts.findAccountSummary(made[4]!.id, now)).toEqual(active);
      expect(await ctx.stores.accounts.findAccountSummary(randomUUID(), now)).toBeUndefined();
    });

    it('search is a case-insensitive plain substring of the email or the name, the same on both databases, across batches', async () => {
      const named = await givenAccount({ name: 'Zoë Ångström', email: 'zoe@example.test' });
      const other = await givenAccount({ email: 'under_score@example.test' });
      // More rows than one search batch reads, none of them matching.
      await ctx.exec(
        sql`insert into accounts (id, email, name, is_admin, created_at, disabled_at) select ${sql.raw(ctx.dialect === 'sqlite' ? "lower(hex(randomblob(16)))" : 'gen_random_uuid()::text')}, null, 'filler', 0, ${tick()}, null from ${sql.raw(ctx.dialect === 'sqlite' ? '(with recursive n(i) as (select 1 union all select i + 1 from n where i < 1200) select i from n)' : 'generate_series(1, 1200)')} as filler`,
      );
      const now = Date.now();
      const search = async (text: string, limit = 10) => (await ctx.stores.accounts.listAccounts({ search: text, state: 'all', limit, now })).map((found) => found.id);
      expect(await search('ÅNGSTRÖM')).toEqual([named.id]);
      expect(await search('zoë')).toEqual([named.id]);
      expect(await search('ZOE@')).toEqual([named.id]);
      expect(await search('_score')).toEqual([other.id]);
      expect(await search('%')).toEqual([]);
      expect(await search('example.test')).toEqual([other.id, named.id]);
      expect(await search('example.test', 1)).toEqual([other.id]);
    });

    it('updates the name and the administrator flag with their audit events together; an unknown account → false, nothing written', async () => {
      const record = await givenAccount();
      const events = [audit('account.admin_granted', record.id), audit('account.updated', record.id, null, { name: { from: 'Some One', to: 'Ada' } })];
      expect(await ctx.stores.accounts.updateAccount(record.id, { isAdmin: true, name: 'Ada' }, events)).toBe(true);
      expect(await ctx.stores.accounts.findAccountById(record.id)).toEqual({ ...record, isAdmin: true, name: 'Ada' });
      expect(await auditCount('account.admin_granted')).toBe(1);
      expect(await ctx.stores.accounts.updateAccount(record.id, { name: null }, [audit('account.updated', record.id)])).toBe(true);
      expect((await ctx.stores.accounts.findAccountById(record.id))?.name).toBeNull();
      expect(await ctx.stores.accounts.updateAccount(randomUUID(), { isAdmin: false }, [audit('account.admin_revoked', 'ghost')])).toBe(false);
      expect(await auditCount('account.admin_revoked')).toBe(0);
    });

    it("a demotion is an authentication change: a cached token's owner is read again", async () => {
      const record = await givenAccount({ isAdmin: true });
      const made = await givenToken(record.id);
      // A token store keeping verified lookups in memory (SQLite; PostgreSQL reads every time).
      const cached = createStores(ctx.database, { tokenCache: true });
      expect((await cached.tokens.findTokenForAuth(made.digest))?.account.isAdmin).toBe(true);
      await ctx.stores.accounts.updateAccount(record.id, { isAdmin: false }, [audit('account.admin_revoked', record.id)]);
      expect((await cached.tokens.findTokenForAuth(made.digest))?.account.isAdmin).toBe(false);
    });
  });
});
