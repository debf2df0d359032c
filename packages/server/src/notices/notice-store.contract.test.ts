/**
 * The notice store's written guarantees (notice-store.ts), on SQLite and on a real PostgreSQL.
 * Notices are written only by the capability they are about, so they are arranged here by
 * reporting tokens as leaked (report-store.ts).
 */
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/databases.js';
import { expectNoTokenSecretSentAfterEach, storeFixtures } from '../../test/support/store-fixtures.js';

describeEachBackend('Notice store contract', (ctx) => {
  const { tick, audit, givenAccount, givenToken, count, reportRecords: records } = storeFixtures(ctx);
  expectNoTokenSecretSentAfterEach(ctx);

  it('lists undismissed notices newest first, per account; dismissing is scoped and not repeatable', async () => {
    const alice = await givenAccount();
    const bob = await givenAccount();
    const older = await givenToken(alice.id);
    await ctx.stores.reports.revokeReportedTokens([older.digest], tick(), records);
    tick();
    const newer = await givenToken(alice.id);
    await ctx.stores.reports.revokeReportedTokens([newer.digest], tick(), records);

    const notices = await ctx.stores.notices.listNotices(alice.id);
    expect(notices.map((notice) => (notice.detail.tokens as Array<{ id: string }>)[0]!.id)).toEqual([newer.record.id, older.record.id]);
    expect(await ctx.stores.notices.listNotices(bob.id)).toEqual([]);

    expect(await ctx.stores.notices.dismissNotice(bob.id, notices[0]!.id, tick())).toBe(false);
    expect(await ctx.stores.notices.dismissNotice(alice.id, notices[0]!.id, tick())).toBe(true);
    expect(await ctx.stores.notices.dismissNotice(alice.id, notices[0]!.id, tick())).toBe(false);
    expect((await ctx.stores.notices.listNotices(alice.id)).map((notice) => notice.id)).toEqual([notices[1]!.id]);
  });

  it('an account’s notices are deleted with the account', async () => {
    const alice = await givenAccount();
    const token = await givenToken(alice.id);
    await ctx.stores.reports.revokeReportedTokens([token.digest], tick(), records);
    expect(await ctx.stores.accounts.deleteAccount(alice.id, audit('account.deleted', alice.id))).toBe(true);
    expect(await count('notices')).toBe(0);
  });

  it('dismissing an unknown notice id → false', async () => {
    const alice = await givenAccount();
    expect(await ctx.stores.notices.dismissNotice(alice.id, randomUUID(), tick())).toBe(false);
  });
});
