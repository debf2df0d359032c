/**
 * The Store's written guarantees for leaked-token reports and notices (`revokeReportedTokens`,
 * `listNotices`, `dismissNotice`), on SQLite and on a real PostgreSQL, in the style of
 * store.contract.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { generateToken } from '@latchkey/contract/token';
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/databases.js';
import type { AccountRecord, AuditEventInput, NoticeInput, TokenRecord } from './store.js';

const DAY = 86_400_000;

describeEachBackend('Store contract: reported tokens and notices', (ctx) => {
  let clock = Date.UTC(2026, 0, 1);
  const tick = () => (clock += 1000);

  async function givenAccount(): Promise<AccountRecord> {
    const id = randomUUID();
    const account: AccountRecord = { id, email: `${id}@example.test`, name: null, isAdmin: false, createdAt: tick(), disabledAt: null };
    await ctx.store.insertAccount(account, audit('account.created', id));
    return account;
  }

  function audit(action: AuditEventInput['action'], targetId: string, detail?: Record<string, unknown>): AuditEventInput {
    return { id: randomUUID(), occurredAt: tick(), action, actor: { accountId: null, tokenId: null, ip: '192.0.2.9' }, targetId, detail };
  }

  async function givenToken(accountId: string, overrides: Partial<TokenRecord> = {}) {
    const generated = generateToken();
    const record: TokenRecord = {
      id: randomUUID(),
      accountId,
      name: `token-${randomUUID().slice(0, 8)}`,
      last4: generated.last4,
      createdAt: tick(),
      expiresAt: Date.now() + 30 * DAY,
      revokedAt: null,
      lastUsedAt: null,
      lastUsedIp: null,
      ...overrides,
    };
    await ctx.store.insertToken({ ...record, digest: generated.digest }, { maxActive: 100 }, audit('token.created', record.id));
    return { record, digest: generated.digest };
  }

  const records = {
    auditFor: (token: TokenRecord) => audit('token.revoked', token.id, { via: 'credential-report' }),
    noticeFor: (accountId: string, tokens: readonly TokenRecord[]): NoticeInput => ({
      id: randomUUID(),
      accountId,
      kind: 'tokens_reported',
      createdAt: clock,
      detail: { tokens: tokens.map(({ id, name, last4 }) => ({ id, name, last4 })) },
    }),
  };

  const reportAudits = async () =>
    Number(
      ((await ctx.exec(sql`select count(*) as n from audit_events where action = 'token.revoked'`)) as Array<{ n: unknown }>)[0]!.n,
    );

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
    const revoked = await ctx.store.revokeReportedTokens(
      [a1.digest, a2.digest, aRevoked.digest, aExpired.digest, b1.digest, unknown],
      revokedAt,
      records,
    );
    expect(revoked.map((token) => token.id).sort()).toEqual([a1, a2, b1].map(({ record }) => record.id).sort());
    for (const token of revoked) expect(token.revokedAt).toBe(revokedAt);

    for (const { digest } of [a1, a2, b1]) expect((await ctx.store.findTokenForAuth(digest))!.revokedAt).toBe(revokedAt);
    expect((await ctx.store.findTokenForAuth(aUnlisted.digest))!.revokedAt).toBeNull();
    expect((await ctx.store.findTokenForAuth(aRevoked.digest))!.revokedAt).not.toBe(revokedAt);
    expect((await ctx.store.findTokenForAuth(aExpired.digest))!.revokedAt).toBeNull();
    expect(await reportAudits()).toBe(3);

    const aliceNotices = await ctx.store.listNotices(alice.id);
    expect(aliceNotices).toHaveLength(1);
    expect(aliceNotices[0]).toMatchObject({ accountId: alice.id, kind: 'tokens_reported', dismissedAt: null });
    expect((aliceNotices[0]!.detail.tokens as Array<{ id: string }>).map((token) => token.id).sort()).toEqual(
      [a1, a2].map(({ record }) => record.id).sort(),
    );
    expect(await ctx.store.listNotices(bob.id)).toHaveLength(1);
  });

  it('revokes a token once when it is reported twice, even concurrently', async () => {
    const alice = await givenAccount();
    const tokens = await Promise.all([givenToken(alice.id), givenToken(alice.id)]);
    const digests = tokens.map((token) => token.digest);
    const [first, second] = await Promise.all([
      ctx.store.revokeReportedTokens(digests, tick(), records),
      ctx.store.revokeReportedTokens(digests, tick(), records),
    ]);
    expect(first.length + second.length).toBe(2);
    expect(await reportAudits()).toBe(2);
    expect(await ctx.store.listNotices(alice.id)).toHaveLength(first.length > 0 && second.length > 0 ? 2 : 1);
    expect(await ctx.store.revokeReportedTokens(digests, tick(), records)).toEqual([]);
    expect(await reportAudits()).toBe(2);
  });

  it('does nothing, not even a query, for an empty list', async () => {
    ctx.queries.length = 0;
    expect(await ctx.store.revokeReportedTokens([], tick(), records)).toEqual([]);
    expect(ctx.queries).toEqual([]);
  });

  it('handles more digests than one statement takes (chunks), in one transaction', async () => {
    const alice = await givenAccount();
    const made = [];
    for (let index = 0; index < 60; index++) made.push(await givenToken(alice.id));
    const digests = [...made.map((token) => token.digest), ...Array.from({ length: 1100 }, () => generateToken().digest)];
    const revoked = await ctx.store.revokeReportedTokens(digests, tick(), records);
    expect(revoked).toHaveLength(60);
    const notices = await ctx.store.listNotices(alice.id);
    expect(notices).toHaveLength(1);
    expect(notices[0]!.detail.tokens).toHaveLength(60);
  });

  it('lists undismissed notices newest first, per account; dismissing is scoped and not repeatable', async () => {
    const alice = await givenAccount();
    const bob = await givenAccount();
    const older = await givenToken(alice.id);
    await ctx.store.revokeReportedTokens([older.digest], tick(), records);
    tick();
    const newer = await givenToken(alice.id);
    await ctx.store.revokeReportedTokens([newer.digest], tick(), records);

    const notices = await ctx.store.listNotices(alice.id);
    expect(notices.map((notice) => (notice.detail.tokens as Array<{ id: string }>)[0]!.id)).toEqual([newer.record.id, older.record.id]);
    expect(await ctx.store.listNotices(bob.id)).toEqual([]);

    expect(await ctx.store.dismissNotice(bob.id, notices[0]!.id, tick())).toBe(false);
    expect(await ctx.store.dismissNotice(alice.id, notices[0]!.id, tick())).toBe(true);
    expect(await ctx.store.dismissNotice(alice.id, notices[0]!.id, tick())).toBe(false);
    expect((await ctx.store.listNotices(alice.id)).map((notice) => notice.id)).toEqual([notices[1]!.id]);
  });

  it('deletes an account’s notices with the account', async () => {
    const alice = await givenAccount();
    const token = await givenToken(alice.id);
    await ctx.store.revokeReportedTokens([token.digest], tick(), records);
    expect(await ctx.store.deleteAccount(alice.id, audit('account.deleted', alice.id))).toBe(true);
    const rows = (await ctx.exec(sql`select count(*) as n from notices`)) as Array<{ n: unknown }>;
    expect(Number(rows[0]!.n)).toBe(0);
  });
});
