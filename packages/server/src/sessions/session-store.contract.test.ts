/**
 * The session store's written guarantees (session-store.ts), on SQLite and on a real
 * PostgreSQL: sessions by digest only, and a sign-in's writes — the replaced session ended, the
 * new one stored, the last sign-in noted, the audit event — as one transaction.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/databases.js';
import { DAY, digestOf, expectNoTokenSecretSentAfterEach, rejection, storeFixtures } from '../../test/support/store-fixtures.js';

describeEachBackend('Session store contract', (ctx) => {
  const { tick, audit, givenAccount, session, count, auditCount, lastSignInAt } = storeFixtures(ctx);
  expectNoTokenSecretSentAfterEach(ctx);

  const signedIn = (accountId: string, replacing?: Buffer) => ({ replacing, audit: audit('account.signed_in', accountId, accountId, { method: 'link' }) });

  it('a session is stored, found (with its owner and the database clock), touched and deleted by digest', async () => {
    const owner = await givenAccount();
    const idDigest = digestOf('session-id');
    const createdAt = tick();
    const record = { accountId: owner.id, csrfToken: 'csrf-123', createdAt, lastSeenAt: createdAt, expiresAt: createdAt + 14 * DAY };
    await ctx.stores.sessions.insertSession(idDigest, record);

    const before = Date.now();
    const found = await ctx.stores.sessions.findSessionForAuth(idDigest);
    const { account: foundAccount, dbNow, ...stored } = found!;
    expect(stored).toEqual(record);
    expect(foundAccount).toEqual(owner);
    expect(dbNow).toBeGreaterThanOrEqual(before - 2000);
    expect(dbNow).toBeLessThanOrEqual(Date.now() + 2000);
    expect(await ctx.stores.sessions.findSessionForAuth(digestOf('other'))).toBeUndefined();
    expect(JSON.stringify(ctx.queries)).not.toContain('session-id');

    await ctx.stores.sessions.touchSession(idDigest, record.lastSeenAt + 5000);
    expect((await ctx.stores.sessions.findSessionForAuth(idDigest))?.lastSeenAt).toBe(record.lastSeenAt + 5000);

    expect(await ctx.stores.sessions.deleteSession(idDigest)).toBe(true);
    expect(await ctx.stores.sessions.findSessionForAuth(idDigest)).toBeUndefined();
    expect(await ctx.stores.sessions.deleteSession(idDigest)).toBe(false);
  });

  it('a session stored without a sign-in notes no sign-in and audits nothing', async () => {
    const owner = await givenAccount();
    await ctx.stores.sessions.insertSession(digestOf('plain'), session(owner.id));
    expect(await lastSignInAt(owner.id)).toBeNull();
    expect(await auditCount('account.signed_in')).toBe(0);
  });

  it('a sign-in\'s session, last sign-in and audit event are written together', async () => {
    const owner = await givenAccount();
    const record = session(owner.id);
    const signIn = signedIn(owner.id);
    await ctx.stores.sessions.insertSession(digestOf('new'), record, signIn);

    expect((await ctx.stores.sessions.findSessionForAuth(digestOf('new')))?.accountId).toBe(owner.id);
    expect(await lastSignInAt(owner.id)).toBe(record.createdAt);
    const [event] = await ctx.stores.audit.listAuditEvents({ limit: 1 });
    expect(event).toEqual({ ...signIn.audit, detail: { method: 'link' } });
  });

  it('a sign-in for an account that is gone writes none of them', async () => {
    const ghost = randomUUID();
    const error = await rejection(ctx.stores.sessions.insertSession(digestOf('new'), session(ghost), signedIn(ghost)));
    expect(error).toBeInstanceOf(Error);
    expect(await count('sessions')).toBe(0);
    expect(await auditCount('account.signed_in')).toBe(0);
  });

  it('a sign-in replaces the session the browser arrived with; the account\'s other sessions live on', async () => {
    const owner = await givenAccount();
    await ctx.stores.sessions.insertSession(digestOf('old'), session(owner.id));
    await ctx.stores.sessions.insertSession(digestOf('other-browser'), session(owner.id));

    await ctx.stores.sessions.insertSession(digestOf('new'), session(owner.id), signedIn(owner.id, digestOf('old')));

    expect(await ctx.stores.sessions.findSessionForAuth(digestOf('old'))).toBeUndefined();
    expect(await ctx.stores.sessions.findSessionForAuth(digestOf('new'))).toBeDefined();
    expect(await ctx.stores.sessions.findSessionForAuth(digestOf('other-browser'))).toBeDefined();
    expect(await count('sessions', sql`account_id = ${owner.id}`)).toBe(2);
  });

  it('a sign-in ends the session the browser arrived with even when it was another account\'s', async () => {
    const before = await givenAccount();
    const after = await givenAccount();
    await ctx.stores.sessions.insertSession(digestOf('old'), session(before.id));
    await ctx.stores.sessions.insertSession(digestOf('new'), session(after.id), signedIn(after.id, digestOf('old')));
    expect(await ctx.stores.sessions.findSessionForAuth(digestOf('old'))).toBeUndefined();
    expect((await ctx.stores.sessions.findSessionForAuth(digestOf('new')))?.accountId).toBe(after.id);
  });

  it('a sign-in replacing a session that no longer exists still signs in', async () => {
    const owner = await givenAccount();
    await ctx.stores.sessions.insertSession(digestOf('new'), session(owner.id), signedIn(owner.id, digestOf('long-gone')));
    expect(await ctx.stores.sessions.findSessionForAuth(digestOf('new'))).toBeDefined();
    expect(await auditCount('account.signed_in')).toBe(1);
  });

  it('when a sign-in fails, the session it would have replaced lives on', async () => {
    const owner = await givenAccount();
    await ctx.stores.sessions.insertSession(digestOf('old'), session(owner.id));
    const ghost = randomUUID();
    await rejection(ctx.stores.sessions.insertSession(digestOf('new'), session(ghost), signedIn(ghost, digestOf('old'))));
    expect((await ctx.stores.sessions.findSessionForAuth(digestOf('old')))?.accountId).toBe(owner.id);
    expect(await ctx.stores.sessions.findSessionForAuth(digestOf('new'))).toBeUndefined();
    expect(await auditCount('account.signed_in')).toBe(0);
  });

  it('when a sign-in\'s audit event cannot be recorded, nothing of the sign-in is kept', async () => {
    const owner = await givenAccount();
    await ctx.stores.sessions.insertSession(digestOf('old'), session(owner.id));
    const [created] = await ctx.stores.audit.listAuditEvents({ limit: 1 });
    // An event id already recorded: the last write of the transaction fails.
    const signIn = { replacing: digestOf('old'), audit: { ...audit('account.signed_in', owner.id, owner.id), id: created!.id } };
    await rejection(ctx.stores.sessions.insertSession(digestOf('new'), session(owner.id), signIn));
    expect(await ctx.stores.sessions.findSessionForAuth(digestOf('old'))).toBeDefined();
    expect(await ctx.stores.sessions.findSessionForAuth(digestOf('new'))).toBeUndefined();
    expect(await lastSignInAt(owner.id)).toBeNull();
    expect(await auditCount('account.signed_in')).toBe(0);
  });
});
