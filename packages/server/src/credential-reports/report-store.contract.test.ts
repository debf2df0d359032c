/**
 * The report store's written guarantees (report-store.ts: `revokeReportedTokens`), on SQLite
 * and on a real PostgreSQL: reported tokens revoked once, each with its audit event, and one
 * notice per owner (read back through the notice store).
 */
import { generateToken } from '@latchkey/contract/token';
import { expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/databases.js';
import { expectNoTokenSecretSentAfterEach, storeFixtures } from '../../test/support/store-fixtures.js';

describeEachBackend('Report store contract', (ctx) => {
  const { tick, givenAccount, givenToken, auditCount, reportRecords: records } = storeFixtures(ctx);
  expectNoTokenSecretSentAfterEach(ctx);

  const reportAudits = () => auditCount('token.revoked');

  it('revokes listed unrevoked, unexpired tokens only, with an audit event each and one notice per owner', async () => {
    const alice = await givenAccount();
    const bob = await givenAccount();
    const a1 = await givenToken(alice.id);
    const a2 = await givenToken(alice.id);
    const aUnlisted = await givenToken(alice.id);
    const aRevoked = await givenToken(alice.id, { revokedAt: tick() });
    const aExpired = await givenToken(alice.id, { expiresAt: Date.now() - 1000 });
    const b1 = await givenToken(bob.id);
    const unknown = generateToken().digest;

    const revokedAt = tick();
    const revoked = await ctx.stores.reports.revokeReportedTokens(
      [a1.digest, a2.digest, aRevoked.digest, aExpired.digest, b1.digest, unknown],
      revokedAt,
      records,
    );
    expect(revoked.map((token) => token.id).sort()).toEqual([a1, a2, b1].map(({ record }) => record.id).sort());
    for (const token of revoked) expect(token.revokedAt).toBe(revokedAt);

    for (const { digest } of [a1, a2, b1]) expect((await ctx.stores.tokens.findTokenForAuth(digest))!.revokedAt).toBe(revokedAt);
    expect((await ctx.stores.tokens.findTokenForAuth(aUnlisted.digest))!.revokedAt).toBeNull();
    expect((await ctx.stores.tokens.findTokenForAuth(aRevoked.digest))!.revokedAt).not.toBe(revokedAt);
    expect((await ctx.stores.tokens.findTokenForAuth(aExpired.digest))!.revokedAt).toBeNull();
    expect(await reportAudits()).toBe(3);

    const aliceNotices = await ctx.stores.notices.listNotices(alice.id);
    expect(aliceNotices).toHaveLength(1);
    expect(aliceNotices[0]).toMatchObject({ accountId: alice.id, kind: 'tokens_reported', dismissedAt: null });
    expect((aliceNotices[0]!.detail.tokens as Array<{ id: string }>).map((token) => token.id).sort()).toEqual(
      [a1, a2].map(({ record }) => record.id).sort(),
    );
    expect(await ctx.stores.notices.listNotices(bob.id)).toHaveLength(1);
  });

  it('revokes a token once when it is reported twice, even concurrently', async () => {
    const alice = await givenAccount();
    const tokens = await Promise.all([givenToken(alice.id), givenToken(alice.id)]);
    const digests = tokens.map((token) => token.digest);
    const [first, second] = await Promise.all([
      ctx.stores.reports.revokeReportedTokens(digests, tick(), records),
      ctx.stores.reports.revokeReportedTokens(digests, tick(), records),
    ]);
    expect(first.length + second.length).toBe(2);
    expect(await reportAudits()).toBe(2);
    expect(await ctx.stores.notices.listNotices(alice.id)).toHaveLength(first.length > 0 && second.length > 0 ? 2 : 1);
    expect(await ctx.stores.reports.revokeReportedTokens(digests, tick(), records)).toEqual([]);
    expect(await reportAudits()).toBe(2);
  });

  it('does nothing, not even a query, for an empty list', async () => {
    ctx.queries.length = 0;
    expect(await ctx.stores.reports.revokeReportedTokens([], tick(), records)).toEqual([]);
    expect(ctx.queries).toEqual([]);
  });

  it('handles more digests than one statement takes (chunks), in one transaction', async () => {
    const alice = await givenAccount();
    const made = [];
    for (let index = 0; index < 60; index++) made.push(await givenToken(alice.id));
    const digests = [...made.map((token) => token.digest), ...Array.from({ length: 1100 }, () => generateToken().digest)];
    const revoked = await ctx.stores.reports.revokeReportedTokens(digests, tick(), records);
    expect(revoked).toHaveLength(60);
    const notices = await ctx.stores.notices.listNotices(alice.id);
    expect(notices).toHaveLength(1);
    expect(notices[0]!.detail.tokens).toHaveLength(60);
  });
});
