/**
 * The account store's written guarantees (account-store.ts), on SQLite and on a real
 * PostgreSQL. No mock store: each `it` talks to a database.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/databases.js';
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
});
