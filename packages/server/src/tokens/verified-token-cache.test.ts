/**
 * The SQLite verified-token cache (verified-token-cache.ts) against a real database file: it
 * answers repeats without a query, and every change that can alter an authentication decision
 * is seen by the very next lookup — through the stores, through another connection (as another
 * process would write), after expiry, and for a lookup in flight while the cache was cleared.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateToken } from '@latchkey/contract/token';
import SQLite from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/databases.js';
import { createStores, type Stores } from '../../test/support/stores.js';
import type { AccountRecord } from '../accounts/account.js';
import type { AuditEventInput } from '../audit/audit-event.js';
import { rawKysely, type Database } from '../database/database.js';
import { openDatabase } from '../database/open-database.js';
import { createKyselyTokenStore } from './kysely-token-store.js';
import type { TokenForAuth, TokenRecord } from './token.js';
import { VerifiedTokenCache } from './verified-token-cache.js';

const DAY = 86_400_000;

describe('verified-token cache on a SQLite file', () => {
  let dir: string;
  let path: string;
  let database: Database;
  let stores: Stores;
  let queries: string[];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-cache-'));
    path = join(dir, 'latchkey.db');
    queries = [];
    database = openDatabase(`sqlite:${path}`, { onQuery: (text) => queries.push(text) });
    await database.migrate();
    stores = createStores(database, { tokenCache: { maxEntries: 3 } });
  });

  afterEach(async () => {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const audit = (action: AuditEventInput['action'], targetId: string): AuditEventInput => ({
    id: randomUUID(),
    occurredAt: Date.now(),
    action,
    actor: { accountId: null, tokenId: null, ip: null },
    targetId,
  });

  async function givenAccount(): Promise<AccountRecord> {
    const account: AccountRecord = {
      id: randomUUID(),
      email: `${randomUUID()}@example.test`,
      name: 'Cache Test',
      isAdmin: false,
      createdAt: Date.now(),
      disabledAt: null,
    };
    await stores.accounts.insertAccount(account, audit('account.created', account.id));
    return account;
  }

  async function givenToken(accountId: string, expiresAt = Date.now() + 30 * DAY) {
    const generated = generateToken();
    const digest = createHash('sha256').update(generated.token).digest();
    const record: TokenRecord = {
      id: randomUUID(),
      accountId,
      name: `token-${randomUUID().slice(0, 8)}`,
      note: null,
      scopes: ['namespaces:read', 'namespaces:write'],
      namespaces: null,
      allowedIps: null,
      last4: generated.last4,
      createdAt: Date.now(),
      expiresAt,
      revokedAt: null,
      lastUsedAt: null,
      lastUsedIp: null,
    };
    await stores.tokens.insertToken({ ...record, digest }, { maxActive: 100 }, audit('token.created', record.id));
    return { record, digest };
  }

  /** Looks the digest up and says whether the database was asked. */
  async function lookUp(digest: Buffer): Promise<{ found: TokenForAuth | undefined; queried: boolean }> {
    const before = queries.length;
    const found = await stores.tokens.findTokenForAuth(digest);
    return { found, queried: queries.length > before };
  }

  it('answers a repeat lookup from memory, with a fresh dbNow', async () => {
    const account = await givenAccount();
    const { record, digest } = await givenToken(account.id);
    const first = await lookUp(digest);
    expect(first.queried).toBe(true);
    expect(first.found?.id).toBe(record.id);

    const second = await lookUp(digest);
    expect(second.queried).toBe(false);
    expect(second.found).toMatchObject({ id: record.id, revokedAt: null, account: { id: account.id } });
    expect(second.found!.dbNow).toBeGreaterThanOrEqual(first.found!.dbNow);
  });

  it('never caches an unknown digest, so a flood of unknown tokens cannot fill it', async () => {
    const unknown = createHash('sha256').update('no such token').digest();
    expect((await lookUp(unknown)).found).toBeUndefined();
    expect((await lookUp(unknown)).queried).toBe(true);
  });

  it('sees a revoke through the token store on the very next lookup', async () => {
    const account = await givenAccount();
    const { record, digest } = await givenToken(account.id);
    await lookUp(digest);
    expect(await stores.tokens.revokeToken(account.id, record.id, Date.now(), audit('token.revoked', record.id))).toBe(true);
    const after = await lookUp(digest);
    expect(after.queried).toBe(true);
    expect(after.found?.revokedAt).not.toBeNull();
  });

  it('sees an account disabled, enabled and deleted on the very next lookup', async () => {
    const account = await givenAccount();
    const { digest } = await givenToken(account.id);
    await lookUp(digest);

    await stores.accounts.setAccountDisabled(account.id, Date.now(), audit('account.disabled', account.id));
    expect((await lookUp(digest)).found?.account.disabledAt).not.toBeNull();
    await stores.accounts.setAccountDisabled(account.id, null, audit('account.enabled', account.id));
    expect((await lookUp(digest)).found?.account.disabledAt).toBeNull();
    await stores.accounts.deleteAccount(account.id, audit('account.deleted', account.id));
    expect((await lookUp(digest)).found).toBeUndefined();
  });

  it('sees a revoke reported as leaked on the very next lookup', async () => {
    const account = await givenAccount();
    const { digest } = await givenToken(account.id);
    await lookUp(digest);
    const revoked = await stores.reports.revokeReportedTokens([digest], Date.now(), {
      auditFor: (token) => audit('token.revoked', token.id),
      noticeFor: (accountId, tokens) => ({
        id: randomUUID(),
        accountId,
        kind: 'tokens_reported',
        createdAt: Date.now(),
        detail: { tokens: tokens.map((token) => ({ id: token.id, name: token.name, last4: token.last4 })) },
      }),
    });
    expect(revoked).toHaveLength(1);
    expect((await lookUp(digest)).found?.revokedAt).not.toBeNull();
  });

  it('sees a commit made by another connection (another process) on the very next lookup', async () => {
    const account = await givenAccount();
    const { record, digest } = await givenToken(account.id);
    expect((await lookUp(digest)).found?.revokedAt).toBeNull();
    expect((await lookUp(digest)).queried).toBe(false);

    const other = new SQLite(path);
    try {
      other.prepare('update tokens set revoked_at = ? where id = ?').run(Date.now(), record.id);
    } finally {
      other.close();
    }
    const after = await lookUp(digest);
    expect(after.queried).toBe(true);
    expect(after.found?.revokedAt).not.toBeNull();
  });

  it('keeps expiry exact without a query: a cached token is expired once its time has passed', async () => {
    const account = await givenAccount();
    const { digest } = await givenToken(account.id, Date.now() + 300);
    const fresh = (await lookUp(digest)).found!;
    expect(fresh.expiresAt).toBeGreaterThan(fresh.dbNow);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const later = await lookUp(digest);
    expect(later.queried).toBe(false);
    expect(later.found!.expiresAt).toBeLessThanOrEqual(later.found!.dbNow);
  });

  it('keeps last_used_at in step so the write is not repeated, and stays within its bound', async () => {
    const account = await givenAccount();
    const tokens = [await givenToken(account.id), await givenToken(account.id), await givenToken(account.id), await givenToken(account.id)];
    const { record, digest } = tokens[0]!;
    await lookUp(digest);
    const usedAt = Date.now();
    expect(await stores.tokens.touchTokenLastUsed(record.id, usedAt, '192.0.2.7', 60_000)).toBe(true);
    const cached = await lookUp(digest);
    expect(cached.queried).toBe(false);
    expect(cached.found).toMatchObject({ lastUsedAt: usedAt, lastUsedIp: '192.0.2.7' });

    // maxEntries is 3: the fourth distinct token pushes the oldest out.
    for (const token of tokens) await lookUp(token.digest);
    expect((await lookUp(tokens[0]!.digest)).queried).toBe(true);
  });

  it('is turned off for good once raw SQL is handed out, so raw edits are always seen', async () => {
    const account = await givenAccount();
    const { record, digest } = await givenToken(account.id);
    await lookUp(digest);
    await rawKysely(database).updateTable('tokens').set({ revoked_at: Date.now() }).where('id', '=', record.id).execute();
    expect((await lookUp(digest)).found?.revokedAt).not.toBeNull();
    expect((await lookUp(digest)).queried).toBe(true);
  });
});

describe('VerifiedTokenCache', () => {
  const row = (id: string): TokenForAuth => ({
    id,
    accountId: 'a',
    name: 'n',
    note: null,
    scopes: ['namespaces:read', 'namespaces:write'],
    namespaces: null,
    allowedIps: null,
    last4: 'abcd',
    createdAt: 0,
    expiresAt: Number.MAX_SAFE_INTEGER,
    revokedAt: null,
    lastUsedAt: null,
    lastUsedIp: null,
    account: { id: 'a', email: null, name: null, isAdmin: false, createdAt: 0, disabledAt: null },
    dbNow: 0,
  });

  it('does not store a lookup that was in flight while the cache was cleared', async () => {
    const cache = new VerifiedTokenCache({ maxEntries: 10, foreignCommitVersion: () => 1 });
    const digest = Buffer.alloc(32, 1);
    let release!: (value: TokenForAuth) => void;
    const inFlight = cache.find(digest, () => new Promise((resolve) => (release = resolve)));
    cache.clear(); // a revoke committed while the read was under way
    release(row('t1'));
    await inFlight;
    expect(cache.size).toBe(0);
  });

  it('clears everything when the database reports a foreign commit', async () => {
    let version = 1;
    const cache = new VerifiedTokenCache({ maxEntries: 10, foreignCommitVersion: () => version });
    await cache.find(Buffer.alloc(32, 2), async () => row('t2'));
    expect(cache.size).toBe(1);
    version = 2;
    let loads = 0;
    await cache.find(Buffer.alloc(32, 2), async () => (loads++, row('t2')));
    expect(loads).toBe(1);
  });
});

describeEachBackend('the verified-token cache setting', (ctx) => {
  it('answers repeats from memory on SQLite only: on PostgreSQL every lookup reads the database, so every instance sees a revoke', async () => {
    const tokens = createKyselyTokenStore(ctx.database, { tokenCache: true });
    const owner: AccountRecord = { id: randomUUID(), email: null, name: null, isAdmin: false, createdAt: Date.now(), disabledAt: null };
    const event = (action: AuditEventInput['action'], targetId: string): AuditEventInput => ({
      id: randomUUID(),
      occurredAt: Date.now(),
      action,
      actor: { accountId: null, tokenId: null, ip: null },
      targetId,
    });
    await ctx.stores.accounts.insertAccount(owner, event('account.created', owner.id));
    const generated = generateToken();
    const id = randomUUID();
    await tokens.insertToken(
      { id, accountId: owner.id, name: 'ci', note: null, scopes: ['namespaces:read', 'namespaces:write'], namespaces: null, allowedIps: null, last4: generated.last4, createdAt: Date.now(), expiresAt: Date.now() + DAY, revokedAt: null, lastUsedAt: null, lastUsedIp: null, digest: generated.digest },
      { maxActive: 100 },
      event('token.created', id),
    );
    ctx.queries.length = 0;
    for (let index = 0; index < 3; index++) expect((await tokens.findTokenForAuth(generated.digest))?.id).toBe(id);
    expect(ctx.queries.filter((query) => /from "tokens"/i.test(query.sql))).toHaveLength(ctx.dialect === 'sqlite' ? 1 : 3);
  });
});
