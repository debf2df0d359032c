/**
 * The one contract suite for `Store` (store.ts): every written guarantee, walked through the
 * lifecycle, on SQLite and on a real PostgreSQL. No mock store: each `it` talks to a database.
 */
import { createHash, randomUUID } from 'node:crypto';
import { generateToken } from '@latchkey/contract/token';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestPostgresDatabase, describeEachBackend } from '../../test/support/databases.js';
import { openStore } from './open-store.js';
import {
  StoreConflictError,
  StoreUnavailableError,
  type AccountRecord,
  type AuditAction,
  type AuditEventInput,
  type Store,
  type TokenListFilter,
  type TokenRecord,
} from './store.js';

const DAY = 86_400_000;
const WEEK = 7 * DAY;
const SECRET_IN_TEXT = /lk_pat_1[0-9A-Za-z]{49}/;

describeEachBackend('Store contract', (ctx) => {
  // Fixtures --------------------------------------------------------------------------------------

  let clock = Date.UTC(2026, 0, 1);
  /** Strictly increasing caller timestamps, so "newest first" has one right answer. */
  const tick = () => (clock += 1000);

  function account(overrides: Partial<AccountRecord> = {}): AccountRecord {
    const id = randomUUID();
    return {
      id,
      email: `${id}@example.test`,
      name: 'Some One',
      isAdmin: false,
      createdAt: tick(),
      disabledAt: null,
      ...overrides,
    };
  }

  function audit(action: AuditAction, targetId: string, actorAccountId: string | null = null, detail?: Record<string, unknown>): AuditEventInput {
    return {
      id: randomUUID(),
      occurredAt: tick(),
      action,
      actor: { accountId: actorAccountId, tokenId: null, ip: '192.0.2.1' },
      targetId,
      detail,
    };
  }

  async function givenAccount(overrides: Partial<AccountRecord> = {}): Promise<AccountRecord> {
    const record = account(overrides);
    await ctx.store.insertAccount(record, audit('account.created', record.id));
    return record;
  }

  /** A token record with a real secret (kept by the test, never given to the store) and its digest. */
  function token(accountId: string, overrides: Partial<TokenRecord> = {}) {
    const generated = generateToken();
    const createdAt = tick();
    const record: TokenRecord = {
      id: randomUUID(),
      accountId,
      name: `token-${randomUUID().slice(0, 8)}`,
      last4: generated.last4,
      createdAt,
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
    await ctx.store.insertToken({ ...made.record, digest: made.digest }, { maxActive }, audit('token.created', made.record.id, accountId));
    return made;
  }

  async function count(table: 'accounts' | 'tokens' | 'sessions' | 'namespaces' | 'audit_events', where = sql`1 = 1`): Promise<number> {
    const rows = (await ctx.exec(sql`select count(*) as n from ${sql.table(table)} where ${where}`)) as Array<{ n: unknown }>;
    return Number(rows[0]!.n);
  }

  const auditCount = (action: AuditAction) => count('audit_events', sql`action = ${action}`);

  async function setExpiresAt(tokenId: string, expiresAt: number): Promise<void> {
    await ctx.exec(sql`update tokens set expires_at = ${expiresAt} where id = ${tokenId}`);
  }

  async function rejection(promise: Promise<unknown>): Promise<unknown> {
    try {
      await promise;
    } catch (error) {
      return error;
    }
    throw new Error('expected the promise to reject');
  }

  async function conflict(promise: Promise<unknown>): Promise<StoreConflictError['reason']> {
    const error = await rejection(promise);
    expect(error).toBeInstanceOf(StoreConflictError);
    return (error as StoreConflictError).reason;
  }

  const digestOf = (text: string) => createHash('sha256').update(text).digest();

  // Only digests cross to the database: checked after every test of the suite.
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

  // Lifecycle basics --------------------------------------------------------------------------

  describe('migrations and clock', () => {
    it('migrate() is idempotent', async () => {
      await ctx.store.migrate();
      await ctx.store.migrate();
      await givenAccount();
      expect(await count('accounts')).toBe(1);
    });

    if (ctx.dialect === 'postgres') {
      it('several instances can migrate one fresh database at the same time', async () => {
        const database = await createTestPostgresDatabase();
        const stores = [0, 1, 2, 3].map(() => openStore(database.url));
        try {
          await Promise.all(stores.map((store) => store.migrate()));
          await stores[0]!.insertAccount(account(), audit('account.created', 'x'));
          expect(await stores[3]!.findAccountByEmail('nobody@example.test')).toBeUndefined();
        } finally {
          await Promise.all(stores.map((store) => store.close()));
          await database.drop();
        }
      });
    }

    it('ping() resolves and now() reads the database clock in epoch milliseconds', async () => {
      await ctx.store.ping();
      const before = Date.now();
      const now = await ctx.store.now();
      const after = Date.now();
      expect(Number.isInteger(now)).toBe(true);
      expect(now).toBeGreaterThanOrEqual(before - 2000);
      expect(now).toBeLessThanOrEqual(after + 2000);
    });
  });

  // Accounts ------------------------------------------------------------------------------------

  describe('accounts', () => {
    it('insertAccount stores the account and its audit event; find by id and by email', async () => {
      const record = await givenAccount({ isAdmin: true, name: 'Ada' });
      expect(await ctx.store.findAccountById(record.id)).toEqual(record);
      expect(await ctx.store.findAccountByEmail(record.email!)).toEqual(record);
      expect(await ctx.store.findAccountById(randomUUID())).toBeUndefined();
      expect(await ctx.store.findAccountByEmail('nobody@example.test')).toBeUndefined();
      const events = await ctx.store.listAuditEvents({ limit: 10 });
      expect(events.map((event) => [event.action, event.targetId])).toEqual([['account.created', record.id]]);
    });

    it('a duplicate email → StoreConflictError email_taken, and nothing is written', async () => {
      const first = await givenAccount();
      const reason = await conflict(
        ctx.store.insertAccount(account({ email: first.email }), audit('account.created', 'second')),
      );
      expect(reason).toBe('email_taken');
      expect(await count('accounts')).toBe(1);
      expect(await auditCount('account.created')).toBe(1);
    });

    it('accounts without an email do not collide', async () => {
      await givenAccount({ email: null });
      await givenAccount({ email: null });
      expect(await count('accounts')).toBe(2);
    });

    it('an OpenID Connect identity is unique and binds once', async () => {
      const identity = { issuer: 'https://idp.example.test', subject: 'user-1' };
      const bound = account();
      await ctx.store.insertAccount(bound, audit('account.created', bound.id), identity);
      expect(await ctx.store.findAccountByOidcIdentity(identity)).toEqual(bound);
      expect(await ctx.store.findAccountByOidcIdentity({ ...identity, subject: 'user-2' })).toBeUndefined();

      const reason = await conflict(ctx.store.insertAccount(account(), audit('account.created', 'x'), identity));
      expect(reason).toBe('oidc_identity_taken');
      expect(await count('accounts')).toBe(1);

      const other = await givenAccount();
      expect(await ctx.store.bindOidcIdentity(bound.id, { ...identity, subject: 'again' })).toBe(false);
      expect(await ctx.store.bindOidcIdentity(other.id, { ...identity, subject: 'user-2' })).toBe(true);
      expect(await ctx.store.bindOidcIdentity(other.id, { ...identity, subject: 'user-3' })).toBe(false);
      expect((await ctx.store.findAccountByOidcIdentity({ ...identity, subject: 'user-2' }))?.id).toBe(other.id);
    });

    it('first administrator and "has an administrator signed in"', async () => {
      await givenAccount();
      const firstAdmin = await givenAccount({ isAdmin: true });
      const laterAdmin = await givenAccount({ isAdmin: true });
      expect((await ctx.store.findFirstAdmin())?.id).toBe(firstAdmin.id);
      expect(await ctx.store.hasAdminSignedIn()).toBe(false);
      await ctx.store.recordSignIn(laterAdmin.id, tick());
      expect(await ctx.store.hasAdminSignedIn()).toBe(true);
    });

    it('setAccountDisabled disables and re-enables with an audit event each; false for an unknown id', async () => {
      const record = await givenAccount();
      const at = tick();
      expect(await ctx.store.setAccountDisabled(record.id, at, audit('account.disabled', record.id))).toBe(true);
      expect((await ctx.store.findAccountById(record.id))?.disabledAt).toBe(at);
      expect(await ctx.store.setAccountDisabled(record.id, null, audit('account.enabled', record.id))).toBe(true);
      expect((await ctx.store.findAccountById(record.id))?.disabledAt).toBeNull();
      expect(await auditCount('account.disabled')).toBe(1);
      expect(await auditCount('account.enabled')).toBe(1);

      expect(await ctx.store.setAccountDisabled(randomUUID(), tick(), audit('account.disabled', 'ghost'))).toBe(false);
      expect(await auditCount('account.disabled')).toBe(1);
    });

    it('a disabled account is visible through token and session lookups at once', async () => {
      const record = await givenAccount();
      const made = await givenToken(record.id);
      const sessionDigest = digestOf('session');
      await ctx.store.insertSession(sessionDigest, {
        accountId: record.id,
        csrfToken: 'csrf',
        createdAt: tick(),
        lastSeenAt: clock,
        expiresAt: clock + DAY,
      });
      const at = tick();
      await ctx.store.setAccountDisabled(record.id, at, audit('account.disabled', record.id));
      expect((await ctx.store.findTokenForAuth(made.digest))?.account.disabledAt).toBe(at);
      expect((await ctx.store.findSessionForAuth(sessionDigest))?.account.disabledAt).toBe(at);
    });

    it('deleteAccount cascades to tokens, sessions and namespaces and audits how many tokens died', async () => {
      const doomed = await givenAccount();
      const bystander = await givenAccount();
      const live = [await givenToken(doomed.id), await givenToken(doomed.id)];
      const revoked = await givenToken(doomed.id);
      await ctx.store.revokeToken(doomed.id, revoked.record.id, tick(), audit('token.revoked', revoked.record.id, doomed.id));
      const kept = await givenToken(bystander.id);
      for (const [owner, label] of [[doomed.id, 'a'], [bystander.id, 'b']] as const) {
        await ctx.store.insertSession(digestOf(label), { accountId: owner, csrfToken: label, createdAt: tick(), lastSeenAt: clock, expiresAt: clock + DAY });
        await ctx.store.insertNamespace({ id: randomUUID(), name: `ns-${label}`, accountId: owner, createdAt: tick() }, audit('namespace.created', label, owner));
      }

      expect(await ctx.store.deleteAccount(doomed.id, audit('account.deleted', doomed.id, null, { reason: 'test' }))).toBe(true);

      expect(await ctx.store.findAccountById(doomed.id)).toBeUndefined();
      const ofDoomed = sql`account_id = ${doomed.id}`;
      expect(await count('tokens', ofDoomed)).toBe(0);
      expect(await count('sessions', ofDoomed)).toBe(0);
      expect(await count('namespaces', ofDoomed)).toBe(0);
      for (const made of live) expect(await ctx.store.findTokenForAuth(made.digest)).toBeUndefined();
      expect(await ctx.store.findSessionForAuth(digestOf('a'))).toBeUndefined();

      // The bystander keeps everything.
      expect((await ctx.store.findTokenForAuth(kept.digest))?.id).toBe(kept.record.id);
      expect(await ctx.store.findSessionForAuth(digestOf('b'))).toBeDefined();
      expect((await ctx.store.listNamespaces(bystander.id)).map((ns) => ns.name)).toEqual(['ns-b']);

      const [deleted] = await ctx.store.listAuditEvents({ limit: 1 });
      expect(deleted?.action).toBe('account.deleted');
      expect(deleted?.targetId).toBe(doomed.id);
      expect(deleted?.detail).toEqual({ reason: 'test', tokensRevoked: 2 });
      // Audit events outlive the account they name.
      expect((await ctx.store.listAuditEvents({ accountId: doomed.id, limit: 10 })).length).toBeGreaterThan(0);
    });

    it('deleteAccount of an unknown id → false and no audit event', async () => {
      expect(await ctx.store.deleteAccount(randomUUID(), audit('account.deleted', 'ghost'))).toBe(false);
      expect(await auditCount('account.deleted')).toBe(0);
    });
  });

  // Tokens --------------------------------------------------------------------------------------

  describe('tokens', () => {
    it('insertToken stores the token with its audit event; findTokenForAuth finds it by digest with the owner and the database clock', async () => {
      const owner = await givenAccount();
      const made = await givenToken(owner.id);
      const before = Date.now();
      const found = await ctx.store.findTokenForAuth(made.digest);
      const after = Date.now();

      expect(found).toBeDefined();
      const { account: foundAccount, dbNow, ...record } = found!;
      expect(record).toEqual(made.record);
      expect(foundAccount).toEqual(owner);
      expect(dbNow).toBeGreaterThanOrEqual(before - 2000);
      expect(dbNow).toBeLessThanOrEqual(after + 2000);
      expect(await auditCount('token.created')).toBe(1);

      expect(await ctx.store.findTokenForAuth(digestOf(made.secret + 'x'))).toBeUndefined();
      expect(await ctx.store.findToken(owner.id, made.record.id)).toEqual(made.record);
    });

    it('only the digest is sent to the database, never the token', async () => {
      const owner = await givenAccount();
      const made = await givenToken(owner.id);
      await ctx.store.findTokenForAuth(made.digest);
      // SQLite inserts the row itself; PostgreSQL calls latchkey_insert_tokens (migration 0005)
      // with the batch as JSON, the digest in hex.
      const inserts = ctx.queries.filter((query) => /insert into "tokens"|latchkey_insert_tokens/i.test(query.sql));
      expect(inserts).toHaveLength(1);
      const carriesDigest = (value: unknown) =>
        (Buffer.isBuffer(value) && value.equals(made.digest)) ||
        (typeof value === 'string' && value.includes(made.digest.toString('hex')));
      expect(inserts[0]!.parameters.some(carriesDigest)).toBe(true);
      const everything = JSON.stringify(ctx.queries.map((query) => [query.sql, query.parameters.map((value) => (Buffer.isBuffer(value) ? value.toString('latin1') : value))]));
      expect(everything).not.toContain(made.secret);
      expect(everything).not.toMatch(SECRET_IN_TEXT);
    });

    it('findToken is scoped to the owner and includes revoked tokens', async () => {
      const owner = await givenAccount();
      const stranger = await givenAccount();
      const made = await givenToken(owner.id);
      expect(await ctx.store.findToken(stranger.id, made.record.id)).toBeUndefined();
      const at = tick();
      await ctx.store.revokeToken(owner.id, made.record.id, at, audit('token.revoked', made.record.id));
      expect((await ctx.store.findToken(owner.id, made.record.id))?.revokedAt).toBe(at);
    });

    it('a name is unique among the account\'s non-revoked tokens: token_name_taken, nothing written', async () => {
      const owner = await givenAccount();
      await givenToken(owner.id, { name: 'ci' });
      const reason = await conflict(givenToken(owner.id, { name: 'ci' }));
      expect(reason).toBe('token_name_taken');
      expect(await count('tokens')).toBe(1);
      expect(await auditCount('token.created')).toBe(1);
    });

    it('the same name is fine for another account, and again after the first is revoked', async () => {
      const owner = await givenAccount();
      const other = await givenAccount();
      const first = await givenToken(owner.id, { name: 'ci' });
      await givenToken(other.id, { name: 'ci' });
      expect(await ctx.store.revokeToken(owner.id, first.record.id, tick(), audit('token.revoked', first.record.id))).toBe(true);
      const second = await givenToken(owner.id, { name: 'ci' });
      // And a revoked name can be revoked-and-reused again: several revoked tokens may share it.
      await ctx.store.revokeToken(owner.id, second.record.id, tick(), audit('token.revoked', second.record.id));
      await givenToken(owner.id, { name: 'ci' });
      expect(await count('tokens', sql`account_id = ${owner.id} and name = ${'ci'}`)).toBe(3);
    });

    it('maxActive counts non-revoked tokens: token_limit_reached, nothing written', async () => {
      const owner = await givenAccount();
      const first = await givenToken(owner.id, {}, 2);
      await givenToken(owner.id, {}, 2);
      const reason = await conflict(givenToken(owner.id, {}, 2));
      expect(reason).toBe('token_limit_reached');
      expect(await count('tokens')).toBe(2);
      expect(await auditCount('token.created')).toBe(2);

      // Expired tokens still count (they are not revoked); revoking frees a slot.
      await setExpiresAt(first.record.id, (await ctx.store.now()) - 1000);
      expect(await conflict(givenToken(owner.id, {}, 2))).toBe('token_limit_reached');
      await ctx.store.revokeToken(owner.id, first.record.id, tick(), audit('token.revoked', first.record.id));
      await givenToken(owner.id, {}, 2);
      expect(await count('tokens', sql`revoked_at is null`)).toBe(2);

      // The limit is per account.
      const other = await givenAccount();
      await givenToken(other.id, {}, 2);
    });

    it('concurrent inserts never exceed maxActive', async () => {
      const owner = await givenAccount();
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => givenToken(owner.id, {}, 5)));
      const fulfilled = results.filter((result) => result.status === 'fulfilled');
      const rejected = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
      expect(fulfilled).toHaveLength(5);
      for (const result of rejected) {
        expect(result.reason).toBeInstanceOf(StoreConflictError);
        expect((result.reason as StoreConflictError).reason).toBe('token_limit_reached');
      }
      expect(await count('tokens', sql`account_id = ${owner.id}`)).toBe(5);
      expect(await auditCount('token.created')).toBe(5);
    });

    it('concurrent inserts of one name: exactly one wins', async () => {
      const owner = await givenAccount();
      const results = await Promise.allSettled(Array.from({ length: 10 }, () => givenToken(owner.id, { name: 'deploy' })));
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
      for (const result of results) {
        if (result.status === 'rejected') expect((result.reason as StoreConflictError).reason).toBe('token_name_taken');
      }
      expect(await count('tokens')).toBe(1);
      expect(await auditCount('token.created')).toBe(1);
    });

    it('revokeToken is scoped to the owner: another account\'s id → false, row untouched, no audit', async () => {
      const owner = await givenAccount();
      const stranger = await givenAccount();
      const made = await givenToken(owner.id);
      expect(await ctx.store.revokeToken(stranger.id, made.record.id, tick(), audit('token.revoked', made.record.id, stranger.id))).toBe(false);
      expect(await ctx.store.findToken(owner.id, made.record.id)).toEqual(made.record);
      expect((await ctx.store.findTokenForAuth(made.digest))?.revokedAt).toBeNull();
      expect(await auditCount('token.revoked')).toBe(0);
      expect(await ctx.store.revokeToken(owner.id, randomUUID(), tick(), audit('token.revoked', 'ghost'))).toBe(false);
      expect(await auditCount('token.revoked')).toBe(0);
    });

    it('revokeToken revokes once: the repeat → false, one audit event, revokedAt unchanged', async () => {
      const owner = await givenAccount();
      const made = await givenToken(owner.id);
      const at = tick();
      expect(await ctx.store.revokeToken(owner.id, made.record.id, at, audit('token.revoked', made.record.id, owner.id))).toBe(true);
      expect((await ctx.store.findTokenForAuth(made.digest))?.revokedAt).toBe(at);
      expect(await ctx.store.revokeToken(owner.id, made.record.id, tick(), audit('token.revoked', made.record.id, owner.id))).toBe(false);
      expect((await ctx.store.findToken(owner.id, made.record.id))?.revokedAt).toBe(at);
      expect(await auditCount('token.revoked')).toBe(1);
    });

    it('concurrent revokes of one token: exactly one succeeds', async () => {
      const owner = await givenAccount();
      const made = await givenToken(owner.id);
      const results = await Promise.all(
        Array.from({ length: 8 }, () => ctx.store.revokeToken(owner.id, made.record.id, tick(), audit('token.revoked', made.record.id))),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await auditCount('token.revoked')).toBe(1);
    });

    describe('listTokens', () => {
      const filter = (state: TokenListFilter['state'], search?: string, expiringWindowMs = WEEK): TokenListFilter => ({ state, search, expiringWindowMs });
      const names = (tokens: TokenRecord[]) => tokens.map((t) => t.name);

      /** One token per state, expiry set against the database clock; created oldest → newest. */
      async function givenTokensInEveryState(ownerId: string) {
        const active = await givenToken(ownerId, { name: 'active' });
        const expiring = await givenToken(ownerId, { name: 'expiring' });
        const edge = await givenToken(ownerId, { name: 'expiring-edge' });
        const expired = await givenToken(ownerId, { name: 'expired' });
        const expiredEdge = await givenToken(ownerId, { name: 'expired-edge' });
        const revoked = await givenToken(ownerId, { name: 'revoked' });
        const dbNow = await ctx.store.now();
        await setExpiresAt(active.record.id, dbNow + WEEK + 60_000);
        await setExpiresAt(expiring.record.id, dbNow + 3 * DAY);
        // Exactly 7 days left when read → already "expiring" by the time of the query.
        await setExpiresAt(edge.record.id, dbNow + WEEK);
        await setExpiresAt(expired.record.id, dbNow - 1000);
        // valid iff now < expires_at: at expires_at it is expired.
        await setExpiresAt(expiredEdge.record.id, dbNow);
        await setExpiresAt(revoked.record.id, dbNow + 30 * DAY);
        await ctx.store.revokeToken(ownerId, revoked.record.id, tick(), audit('token.revoked', revoked.record.id));
      }

      it('filters by state against the database clock, newest first', async () => {
        const owner = await givenAccount();
        await givenTokensInEveryState(owner.id);
        const stranger = await givenAccount();
        await givenToken(stranger.id, { name: 'foreign' });

        const list = async (state: TokenListFilter['state']) => names((await ctx.store.listTokens(owner.id, filter(state))).tokens);
        expect(await list('active')).toEqual(['active']);
        expect(await list('expiring')).toEqual(['expiring-edge', 'expiring']);
        expect(await list('expired')).toEqual(['expired-edge', 'expired']);
        expect(await list('revoked')).toEqual(['revoked']);
        expect(await list('unrevoked')).toEqual(['expired-edge', 'expired', 'expiring-edge', 'expiring', 'active']);
        expect(await list('all')).toEqual(['revoked', 'expired-edge', 'expired', 'expiring-edge', 'expiring', 'active']);
      });

      it('an expired or revoked token is never "expiring", a revoked one never "expired"', async () => {
        const owner = await givenAccount();
        const made = await givenToken(owner.id, { name: 'gone' });
        await setExpiresAt(made.record.id, (await ctx.store.now()) - DAY);
        await ctx.store.revokeToken(owner.id, made.record.id, tick(), audit('token.revoked', made.record.id));
        for (const state of ['active', 'expiring', 'expired', 'unrevoked'] as const) {
          expect((await ctx.store.listTokens(owner.id, filter(state))).tokens).toEqual([]);
        }
        expect(names((await ctx.store.listTokens(owner.id, filter('revoked'))).tokens)).toEqual(['gone']);
      });

      it('the expiring window is the one passed in the filter', async () => {
        const owner = await givenAccount();
        await givenTokensInEveryState(owner.id);
        const oneDay = async (state: TokenListFilter['state']) => names((await ctx.store.listTokens(owner.id, filter(state, undefined, DAY))).tokens);
        expect(await oneDay('expiring')).toEqual([]);
        expect(await oneDay('active')).toEqual(['expiring-edge', 'expiring', 'active']);
      });

      it('returns the database clock it filtered with', async () => {
        const owner = await givenAccount();
        const before = await ctx.store.now();
        const { dbNow } = await ctx.store.listTokens(owner.id, filter('all'));
        expect(dbNow).toBeGreaterThanOrEqual(before);
        expect(dbNow).toBeLessThanOrEqual(Date.now() + 2000);
      });

      it('search is a case-insensitive plain substring: % and _ mean themselves', async () => {
        const owner = await givenAccount();
        for (const name of ['Deploy CI', 'nightly-DEPLOY', '100% coverage', '100 coverage', 'a_b', 'axb', 'back\\slash', 'plain']) {
          await givenToken(owner.id, { name });
        }
        const search = async (text: string, state: TokenListFilter['state'] = 'all') =>
          names((await ctx.store.listTokens(owner.id, filter(state, text))).tokens).sort();
        expect(await search('deploy')).toEqual(['Deploy CI', 'nightly-DEPLOY']);
        expect(await search('DePlOy c')).toEqual(['Deploy CI']);
        expect(await search('%')).toEqual(['100% coverage']);
        expect(await search('0%')).toEqual(['100% coverage']);
        expect(await search('_')).toEqual(['a_b']);
        expect(await search('a_b')).toEqual(['a_b']);
        expect(await search('\\')).toEqual(['back\\slash']);
        expect(await search('nothing like it')).toEqual([]);
        expect(await search('')).toHaveLength(8);
        expect(await search('deploy', 'revoked')).toEqual([]);
      });

      it('names round-trip byte-exact, and search finds them by any odd piece', async () => {
        const owner = await givenAccount();
        const odd = [`O'Brien "quoted"`, `x';-- drop table tokens`, 'back\\slash\\\\', 'café ☕ 東京 😀', 'tab-free  double  space', '%_%'];
        const ids = new Map<string, string>();
        for (const name of odd) ids.set(name, (await givenToken(owner.id, { name })).record.id);
        for (const name of odd) {
          const found = await ctx.store.findToken(owner.id, ids.get(name)!);
          expect(Buffer.from(found!.name)).toEqual(Buffer.from(name));
        }
        expect(names((await ctx.store.listTokens(owner.id, filter('all'))).tokens).sort()).toEqual([...odd].sort());
        const search = async (text: string) => names((await ctx.store.listTokens(owner.id, filter('all', text))).tokens);
        expect(await search(`';--`)).toEqual([`x';-- drop table tokens`]);
        expect(await search(`"QUOTED"`)).toEqual([`O'Brien "quoted"`]);
        expect(await search('東京')).toEqual(['café ☕ 東京 😀']);
        expect(await search('😀')).toEqual(['café ☕ 東京 😀']);
        expect(await search('CAFÉ')).toEqual(['café ☕ 東京 😀']);
        expect(await search('\\\\')).toEqual(['back\\slash\\\\']);
        expect(await search('%_%')).toEqual(['%_%']);
        expect(await count('tokens')).toBe(odd.length);
      });
    });

    it('touchTokenLastUsed writes at most once per interval', async () => {
      const owner = await givenAccount();
      const made = await givenToken(owner.id);
      const t0 = Date.now();
      const read = async () => (await ctx.store.findToken(owner.id, made.record.id))!;

      expect(await ctx.store.touchTokenLastUsed(made.record.id, t0, '198.51.100.7', 60_000)).toBe(true);
      expect(await read()).toMatchObject({ lastUsedAt: t0, lastUsedIp: '198.51.100.7' });

      expect(await ctx.store.touchTokenLastUsed(made.record.id, t0 + 59_999, '203.0.113.9', 60_000)).toBe(false);
      expect(await read()).toMatchObject({ lastUsedAt: t0, lastUsedIp: '198.51.100.7' });

      expect(await ctx.store.touchTokenLastUsed(made.record.id, t0 + 60_000, null, 60_000)).toBe(true);
      expect(await read()).toMatchObject({ lastUsedAt: t0 + 60_000, lastUsedIp: null });

      expect(await ctx.store.touchTokenLastUsed(randomUUID(), t0, null, 60_000)).toBe(false);
    });

    it('concurrent touches within one interval write once', async () => {
      const owner = await givenAccount();
      const made = await givenToken(owner.id);
      const t0 = Date.now();
      const wrote = await Promise.all(
        Array.from({ length: 10 }, (_, index) => ctx.store.touchTokenLastUsed(made.record.id, t0 + index, `192.0.2.${index}`, 60_000)),
      );
      expect(wrote.filter(Boolean)).toHaveLength(1);
    });
  });

  // Sessions ------------------------------------------------------------------------------------

  describe('sessions', () => {
    it('insert, find (with owner and database clock), touch and delete, by digest', async () => {
      const owner = await givenAccount();
      const idDigest = digestOf('session-id');
      const session = { accountId: owner.id, csrfToken: 'csrf-123', createdAt: tick(), lastSeenAt: clock, expiresAt: clock + 14 * DAY };
      await ctx.store.insertSession(idDigest, session);

      const before = Date.now();
      const found = await ctx.store.findSessionForAuth(idDigest);
      const { account: foundAccount, dbNow, ...record } = found!;
      expect(record).toEqual(session);
      expect(foundAccount).toEqual(owner);
      expect(dbNow).toBeGreaterThanOrEqual(before - 2000);
      expect(dbNow).toBeLessThanOrEqual(Date.now() + 2000);
      expect(await ctx.store.findSessionForAuth(digestOf('other'))).toBeUndefined();
      expect(JSON.stringify(ctx.queries)).not.toContain('session-id');

      await ctx.store.touchSession(idDigest, session.lastSeenAt + 5000);
      expect((await ctx.store.findSessionForAuth(idDigest))?.lastSeenAt).toBe(session.lastSeenAt + 5000);

      expect(await ctx.store.deleteSession(idDigest)).toBe(true);
      expect(await ctx.store.findSessionForAuth(idDigest)).toBeUndefined();
      expect(await ctx.store.deleteSession(idDigest)).toBe(false);
    });
  });

  // Sign-in -------------------------------------------------------------------------------------

  describe('sign-in', () => {
    it('a sign-in link is consumed once, even by concurrent uses', async () => {
      const owner = await givenAccount();
      const digest = digestOf('link');
      await ctx.store.insertSignInLink(digest, { accountId: owner.id, createdAt: Date.now(), expiresAt: Date.now() + 600_000 });
      const results = await Promise.all(Array.from({ length: 8 }, () => ctx.store.consumeSignInLink(digest, Date.now())));
      expect(results.filter((result) => result !== undefined)).toEqual([owner.id]);
      expect(await ctx.store.consumeSignInLink(digest, Date.now())).toBeUndefined();
      expect(await ctx.store.consumeSignInLink(digestOf('unknown'), Date.now())).toBeUndefined();
    });

    it('an expired sign-in link (by the database clock) is refused', async () => {
      const owner = await givenAccount();
      const digest = digestOf('old-link');
      const dbNow = await ctx.store.now();
      await ctx.store.insertSignInLink(digest, { accountId: owner.id, createdAt: dbNow - 600_000, expiresAt: dbNow - 1 });
      expect(await ctx.store.consumeSignInLink(digest, Date.now())).toBeUndefined();
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
      await ctx.store.insertLoginFlow(digestOf('state'), flow);
      expect(await ctx.store.consumeLoginFlow(digestOf('state'))).toEqual(flow);
      expect(await ctx.store.consumeLoginFlow(digestOf('state'))).toBeUndefined();

      const dbNow = await ctx.store.now();
      await ctx.store.insertLoginFlow(digestOf('stale'), { ...flow, createdAt: dbNow - 600_000, expiresAt: dbNow - 1 });
      expect(await ctx.store.consumeLoginFlow(digestOf('stale'))).toBeUndefined();
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
      await ctx.store.insertCliGrant(digestOf('code'), grant);
      const results = await Promise.all(Array.from({ length: 8 }, () => ctx.store.consumeCliGrant(digestOf('code'), Date.now())));
      expect(results.filter((result) => result !== undefined)).toEqual([grant]);

      const dbNow = await ctx.store.now();
      await ctx.store.insertCliGrant(digestOf('old-code'), { ...grant, createdAt: dbNow - 600_000, expiresAt: dbNow - 1 });
      expect(await ctx.store.consumeCliGrant(digestOf('old-code'), Date.now())).toBeUndefined();
    });
  });

  // Namespaces ----------------------------------------------------------------------------------

  describe('namespaces', () => {
    const namespace = (accountId: string, name: string) => ({ id: randomUUID(), name, accountId, createdAt: tick() });

    it('a name is unique across accounts: namespace_name_taken, nothing written', async () => {
      const owner = await givenAccount();
      const other = await givenAccount();
      await ctx.store.insertNamespace(namespace(owner.id, 'test-cindylopez'), audit('namespace.created', 'x', owner.id));
      const reason = await conflict(
        ctx.store.insertNamespace(namespace(other.id, 'test-cindylopez'), audit('namespace.created', 'y', other.id)),
      );
      expect(reason).toBe('namespace_name_taken');
      expect(await conflict(ctx.store.insertNamespace(namespace(owner.id, 'test-cindylopez'), audit('namespace.created', 'z', owner.id)))).toBe(
        'namespace_name_taken',
      );
      expect(await count('namespaces')).toBe(1);
      expect(await auditCount('namespace.created')).toBe(1);
    });

    it('lists only the account\'s own namespaces, by name', async () => {
      const owner = await givenAccount();
      const other = await givenAccount();
      const b = namespace(owner.id, 'beta');
      const a = namespace(owner.id, 'alpha');
      for (const ns of [b, a]) await ctx.store.insertNamespace(ns, audit('namespace.created', ns.id, owner.id));
      await ctx.store.insertNamespace(namespace(other.id, 'gamma'), audit('namespace.created', 'g', other.id));
      expect(await ctx.store.listNamespaces(owner.id)).toEqual([a, b]);
      expect((await ctx.store.listNamespaces(other.id)).map((ns) => ns.name)).toEqual(['gamma']);
      expect(await ctx.store.listNamespaces(randomUUID())).toEqual([]);
    });

    it('delete is scoped to the owner and audits with the namespace id as target', async () => {
      const owner = await givenAccount();
      const other = await givenAccount();
      const ns = namespace(owner.id, 'prod');
      await ctx.store.insertNamespace(ns, audit('namespace.created', ns.id, owner.id));

      expect(await ctx.store.deleteNamespace(other.id, 'prod', audit('namespace.deleted', '', other.id))).toBe(false);
      expect(await ctx.store.listNamespaces(owner.id)).toEqual([ns]);
      expect(await auditCount('namespace.deleted')).toBe(0);

      expect(await ctx.store.deleteNamespace(owner.id, 'prod', audit('namespace.deleted', '', owner.id))).toBe(true);
      expect(await ctx.store.listNamespaces(owner.id)).toEqual([]);
      const [event] = await ctx.store.listAuditEvents({ limit: 1 });
      expect(event).toMatchObject({ action: 'namespace.deleted', targetId: ns.id });

      expect(await ctx.store.deleteNamespace(owner.id, 'prod', audit('namespace.deleted', '', owner.id))).toBe(false);
      expect(await auditCount('namespace.deleted')).toBe(1);

      // The name is free again, for anyone.
      await ctx.store.insertNamespace(namespace(other.id, 'prod'), audit('namespace.created', 'p', other.id));
    });
  });

  // Audit ---------------------------------------------------------------------------------------

  describe('audit', () => {
    it('lists newest first, up to the limit, optionally by account, with actor and detail intact', async () => {
      const alice = randomUUID();
      const bob = randomUUID();
      const events = [
        audit('account.signed_in', alice, alice, { method: 'link' }),
        audit('invite.created', 'invite-1', bob, { email: 'x@example.test', nested: { n: 1, list: [1, 'two'] } }),
        audit('account.signed_in', alice, alice),
        audit('account.signed_in', bob, bob),
      ];
      for (const event of events) await ctx.store.insertAuditEvent(event);

      const all = await ctx.store.listAuditEvents({ limit: 10 });
      expect(all.map((event) => event.id)).toEqual([...events].reverse().map((event) => event.id));
      expect(all[2]).toEqual({ ...events[1]!, detail: events[1]!.detail });
      expect(all[1]!.detail).toEqual({});

      expect((await ctx.store.listAuditEvents({ limit: 2 })).map((event) => event.id)).toEqual([events[3]!.id, events[2]!.id]);
      expect((await ctx.store.listAuditEvents({ accountId: alice, limit: 10 })).map((event) => event.id)).toEqual([events[2]!.id, events[0]!.id]);
    });
  });

  // Outages -------------------------------------------------------------------------------------

  describe('unavailability', () => {
    if (ctx.dialect === 'sqlite') {
      it('after close(), every call rejects with StoreUnavailableError', async () => {
        const store: Store = openStore('sqlite::memory:');
        await store.migrate();
        await store.close();
        expect(await rejection(store.ping())).toBeInstanceOf(StoreUnavailableError);
        expect(await rejection(store.findAccountById(randomUUID()))).toBeInstanceOf(StoreUnavailableError);
        const record = account();
        expect(await rejection(store.insertAccount(record, audit('account.created', record.id)))).toBeInstanceOf(StoreUnavailableError);
      });
    } else {
      it('a server that does not answer → StoreUnavailableError from ping and from writes', async () => {
        const store = openStore('postgres://postgres@127.0.0.1:1/x');
        try {
          expect(await rejection(store.ping())).toBeInstanceOf(StoreUnavailableError);
          const record = account();
          expect(await rejection(store.insertAccount(record, audit('account.created', record.id)))).toBeInstanceOf(StoreUnavailableError);
        } finally {
          await store.close();
        }
      });

      it('after close(), calls reject with StoreUnavailableError', async () => {
        const database = await createTestPostgresDatabase();
        const store = openStore(database.url);
        try {
          await store.migrate();
          await store.close();
          expect(await rejection(store.ping())).toBeInstanceOf(StoreUnavailableError);
          expect(await rejection(store.findAccountById(randomUUID()))).toBeInstanceOf(StoreUnavailableError);
        } finally {
          await database.drop();
        }
      });
    }
  });
});
