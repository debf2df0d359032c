/**
 * Builders and checks shared by the stores' contract suites (src/<capability>/*-store.contract.test.ts):
 * records with fresh ids and strictly increasing timestamps, the rows the API cannot arrange,
 * and the rule that no token secret ever reaches the database.
 */
import { createHash, randomUUID } from 'node:crypto';
import { generateToken } from '@latchkey/contract/token';
import { sql, type RawBuilder } from 'kysely';
import { afterEach, expect } from 'vitest';
import type { AccountRecord } from '../../src/accounts/account.js';
import type { AuditAction, AuditEventInput } from '../../src/audit/audit-event.js';
import type { NoticeInput } from '../../src/notices/notice.js';
import type { SessionRecord } from '../../src/sessions/session.js';
import { StoreConflictError } from '../../src/kernel/store-errors.js';
import type { TokenRecord } from '../../src/tokens/token.js';
import type { BackendContext } from './databases.js';

export const DAY = 86_400_000;
export const WEEK = 7 * DAY;
/** A token's full text (prefix, version, 49 base62 characters), wherever it might appear. */
export const SECRET_IN_TEXT = /lk_pat_1[0-9A-Za-z]{49}/;

type Table = 'accounts' | 'tokens' | 'sessions' | 'namespaces' | 'audit_events' | 'notices' | 'signin_links';

/** The fixtures of one suite; call once inside `describeEachBackend`. */
export function storeFixtures(ctx: BackendContext) {
  let clock = Date.UTC(2026, 0, 1);
  /** Strictly increasing caller timestamps, so "newest first" has one right answer. */
  const tick = () => (clock += 1000);

  function account(overrides: Partial<AccountRecord> = {}): AccountRecord {
    const id = randomUUID();
    return { id, email: `${id}@example.test`, name: 'Some One', isAdmin: false, createdAt: tick(), disabledAt: null, ...overrides };
  }

  function audit(action: AuditAction, targetId: string, actorAccountId: string | null = null, detail?: Record<string, unknown>): AuditEventInput {
    return { id: randomUUID(), occurredAt: tick(), action, actor: { accountId: actorAccountId, tokenId: null, ip: '192.0.2.1' }, targetId, detail };
  }

  async function givenAccount(overrides: Partial<AccountRecord> = {}): Promise<AccountRecord> {
    const record = account(overrides);
    await ctx.stores.accounts.insertAccount(record, audit('account.created', record.id));
    return record;
  }

  /** A token record with a real secret (kept by the test, never given to the store) and its digest. */
  function token(accountId: string, overrides: Partial<TokenRecord> = {}) {
    const generated = generateToken();
    const record: TokenRecord = {
      id: randomUUID(),
      accountId,
      name: `token-${randomUUID().slice(0, 8)}`,
      note: null,
      scopes: ['namespaces:read', 'namespaces:write'],
      namespaces: null,
      allowedIps: null,
      last4: generated.last4,
      createdAt: tick(),
      expiresAt: Date.now() + 180 * DAY,
      revokedAt: null,
      lastUsedAt: null,
      lastUsedIp: null,
      ...overrides,
    };
    return { record, digest: generated.digest, secret: generated.token };
  }

  async function givenToken(accountId: string, overrides: Partial<TokenRecord> = {}, maxActive = 100) {
    const made = token(accountId, overrides);
    await ctx.stores.tokens.insertToken({ ...made.record, digest: made.digest }, { maxActive }, audit('token.created', made.record.id, accountId));
    return made;
  }

  /** A session record starting now by the suite's clock, for a day. */
  function session(accountId: string, overrides: Partial<SessionRecord> = {}): SessionRecord {
    const createdAt = tick();
    return { accountId, csrfToken: `csrf-${randomUUID()}`, createdAt, lastSeenAt: createdAt, expiresAt: createdAt + DAY, ...overrides };
  }

  async function count(table: Table, where: RawBuilder<unknown> = sql`1 = 1`): Promise<number> {
    const rows = (await ctx.exec(sql`select count(*) as n from ${sql.table(table)} where ${where}`)) as Array<{ n: unknown }>;
    return Number(rows[0]!.n);
  }

  const auditCount = (action: AuditAction) => count('audit_events', sql`action = ${action}`);

  async function setExpiresAt(tokenId: string, expiresAt: number): Promise<void> {
    await ctx.exec(sql`update tokens set expires_at = ${expiresAt} where id = ${tokenId}`);
  }

  /** `accounts.last_sign_in_at`, which no store reads back directly. */
  async function lastSignInAt(accountId: string): Promise<number | null> {
    const rows = (await ctx.exec(sql`select last_sign_in_at as at from accounts where id = ${accountId}`)) as Array<{ at: unknown }>;
    const at = rows[0]?.at;
    return at === null || at === undefined ? null : Number(at);
  }

  /** What a credential report records for the tokens it revokes, as the report service words it. */
  const reportRecords = {
    auditFor: (revoked: TokenRecord) => audit('token.revoked', revoked.id, null, { via: 'credential-report' }),
    noticeFor: (accountId: string, tokens: readonly TokenRecord[]): NoticeInput => ({
      id: randomUUID(),
      accountId,
      kind: 'tokens_reported',
      createdAt: tick(),
      detail: { tokens: tokens.map(({ id, name, last4 }) => ({ id, name, last4 })) },
    }),
  };

  return { tick, account, audit, givenAccount, token, givenToken, session, count, auditCount, setExpiresAt, lastSignInAt, reportRecords };
}

export type StoreFixtures = ReturnType<typeof storeFixtures>;

/** What the store keeps instead of a secret. */
export const digestOf = (text: string): Buffer => createHash('sha256').update(text).digest();

export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

/** Awaits a write that must be refused with StoreConflictError, and returns its reason. */
export async function conflict(promise: Promise<unknown>): Promise<StoreConflictError['reason']> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(StoreConflictError);
  return (error as StoreConflictError).reason;
}

/** Only digests cross to the database: checked after every test of the calling suite. */
export function expectNoTokenSecretSentAfterEach(ctx: BackendContext): void {
  afterEach(() => {
    const leaks = ctx.queries.filter(({ sql: text, parameters }) =>
      [text, ...parameters].some((value) =>
        typeof value === 'string'
          ? SECRET_IN_TEXT.test(value)
          : Buffer.isBuffer(value) && SECRET_IN_TEXT.test(value.toString('latin1')),
      ),
    );
    expect(leaks).toEqual([]);
  });
}
