/**
 * The report store's written guarantees (report-store.ts), on SQLite and on a real PostgreSQL:
 * reported tokens revoked once, each with its audit event, and one notice per owner (read back
 * through the notice store); pending reports stored as digests only, claimed by one claimer at a
 * time under a lease, and processed exactly once.
 */
import { randomUUID } from 'node:crypto';
import { generateToken } from '@latchkey/contract/token';
import { sql } from 'kysely';
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

  const pending = (digests: Buffer[], receivedAt = tick()) => ({ id: randomUUID(), receivedAt, reporterIp: '203.0.113.7', digests });
  const pendingRows = async () =>
    (await ctx.exec(sql`select id, digests, attempts, next_attempt_at from pending_credential_reports order by id`)) as Array<{
      id: string;
      digests: Buffer;
      attempts: number;
      next_attempt_at: number | string;
    }>;

  it('stores a pending report as one INSERT of its digests, and nothing a token could be rebuilt from', async () => {
    const alice = await givenAccount();
    const live = await givenToken(alice.id);
    const report = pending([live.digest, generateToken().digest]);
    ctx.queries.length = 0;
    await ctx.stores.reports.insertPendingReport(report);
    expect(ctx.queries.map((query) => query.sql.split(' ').slice(0, 3).join(' '))).toEqual(['insert into "pending_credential_reports"']);
    const [row] = await pendingRows();
    expect(Buffer.from(row!.digests)).toEqual(Buffer.concat(report.digests));
    expect(Number(row!.attempts)).toBe(0);
  });

  it('claims the oldest due report once, under a lease: not again until the lease runs out, then with the attempt counted', async () => {
    const alice = await givenAccount();
    const token = await givenToken(alice.id);
    const older = pending([token.digest], 1_000);
    const newer = pending([], 2_000);
    await ctx.stores.reports.insertPendingReport(newer);
    await ctx.stores.reports.insertPendingReport(older);

    expect(await ctx.stores.reports.claimPendingReport(999, 60_000)).toBeUndefined();
    const first = await ctx.stores.reports.claimPendingReport(5_000, 65_000);
    expect(first).toMatchObject({ id: older.id, receivedAt: 1_000, reporterIp: '203.0.113.7', attempts: 1 });
    expect(first!.digests.map((digest) => digest.toString('hex'))).toEqual([token.digest.toString('hex')]);
    const second = await ctx.stores.reports.claimPendingReport(5_000, 65_000);
    expect(second).toMatchObject({ id: newer.id, digests: [], attempts: 1 });
    expect(await ctx.stores.reports.claimPendingReport(64_999, 70_000)).toBeUndefined();
    // The lease ran out (its claimer died): claimable again.
    expect(await ctx.stores.reports.claimPendingReport(65_000, 130_000)).toMatchObject({ attempts: 2 });
  });

  it('gives each of many concurrent claims a different report (no report claimed twice)', async () => {
    const reports = Array.from({ length: 12 }, (_, index) => pending([generateToken().digest], 1_000 + index));
    for (const report of reports) await ctx.stores.reports.insertPendingReport(report);
    const claims = await Promise.all(Array.from({ length: 30 }, () => ctx.stores.reports.claimPendingReport(10_000, 70_000)));
    const claimed = claims.filter((claim) => claim !== undefined).map((claim) => claim.id);
    expect(claimed.sort()).toEqual(reports.map((report) => report.id).sort());
  });

  it('processes a pending report once: deleted with its revoke, and a second processing (even concurrent) writes nothing', async () => {
    const alice = await givenAccount();
    const tokens = await Promise.all([givenToken(alice.id), givenToken(alice.id)]);
    const report = pending(tokens.map((token) => token.digest));
    await ctx.stores.reports.insertPendingReport(report);
    const claimed = (await ctx.stores.reports.claimPendingReport(tick(), tick() + 60_000))!;

    const [first, second] = await Promise.all([
      ctx.stores.reports.processPendingReport(claimed, tick(), records),
      ctx.stores.reports.processPendingReport(claimed, tick(), records),
    ]);
    const outcomes = [first, second];
    expect(outcomes.filter((outcome) => outcome === null)).toHaveLength(1);
    expect(outcomes.find((outcome) => outcome !== null)!.map((token) => token.id).sort()).toEqual(tokens.map((token) => token.record.id).sort());
    expect(await reportAudits()).toBe(2);
    expect(await ctx.stores.notices.listNotices(alice.id)).toHaveLength(1);
    expect(await pendingRows()).toEqual([]);
    expect(await ctx.stores.reports.processPendingReport(claimed, tick(), records)).toBeNull();
    expect(await reportAudits()).toBe(2);
  });

  it('answers when a report is next due, in one statement: a new one at once, a claimed one at its lease end, a postponed one at its retry', async () => {
    ctx.queries.length = 0;
    expect(await ctx.stores.reports.nextDueAt()).toBeUndefined();
    expect(ctx.queries).toHaveLength(1);
    const first = pending([generateToken().digest], 1_000);
    const second = pending([], 2_000);
    await ctx.stores.reports.insertPendingReport(second);
    await ctx.stores.reports.insertPendingReport(first);
    expect(await ctx.stores.reports.nextDueAt()).toBe(1_000);
    await ctx.stores.reports.claimPendingReport(5_000, 65_000);
    expect(await ctx.stores.reports.nextDueAt()).toBe(2_000);
    await ctx.stores.reports.claimPendingReport(5_000, 64_000);
    expect(await ctx.stores.reports.nextDueAt()).toBe(64_000);
    await ctx.stores.reports.postponePendingReport(second.id, 7_000);
    expect(await ctx.stores.reports.nextDueAt()).toBe(7_000);
    const claimed = (await ctx.stores.reports.claimPendingReport(7_000, 70_000))!;
    await ctx.stores.reports.processPendingReport(claimed, 7_000, records);
    expect(await ctx.stores.reports.nextDueAt()).toBe(65_000);
  });

  it('keeps a report pending, due later, after a failed attempt is postponed; gone reports are ignored', async () => {
    const report = pending([generateToken().digest], 1_000);
    await ctx.stores.reports.insertPendingReport(report);
    await ctx.stores.reports.claimPendingReport(1_000, 60_000);
    await ctx.stores.reports.postponePendingReport(report.id, 3_000);
    expect(await ctx.stores.reports.claimPendingReport(2_999, 70_000)).toBeUndefined();
    expect(await ctx.stores.reports.claimPendingReport(3_000, 70_000)).toMatchObject({ id: report.id, attempts: 2 });
    await ctx.stores.reports.postponePendingReport(randomUUID(), 3_000);
  });
});
