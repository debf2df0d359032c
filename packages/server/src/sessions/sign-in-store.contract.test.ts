/**
 * The sign-in store's written guarantees (sign-in-store.ts), on SQLite and on a real
 * PostgreSQL: sign-in links, OpenID Connect flows and CLI grants are each used once, never
 * after they expired by the database clock, and an invite's audit event is written with its link.
 */
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/databases.js';
import { digestOf, expectNoTokenSecretSentAfterEach, rejection, storeFixtures } from '../../test/support/store-fixtures.js';

describeEachBackend('Sign-in store contract', (ctx) => {
  const { audit, givenAccount, count, auditCount } = storeFixtures(ctx);
  expectNoTokenSecretSentAfterEach(ctx);

  const link = (accountId: string) => ({ accountId, createdAt: Date.now(), expiresAt: Date.now() + 600_000 });

  it('a sign-in link is consumed once, even by concurrent uses', async () => {
    const owner = await givenAccount();
    const digest = digestOf('link');
    await ctx.stores.signIn.insertSignInLink(digest, link(owner.id));
    const results = await Promise.all(Array.from({ length: 8 }, () => ctx.stores.signIn.consumeSignInLink(digest, Date.now())));
    expect(results.filter((result) => result !== undefined)).toEqual([owner.id]);
    expect(await ctx.stores.signIn.consumeSignInLink(digest, Date.now())).toBeUndefined();
    expect(await ctx.stores.signIn.consumeSignInLink(digestOf('unknown'), Date.now())).toBeUndefined();
  });

  it('an expired sign-in link (by the database clock) is refused', async () => {
    const owner = await givenAccount();
    const digest = digestOf('old-link');
    const dbNow = await ctx.database.now();
    await ctx.stores.signIn.insertSignInLink(digest, { accountId: owner.id, createdAt: dbNow - 600_000, expiresAt: dbNow - 1 });
    expect(await ctx.stores.signIn.consumeSignInLink(digest, Date.now())).toBeUndefined();
  });

  it('a link stored without an audit event audits nothing', async () => {
    const owner = await givenAccount();
    await ctx.stores.signIn.insertSignInLink(digestOf('link'), link(owner.id));
    expect(await auditCount('invite.created')).toBe(0);
  });

  it('an invite\'s audit event is recorded with its link', async () => {
    const owner = await givenAccount();
    const invite = audit('invite.created', owner.id, randomUUID(), { email: 'invited@example.test' });
    await ctx.stores.signIn.insertSignInLink(digestOf('invite'), link(owner.id), invite);
    const [event] = await ctx.stores.audit.listAuditEvents({ limit: 1 });
    expect(event).toEqual(invite);
    expect(await ctx.stores.signIn.consumeSignInLink(digestOf('invite'), Date.now())).toBe(owner.id);
  });

  it('an invite whose link cannot be stored leaves no audit event', async () => {
    const ghost = randomUUID();
    await rejection(ctx.stores.signIn.insertSignInLink(digestOf('invite'), link(ghost), audit('invite.created', ghost)));
    expect(await count('signin_links')).toBe(0);
    expect(await auditCount('invite.created')).toBe(0);
  });

  it('an invite whose audit event cannot be recorded leaves no usable link', async () => {
    const owner = await givenAccount();
    const [created] = await ctx.stores.audit.listAuditEvents({ limit: 1 });
    // An event id already recorded: the last write of the transaction fails.
    const invite = { ...audit('invite.created', owner.id), id: created!.id };
    await rejection(ctx.stores.signIn.insertSignInLink(digestOf('invite'), link(owner.id), invite));
    expect(await ctx.stores.signIn.consumeSignInLink(digestOf('invite'), Date.now())).toBeUndefined();
    expect(await count('signin_links')).toBe(0);
  });

  it('a login flow is consumed once and not after it expired', async () => {
    const flow = {
      browserDigest: digestOf('browser'),
      codeVerifier: 'verifier',
      nonce: 'nonce',
      returnTo: '/tokens',
      createdAt: Date.now(),
      expiresAt: Date.now() + 600_000,
    };
    await ctx.stores.signIn.insertLoginFlow(digestOf('state'), flow);
    expect(await ctx.stores.signIn.consumeLoginFlow(digestOf('state'))).toEqual(flow);
    expect(await ctx.stores.signIn.consumeLoginFlow(digestOf('state'))).toBeUndefined();

    const dbNow = await ctx.database.now();
    await ctx.stores.signIn.insertLoginFlow(digestOf('stale'), { ...flow, createdAt: dbNow - 600_000, expiresAt: dbNow - 1 });
    expect(await ctx.stores.signIn.consumeLoginFlow(digestOf('stale'))).toBeUndefined();
  });

  it('a CLI grant is consumed once, even by concurrent uses, and not after it expired', async () => {
    const owner = await givenAccount();
    const grant = {
      accountId: owner.id,
      codeChallenge: 'challenge',
      redirectUri: 'http://127.0.0.1:5555/callback',
      clientName: 'latchkey CLI',
      createdAt: Date.now(),
      expiresAt: Date.now() + 600_000,
    };
    await ctx.stores.signIn.insertCliGrant(digestOf('code'), grant);
    const results = await Promise.all(Array.from({ length: 8 }, () => ctx.stores.signIn.consumeCliGrant(digestOf('code'), Date.now())));
    expect(results.filter((result) => result !== undefined)).toEqual([grant]);

    const dbNow = await ctx.database.now();
    await ctx.stores.signIn.insertCliGrant(digestOf('old-code'), { ...grant, createdAt: dbNow - 600_000, expiresAt: dbNow - 1 });
    expect(await ctx.stores.signIn.consumeCliGrant(digestOf('old-code'), Date.now())).toBeUndefined();
  });
});
