/**
 * The auth-failure store's written guarantees (auth-failure-store.ts: `findTokenAndClientForAuth`,
 * `recordAuthFailure`, `clearAuthFailures`), on SQLite and on a real PostgreSQL: the count, the
 * window, the ban, the reset, and concurrency.
 */
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/databases.js';
import { digestOf, expectNoTokenSecretSentAfterEach, storeFixtures } from '../../test/support/store-fixtures.js';
import type { AuthFailureRules } from './failure-limiter.js';

const RULES: AuthFailureRules = { windowMs: 60_000, threshold: 5, banMs: 3_600_000 };

describeEachBackend('Auth-failure store contract', (ctx) => {
  const fixtures = storeFixtures(ctx);
  expectNoTokenSecretSentAfterEach(ctx);

  async function givenToken() {
    const owner = await fixtures.givenAccount();
    const { record, digest } = await fixtures.givenToken(owner.id);
    return { id: record.id, digest, accountId: owner.id };
  }

  const unknownDigest = () => digestOf(randomUUID());
  const client = () => `198.51.100.${Math.floor(Math.random() * 250) + 1}-${randomUUID()}`;

  it('finds the token and the client record in one statement, known or unknown', async () => {
    const token = await givenToken();
    const key = client();
    const before = ctx.queries.length;
    const clean = await ctx.stores.authFailures.findTokenAndClientForAuth(token.digest, key);
    expect(ctx.queries.length - before).toBe(1);
    expect(clean.token).toMatchObject({ id: token.id, account: { id: token.accountId } });
    expect(clean.client).toBeUndefined();
    expect(Math.abs(clean.dbNow - Date.now())).toBeLessThan(5_000);

    await ctx.stores.authFailures.recordAuthFailure(key, RULES);
    const unknown = await ctx.stores.authFailures.findTokenAndClientForAuth(unknownDigest(), key);
    expect(unknown.token).toBeUndefined();
    expect(unknown.client).toMatchObject({ failures: 1, bannedUntil: 0 });
  });

  it('counts failures and bans at the threshold for banMs, by the database clock', async () => {
    const key = client();
    for (let i = 1; i < RULES.threshold; i++) {
      await ctx.stores.authFailures.recordAuthFailure(key, RULES);
      const { client: record } = await ctx.stores.authFailures.findTokenAndClientForAuth(unknownDigest(), key);
      expect(record).toMatchObject({ failures: i, bannedUntil: 0 });
    }
    await ctx.stores.authFailures.recordAuthFailure(key, RULES);
    const banned = await ctx.stores.authFailures.findTokenAndClientForAuth(unknownDigest(), key);
    expect(banned.client!.bannedUntil - banned.dbNow).toBeGreaterThan(RULES.banMs - 10_000);
    expect(banned.client!.bannedUntil - banned.dbNow).toBeLessThanOrEqual(RULES.banMs);

    // While banned, more failures change nothing and a success does not lift the ban.
    await ctx.stores.authFailures.recordAuthFailure(key, RULES);
    await ctx.stores.authFailures.clearAuthFailures(key);
    const still = await ctx.stores.authFailures.findTokenAndClientForAuth(unknownDigest(), key);
    expect(still.client!.bannedUntil).toBe(banned.client!.bannedUntil);
  });

  it('restarts the count once the window has passed', async () => {
    const key = client();
    const shortWindow = { ...RULES, windowMs: 200 };
    for (let i = 0; i < RULES.threshold - 1; i++) await ctx.stores.authFailures.recordAuthFailure(key, shortWindow);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await ctx.stores.authFailures.recordAuthFailure(key, shortWindow);
    const { client: record } = await ctx.stores.authFailures.findTokenAndClientForAuth(unknownDigest(), key);
    expect(record).toMatchObject({ failures: 1, bannedUntil: 0 });
  });

  it('forgets failures on success; other clients are untouched', async () => {
    const key = client();
    const other = client();
    await ctx.stores.authFailures.recordAuthFailure(key, RULES);
    await ctx.stores.authFailures.recordAuthFailure(other, RULES);
    await ctx.stores.authFailures.clearAuthFailures(key);
    expect((await ctx.stores.authFailures.findTokenAndClientForAuth(unknownDigest(), key)).client).toBeUndefined();
    expect((await ctx.stores.authFailures.findTokenAndClientForAuth(unknownDigest(), other)).client).toMatchObject({ failures: 1 });
  });

  it('counts every one of many concurrent failures (several instances at once)', async () => {
    const key = client();
    const many = { ...RULES, threshold: 1000 };
    await Promise.all(Array.from({ length: 40 }, () => ctx.stores.authFailures.recordAuthFailure(key, many)));
    expect((await ctx.stores.authFailures.findTokenAndClientForAuth(unknownDigest(), key)).client).toMatchObject({ failures: 40 });
  });
});
