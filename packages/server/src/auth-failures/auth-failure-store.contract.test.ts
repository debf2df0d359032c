/**
 * The Store's written guarantees for the database-backed failed-authentication count
 * (`findTokenAndClientForAuth`, `recordAuthFailure`, `clearAuthFailures`), on SQLite and on a
 * real PostgreSQL: the count, the window, the ban, the reset, and concurrency.
 */
import { createHash, randomUUID } from 'node:crypto';
import { generateToken } from '@latchkey/contract/token';
import { expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/databases.js';
import type { AccountRecord, AuditEventInput, AuthFailureRules } from './store.js';

const RULES: AuthFailureRules = { windowMs: 60_000, threshold: 5, banMs: 3_600_000 };

describeEachBackend('Store contract: failed-authentication counts', (ctx) => {
  const audit = (action: AuditEventInput['action'], targetId: string): AuditEventInput => ({
    id: randomUUID(),
    occurredAt: Date.now(),
    action,
    actor: { accountId: null, tokenId: null, ip: null },
    targetId,
  });

  async function givenToken() {
    const account: AccountRecord = { id: randomUUID(), email: null, name: null, isAdmin: false, createdAt: Date.now(), disabledAt: null };
    await ctx.store.insertAccount(account, audit('account.created', account.id));
    const generated = generateToken();
    const digest = createHash('sha256').update(generated.token).digest();
    const id = randomUUID();
    await ctx.store.insertToken(
      { id, accountId: account.id, name: 'n', last4: generated.last4, createdAt: Date.now(), expiresAt: Date.now() + 86_400_000, revokedAt: null, lastUsedAt: null, lastUsedIp: null, digest },
      { maxActive: 100 },
      audit('token.created', id),
    );
    return { id, digest, accountId: account.id };
  }

  const unknownDigest = () => createHash('sha256').update(randomUUID()).digest();
  const client = () => `198.51.100.${Math.floor(Math.random() * 250) + 1}-${randomUUID()}`;

  it('finds the token and the client record in one statement, known or unknown', async () => {
    const token = await givenToken();
    const key = client();
    const before = ctx.queries.length;
    const clean = await ctx.store.findTokenAndClientForAuth(token.digest, key);
    expect(ctx.queries.length - before).toBe(1);
    expect(clean.token).toMatchObject({ id: token.id, account: { id: token.accountId } });
    expect(clean.client).toBeUndefined();
    expect(Math.abs(clean.dbNow - Date.now())).toBeLessThan(5_000);

    await ctx.store.recordAuthFailure(key, RULES);
    const unknown = await ctx.store.findTokenAndClientForAuth(unknownDigest(), key);
    expect(unknown.token).toBeUndefined();
    expect(unknown.client).toMatchObject({ failures: 1, bannedUntil: 0 });
  });

  it('counts failures and bans at the threshold for banMs, by the database clock', async () => {
    const key = client();
    for (let i = 1; i < RULES.threshold; i++) {
      await ctx.store.recordAuthFailure(key, RULES);
      const { client: record } = await ctx.store.findTokenAndClientForAuth(unknownDigest(), key);
      expect(record).toMatchObject({ failures: i, bannedUntil: 0 });
    }
    await ctx.store.recordAuthFailure(key, RULES);
    const banned = await ctx.store.findTokenAndClientForAuth(unknownDigest(), key);
    expect(banned.client!.bannedUntil - banned.dbNow).toBeGreaterThan(RULES.banMs - 10_000);
    expect(banned.client!.bannedUntil - banned.dbNow).toBeLessThanOrEqual(RULES.banMs);

    // While banned, more failures change nothing and a success does not lift the ban.
    await ctx.store.recordAuthFailure(key, RULES);
    await ctx.store.clearAuthFailures(key);
    const still = await ctx.store.findTokenAndClientForAuth(unknownDigest(), key);
    expect(still.client!.bannedUntil).toBe(banned.client!.bannedUntil);
  });

  it('restarts the count once the window has passed', async () => {
    const key = client();
    const shortWindow = { ...RULES, windowMs: 200 };
    for (let i = 0; i < RULES.threshold - 1; i++) await ctx.store.recordAuthFailure(key, shortWindow);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await ctx.store.recordAuthFailure(key, shortWindow);
    const { client: record } = await ctx.store.findTokenAndClientForAuth(unknownDigest(), key);
    expect(record).toMatchObject({ failures: 1, bannedUntil: 0 });
  });

  it('forgets failures on success; other clients are untouched', async () => {
    const key = client();
    const other = client();
    await ctx.store.recordAuthFailure(key, RULES);
    await ctx.store.recordAuthFailure(other, RULES);
    await ctx.store.clearAuthFailures(key);
    expect((await ctx.store.findTokenAndClientForAuth(unknownDigest(), key)).client).toBeUndefined();
    expect((await ctx.store.findTokenAndClientForAuth(unknownDigest(), other)).client).toMatchObject({ failures: 1 });
  });

  it('counts every one of many concurrent failures (several instances at once)', async () => {
    const key = client();
    const many = { ...RULES, threshold: 1000 };
    await Promise.all(Array.from({ length: 40 }, () => ctx.store.recordAuthFailure(key, many)));
    expect((await ctx.store.findTokenAndClientForAuth(unknownDigest(), key)).client).toMatchObject({ failures: 40 });
  });
});
