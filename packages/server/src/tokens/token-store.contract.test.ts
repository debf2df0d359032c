/**
 * The token store's written guarantees (token-store.ts), on SQLite and on a real PostgreSQL:
 * digest-only storage, the per-account name and limit rules under concurrency (creates are
 * group-committed, kysely-token-inserts.ts), revocation, listing by state against the database clock,
 * and the last-used write. No mock store: each `it` talks to a database.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createTestPostgresDatabase, describeEachBackend } from '../../test/support/databases.js';
import {
  DAY,
  SECRET_IN_TEXT,
  WEEK,
  conflict,
  digestOf,
  expectNoTokenSecretSentAfterEach,
  storeFixtures,
} from '../../test/support/store-fixtures.js';
import { createKyselyAccountStore } from '../accounts/kysely-account-store.js';
import type { Database } from '../database/database.js';
import { openDatabase } from '../database/open-database.js';
import { StoreConflictError } from '../kernel/store-errors.js';
import { createKyselyTokenStore } from './kysely-token-store.js';
import type { AllTokensFilter, TokenListFilter, TokenRecord } from './token.js';

describeEachBackend('Token store contract', (ctx) => {
  const { tick, account, audit, givenAccount, token, givenToken, count, auditCount, setExpiresAt } = storeFixtures(ctx);
  expectNoTokenSecretSentAfterEach(ctx);

  const statements = (pattern: RegExp) => ctx.queries.filter((query) => pattern.test(query.sql));

  /** Two instances on one database, as in production: each its own handle and token store. */
  async function twoInstances(): Promise<{ instances: Database[]; close(): Promise<void> }> {
    if (ctx.dialect === 'postgres') {
      const fresh = await createTestPostgresDatabase();
      const instances = [openDatabase(fresh.url), openDatabase(fresh.url)];
      await instances[0]!.migrate();
      return {
        instances,
        async close() {
          await Promise.all(instances.map((database) => database.close()));
          await fresh.drop();
        },
      };
    }
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-instances-'));
    const instances = [openDatabase(`sqlite:${join(dir, 'latchkey.db')}`), openDatabase(`sqlite:${join(dir, 'latchkey.db')}`)];
    await instances[0]!.migrate();
    return {
      instances,
      async close() {
        await Promise.all(instances.map((database) => database.close()));
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }

  it('an inserted token is found by its digest with the owner and the database clock, and audited', async () => {
    const owner = await givenAccount();
    const made = await givenToken(owner.id);
    const before = Date.now();
    const found = await ctx.stores.tokens.findTokenForAuth(made.digest);
    const after = Date.now();

    expect(found).toBeDefined();
    const { account: foundAccount, dbNow, ...record } = found!;
    expect(record).toEqual(made.record);
    expect(foundAccount).toEqual(owner);
    expect(dbNow).toBeGreaterThanOrEqual(before - 2000);
    expect(dbNow).toBeLessThanOrEqual(after + 2000);
    expect(await auditCount('token.created')).toBe(1);

    expect(await ctx.stores.tokens.findTokenForAuth(digestOf(made.secret + 'x'))).toBeUndefined();
    expect(await ctx.stores.tokens.findToken(owner.id, made.record.id)).toEqual(made.record);
  });

  it('a token\'s note survives the store: inserted in one group-committed batch, read back by digest, by id and in the list', async () => {
    const owner = await givenAccount();
    const noted = token(owner.id, { note: 'GitHub Actions in acme/web — déploiement' });
    const bare = token(owner.id, { note: null });
    // Both in one batch of the group-commit insert path.
    await Promise.all(
      [noted, bare].map((made) =>
        ctx.stores.tokens.insertToken({ ...made.record, digest: made.digest }, { maxActive: 100 }, audit('token.created', made.record.id, owner.id)),
      ),
    );
    expect((await ctx.stores.tokens.findTokenForAuth(noted.digest))?.note).toBe('GitHub Actions in acme/web — déploiement');
    expect((await ctx.stores.tokens.findTokenForAuth(bare.digest))?.note).toBeNull();
    expect(await ctx.stores.tokens.findToken(owner.id, noted.record.id)).toEqual(noted.record);
    const { tokens } = await ctx.stores.tokens.listTokens(owner.id, { state: 'all', expiringWindowMs: WEEK });
    expect(new Map(tokens.map((listed) => [listed.id, listed.note]))).toEqual(
      new Map([
        [noted.record.id, 'GitHub Actions in acme/web — déploiement'],
        [bare.record.id, null],
      ]),
    );
  });

  it('only the digest is sent to the database, never the token', async () => {
    const owner = await givenAccount();
    const made = await givenToken(owner.id);
    await ctx.stores.tokens.findTokenForAuth(made.digest);
    const inserts = statements(/insert into "tokens"/i);
    expect(inserts).toHaveLength(1);
    expect(inserts[0]!.parameters.some((value) => Buffer.isBuffer(value) && value.equals(made.digest))).toBe(true);
    const everything = JSON.stringify(
      ctx.queries.map((query) => [query.sql, query.parameters.map((value) => (Buffer.isBuffer(value) ? value.toString('latin1') : value))]),
    );
    expect(everything).not.toContain(made.secret);
    expect(everything).not.toMatch(SECRET_IN_TEXT);
  });

  it('a token is found only by its owner, revoked ones included', async () => {
    const owner = await givenAccount();
    const stranger = await givenAccount();
    const made = await givenToken(owner.id);
    expect(await ctx.stores.tokens.findToken(stranger.id, made.record.id)).toBeUndefined();
    const at = tick();
    await ctx.stores.tokens.revokeToken(owner.id, made.record.id, at, audit('token.revoked', made.record.id));
    expect((await ctx.stores.tokens.findToken(owner.id, made.record.id))?.revokedAt).toBe(at);
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
    expect(await ctx.stores.tokens.revokeToken(owner.id, first.record.id, tick(), audit('token.revoked', first.record.id))).toBe(true);
    const second = await givenToken(owner.id, { name: 'ci' });
    // And a revoked name can be revoked-and-reused again: several revoked tokens may share it.
    await ctx.stores.tokens.revokeToken(owner.id, second.record.id, tick(), audit('token.revoked', second.record.id));
    await givenToken(owner.id, { name: 'ci' });
    expect(await count('tokens', sql`account_id = ${owner.id} and name = ${'ci'}`)).toBe(3);
  });

  it('the per-account limit counts non-revoked tokens: token_limit_reached, nothing written', async () => {
    const owner = await givenAccount();
    const first = await givenToken(owner.id, {}, 2);
    await givenToken(owner.id, {}, 2);
    const reason = await conflict(givenToken(owner.id, {}, 2));
    expect(reason).toBe('token_limit_reached');
    expect(await count('tokens')).toBe(2);
    expect(await auditCount('token.created')).toBe(2);

    // Expired tokens still count (they are not revoked); revoking frees a slot.
    await setExpiresAt(first.record.id, (await ctx.stores.tokens.now()) - 1000);
    expect(await conflict(givenToken(owner.id, {}, 2))).toBe('token_limit_reached');
    await ctx.stores.tokens.revokeToken(owner.id, first.record.id, tick(), audit('token.revoked', first.record.id));
    await givenToken(owner.id, {}, 2);
    expect(await count('tokens', sql`revoked_at is null`)).toBe(2);

    // The limit is per account.
    const other = await givenAccount();
    await givenToken(other.id, {}, 2);
  });

  it('concurrent creates never exceed the per-account limit', async () => {
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

  it('concurrent creates of one name: exactly one wins', async () => {
    const owner = await givenAccount();
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => givenToken(owner.id, { name: 'deploy' })));
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    for (const result of results) {
      if (result.status === 'rejected') expect((result.reason as StoreConflictError).reason).toBe('token_name_taken');
    }
    expect(await count('tokens')).toBe(1);
    expect(await auditCount('token.created')).toBe(1);
  });

  it('another account cannot revoke a token: false, row untouched, no audit', async () => {
    const owner = await givenAccount();
    const stranger = await givenAccount();
    const made = await givenToken(owner.id);
    expect(await ctx.stores.tokens.revokeToken(stranger.id, made.record.id, tick(), audit('token.revoked', made.record.id, stranger.id))).toBe(false);
    expect(await ctx.stores.tokens.findToken(owner.id, made.record.id)).toEqual(made.record);
    expect((await ctx.stores.tokens.findTokenForAuth(made.digest))?.revokedAt).toBeNull();
    expect(await auditCount('token.revoked')).toBe(0);
    expect(await ctx.stores.tokens.revokeToken(owner.id, randomUUID(), tick(), audit('token.revoked', 'ghost'))).toBe(false);
    expect(await auditCount('token.revoked')).toBe(0);
  });

  it('a token is revoked once: the repeat → false, one audit event, revokedAt unchanged', async () => {
    const owner = await givenAccount();
    const made = await givenToken(owner.id);
    const at = tick();
    expect(await ctx.stores.tokens.revokeToken(owner.id, made.record.id, at, audit('token.revoked', made.record.id, owner.id))).toBe(true);
    expect((await ctx.stores.tokens.findTokenForAuth(made.digest))?.revokedAt).toBe(at);
    expect(await ctx.stores.tokens.revokeToken(owner.id, made.record.id, tick(), audit('token.revoked', made.record.id, owner.id))).toBe(false);
    expect((await ctx.stores.tokens.findToken(owner.id, made.record.id))?.revokedAt).toBe(at);
    expect(await auditCount('token.revoked')).toBe(1);
  });

  it('concurrent revokes of one token: exactly one succeeds', async () => {
    const owner = await givenAccount();
    const made = await givenToken(owner.id);
    const results = await Promise.all(
      Array.from({ length: 8 }, () => ctx.stores.tokens.revokeToken(owner.id, made.record.id, tick(), audit('token.revoked', made.record.id))),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await auditCount('token.revoked')).toBe(1);
  });

  describe('rotation (docs/security.md, item 51)', () => {
    const rotate = (owner: string, tokenId: string, replacement: ReturnType<typeof token>, graceMs: number, rotatedAt = tick()) =>
      ctx.stores.tokens.rotateToken(owner, tokenId, { ...replacement.record, digest: replacement.digest }, { rotatedAt, graceMs }, () =>
        audit('token.rotated', tokenId, owner),
      );

    it('replaces a token in one transaction: the old row keeps the chain and its shortened expiry, the new one takes its name', async () => {
      const owner = await givenAccount();
      const old = await givenToken(owner.id, { name: 'deploy' });
      const fresh = token(owner.id, { name: 'deploy', rotatedFrom: old.record.id });
      const rotatedAt = (await ctx.database.now()) + 60_000;
      const outcome = await rotate(owner.id, old.record.id, fresh, 3_600_000, rotatedAt);
      expect(outcome).toEqual({ rotated: { ...old.record, replacedBy: fresh.record.id, rotatedAt, graceUntil: rotatedAt + 3_600_000, expiresAt: rotatedAt + 3_600_000 } });
      expect(await ctx.stores.tokens.findToken(owner.id, old.record.id)).toMatchObject({
        replacedBy: fresh.record.id,
        rotatedAt,
        graceUntil: rotatedAt + 3_600_000,
        expiresAt: rotatedAt + 3_600_000,
        rotationUses: 0,
      });
      expect(await ctx.stores.tokens.findTokenForAuth(fresh.digest)).toMatchObject({ name: 'deploy', rotatedFrom: old.record.id, replacedBy: null });
      expect(await auditCount('token.rotated')).toBe(1);
      // Only current tokens hold a name: the replaced one no longer does.
      await expect(ctx.stores.tokens.insertToken({ ...token(owner.id, { name: 'deploy' }).record, digest: digestOf('x') }, { maxActive: 100 }, audit('token.created', 'x'))).rejects.toThrow(StoreConflictError);
    });

    it('with no grace the old token expires at the database clock of the rotation, however far ahead the instance clock is', async () => {
      const owner = await givenAccount();
      const old = await givenToken(owner.id);
      const before = await ctx.database.now();
      const outcome = await rotate(owner.id, old.record.id, token(owner.id), 0, before + 3_600_000);
      const { expiresAt } = (await ctx.stores.tokens.findToken(owner.id, old.record.id))!;
      expect('rotated' in outcome && outcome.rotated.expiresAt).toBe(expiresAt);
      expect(expiresAt).toBeGreaterThanOrEqual(before);
      expect(expiresAt).toBeLessThanOrEqual(await ctx.database.now());
      const found = await ctx.stores.tokens.findTokenForAuth(old.digest);
      expect(found!.expiresAt).toBeLessThanOrEqual(found!.dbNow);
    });

    it('refuses a replaced, revoked, expired, missing or foreign token, writing nothing', async () => {
      const owner = await givenAccount();
      const stranger = await givenAccount();
      const replaced = await givenToken(owner.id);
      await rotate(owner.id, replaced.record.id, token(owner.id), 60_000);
      const revoked = await givenToken(owner.id);
      await ctx.stores.tokens.revokeToken(owner.id, revoked.record.id, tick(), audit('token.revoked', revoked.record.id));
      const expired = await givenToken(owner.id);
      await setExpiresAt(expired.record.id, (await ctx.database.now()) - 1000);
      const tokensBefore = await count('tokens');
      for (const [tokenId, reason, as] of [
        [replaced.record.id, 'rotated', owner.id],
        [revoked.record.id, 'revoked', owner.id],
        [expired.record.id, 'expired', owner.id],
        [randomUUID(), 'not_found', owner.id],
        [expired.record.id, 'not_found', stranger.id],
      ] as const) {
        expect(await rotate(as, tokenId, token(as), 60_000)).toEqual({ refused: reason });
      }
      expect(await count('tokens')).toBe(tokensBefore);
      expect(await auditCount('token.rotated')).toBe(1);
    });

    it('concurrent rotations of one token: exactly one succeeds', async () => {
      const owner = await givenAccount();
      const old = await givenToken(owner.id, { name: 'raced' });
      const outcomes = await Promise.all(Array.from({ length: 6 }, () => rotate(owner.id, old.record.id, token(owner.id, { name: 'raced' }), 60_000)));
      expect(outcomes.filter((outcome) => 'rotated' in outcome)).toHaveLength(1);
      expect(await count('tokens', sql`name = ${'raced'} and replaced_by is null`)).toBe(1);
    });

    it('adds uses of a replaced token to its count with the last use; it lists as rotating, then expired', async () => {
      const owner = await givenAccount();
      const old = await givenToken(owner.id);
      await rotate(owner.id, old.record.id, token(owner.id), 3_600_000, await ctx.database.now());
      const at = tick();
      await ctx.stores.tokens.recordRotatedTokenUses(old.record.id, 3, at, '10.0.0.5');
      await ctx.stores.tokens.recordRotatedTokenUses(old.record.id, 2, at + 1, '10.0.0.6');
      expect(await ctx.stores.tokens.findToken(owner.id, old.record.id)).toMatchObject({ rotationUses: 5, lastUsedAt: at + 1, lastUsedIp: '10.0.0.6' });
      const ids = async (state: TokenListFilter['state']) => (await ctx.stores.tokens.listTokens(owner.id, { state, expiringWindowMs: WEEK })).tokens.map((t) => t.id);
      expect(await ids('rotating')).toEqual([old.record.id]);
      expect(await ids('active')).not.toContain(old.record.id);
      await setExpiresAt(old.record.id, (await ctx.database.now()) - 1);
      expect(await ids('rotating')).toEqual([]);
      expect(await ids('expired')).toEqual([old.record.id]);
    });
  });

  describe('listing', () => {
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
      const dbNow = await ctx.stores.tokens.now();
      await setExpiresAt(active.record.id, dbNow + WEEK + 60_000);
      await setExpiresAt(expiring.record.id, dbNow + 3 * DAY);
      // Exactly 7 days left when read → already "expiring" by the time of the query.
      await setExpiresAt(edge.record.id, dbNow + WEEK);
      await setExpiresAt(expired.record.id, dbNow - 1000);
      // valid iff now < expires_at: at expires_at it is expired.
      await setExpiresAt(expiredEdge.record.id, dbNow);
      await setExpiresAt(revoked.record.id, dbNow + 30 * DAY);
      await ctx.stores.tokens.revokeToken(ownerId, revoked.record.id, tick(), audit('token.revoked', revoked.record.id));
    }

    it('filters by state against the database clock, newest first', async () => {
      const owner = await givenAccount();
      await givenTokensInEveryState(owner.id);
      const stranger = await givenAccount();
      await givenToken(stranger.id, { name: 'foreign' });

      const list = async (state: TokenListFilter['state']) => names((await ctx.stores.tokens.listTokens(owner.id, filter(state))).tokens);
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
      await setExpiresAt(made.record.id, (await ctx.stores.tokens.now()) - DAY);
      await ctx.stores.tokens.revokeToken(owner.id, made.record.id, tick(), audit('token.revoked', made.record.id));
      for (const state of ['active', 'expiring', 'expired', 'unrevoked'] as const) {
        expect((await ctx.stores.tokens.listTokens(owner.id, filter(state))).tokens).toEqual([]);
      }
      expect(names((await ctx.stores.tokens.listTokens(owner.id, filter('revoked'))).tokens)).toEqual(['gone']);
    });

    it('the expiring window is the one passed in the filter', async () => {
      const owner = await givenAccount();
      await givenTokensInEveryState(owner.id);
      const oneDay = async (state: TokenListFilter['state']) => names((await ctx.stores.tokens.listTokens(owner.id, filter(state, undefined, DAY))).tokens);
      expect(await oneDay('expiring')).toEqual([]);
      expect(await oneDay('active')).toEqual(['expiring-edge', 'expiring', 'active']);
    });

    it('returns the database clock it filtered with', async () => {
      const owner = await givenAccount();
      const before = await ctx.stores.tokens.now();
      const { dbNow } = await ctx.stores.tokens.listTokens(owner.id, filter('all'));
      expect(dbNow).toBeGreaterThanOrEqual(before);
      expect(dbNow).toBeLessThanOrEqual(Date.now() + 2000);
    });

    it('search is a case-insensitive plain substring: % and _ mean themselves', async () => {
      const owner = await givenAccount();
      for (const name of ['Deploy CI', 'nightly-DEPLOY', '100% coverage', '100 coverage', 'a_b', 'axb', 'back\\slash', 'plain']) {
        await givenToken(owner.id, { name });
      }
      const search = async (text: string, state: TokenListFilter['state'] = 'all') =>
        names((await ctx.stores.tokens.listTokens(owner.id, filter(state, text))).tokens).sort();
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
        const found = await ctx.stores.tokens.findToken(owner.id, ids.get(name)!);
        expect(Buffer.from(found!.name)).toEqual(Buffer.from(name));
      }
      expect(names((await ctx.stores.tokens.listTokens(owner.id, filter('all'))).tokens).sort()).toEqual([...odd].sort());
      const search = async (text: string) => names((await ctx.stores.tokens.listTokens(owner.id, filter('all', text))).tokens);
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

  it('last use is written at most once per interval', async () => {
    const owner = await givenAccount();
    const made = await givenToken(owner.id);
    const t0 = Date.now();
    const read = async () => (await ctx.stores.tokens.findToken(owner.id, made.record.id))!;

    expect(await ctx.stores.tokens.touchTokenLastUsed(made.record.id, t0, '198.51.100.7', 60_000)).toBe(true);
    expect(await read()).toMatchObject({ lastUsedAt: t0, lastUsedIp: '198.51.100.7' });

    expect(await ctx.stores.tokens.touchTokenLastUsed(made.record.id, t0 + 59_999, '203.0.113.9', 60_000)).toBe(false);
    expect(await read()).toMatchObject({ lastUsedAt: t0, lastUsedIp: '198.51.100.7' });

    expect(await ctx.stores.tokens.touchTokenLastUsed(made.record.id, t0 + 60_000, null, 60_000)).toBe(true);
    expect(await read()).toMatchObject({ lastUsedAt: t0 + 60_000, lastUsedIp: null });

    expect(await ctx.stores.tokens.touchTokenLastUsed(randomUUID(), t0, null, 60_000)).toBe(false);
  });

  it('concurrent touches within one interval write once', async () => {
    const owner = await givenAccount();
    const made = await givenToken(owner.id);
    const t0 = Date.now();
    const wrote = await Promise.all(
      Array.from({ length: 10 }, (_, index) => ctx.stores.tokens.touchTokenLastUsed(made.record.id, t0 + index, `192.0.2.${index}`, 60_000)),
    );
    expect(wrote.filter(Boolean)).toHaveLength(1);
  });

  describe('creates that arrive together (group commit)', () => {
    it('are committed in one batch: every token and its audit event, one token insert and one audit insert for all', async () => {
      const owner = await givenAccount();
      ctx.queries.length = 0;
      const made = await Promise.all(Array.from({ length: 10 }, () => givenToken(owner.id)));
      expect(statements(/insert into "tokens"/i)).toHaveLength(1);
      expect(statements(/insert into "audit_events"/i)).toHaveLength(1);
      for (const { digest, record } of made) expect((await ctx.stores.tokens.findTokenForAuth(digest))?.id).toBe(record.id);
      expect(await auditCount('token.created')).toBe(10);
    });

    it('a create refused in a batch is refused alone: its batch-mates and their audit events are written', async () => {
      const owner = await givenAccount();
      await givenToken(owner.id, { name: 'taken' });
      const results = await Promise.allSettled([
        givenToken(owner.id, { name: 'one' }),
        givenToken(owner.id, { name: 'taken' }),
        givenToken(owner.id, { name: 'two' }),
        givenToken(owner.id, { name: 'two' }),
        givenToken(owner.id, { name: 'three' }),
      ]);
      expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
      for (const result of results) {
        if (result.status === 'rejected') expect((result.reason as StoreConflictError).reason).toBe('token_name_taken');
      }
      expect(await count('tokens', sql`account_id = ${owner.id}`)).toBe(4);
      expect(await auditCount('token.created')).toBe(4);
      const listed = await ctx.stores.tokens.listTokens(owner.id, { state: 'all', expiringWindowMs: WEEK });
      expect(listed.tokens.map((t) => t.name).sort()).toEqual(['one', 'taken', 'three', 'two']);
    });

    it('one account reaching its limit refuses only its own creates, not another account\'s in the same batch', async () => {
      const full = await givenAccount();
      const other = await givenAccount();
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, index) => givenToken(index % 2 === 0 ? full.id : other.id, {}, index % 2 === 0 ? 2 : 100)),
      );
      const outcomes = results.map((result) => (result.status === 'fulfilled' ? 'ok' : (result.reason as StoreConflictError).reason));
      expect(outcomes.filter((_, index) => index % 2 === 1)).toEqual(['ok', 'ok', 'ok', 'ok']);
      expect(outcomes.filter((_, index) => index % 2 === 0).sort()).toEqual(['ok', 'ok', 'token_limit_reached', 'token_limit_reached']);
      expect(await count('tokens', sql`account_id = ${full.id}`)).toBe(2);
      expect(await count('tokens', sql`account_id = ${other.id}`)).toBe(4);
    });

    it('a create refused for its name takes no slot: a batch-mate at the limit is still created', async () => {
      const owner = await givenAccount();
      await givenToken(owner.id, { name: 'taken' }, 3);
      await givenToken(owner.id, { name: 'second' }, 3);
      // One slot left: the clash must not use it up.
      const results = await Promise.allSettled([
        givenToken(owner.id, { name: 'taken' }, 3),
        givenToken(owner.id, { name: 'third' }, 3),
        givenToken(owner.id, { name: 'fourth' }, 3),
      ]);
      const outcomes = results.map((result) => (result.status === 'fulfilled' ? 'ok' : (result.reason as StoreConflictError).reason));
      expect(outcomes).toEqual(['token_name_taken', 'ok', 'token_limit_reached']);
      expect(await count('tokens', sql`account_id = ${owner.id}`)).toBe(3);
    });

    it('two instances creating at once never exceed the account\'s limit nor share a name', async () => {
      const { instances, close } = await twoInstances();
      try {
        const owner = account();
        await createKyselyAccountStore(instances[0]!).insertAccount(owner, audit('account.created', owner.id));
        const stores = instances.map((database) => createKyselyTokenStore(database));
        const create = (index: number, name: string) => {
          const made = token(owner.id, { name });
          return stores[index % 2]!.insertToken({ ...made.record, digest: made.digest }, { maxActive: 5 }, audit('token.created', made.record.id));
        };
        const byLimit = await Promise.allSettled(Array.from({ length: 20 }, (_, index) => create(index, `limit-${index}`)));
        expect(byLimit.filter((result) => result.status === 'fulfilled')).toHaveLength(5);
        for (const result of byLimit) {
          if (result.status === 'rejected') expect((result.reason as StoreConflictError).reason).toBe('token_limit_reached');
        }

        const other = account();
        await createKyselyAccountStore(instances[1]!).insertAccount(other, audit('account.created', other.id));
        const createFor = (index: number) => {
          const made = token(other.id, { name: 'deploy' });
          return stores[index % 2]!.insertToken({ ...made.record, digest: made.digest }, { maxActive: 100 }, audit('token.created', made.record.id));
        };
        const byName = await Promise.allSettled(Array.from({ length: 10 }, (_, index) => createFor(index)));
        expect(byName.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
        for (const result of byName) {
          if (result.status === 'rejected') expect((result.reason as StoreConflictError).reason).toBe('token_name_taken');
        }

        const listed = async (accountId: string) => (await stores[0]!.listTokens(accountId, { state: 'all', expiringWindowMs: WEEK })).tokens;
        expect(await listed(owner.id)).toHaveLength(5);
        expect(await listed(other.id)).toHaveLength(1);
      } finally {
        await close();
      }
    });
  });

  describe('administration: every account\'s tokens', () => {
    const listAll = (filter: Partial<AllTokensFilter> = {}) =>
      ctx.stores.tokens.listAllTokens({ state: 'all', limit: 100, expiringWindowMs: WEEK, ...filter });
    const names = async (filter: Partial<AllTokensFilter> = {}) => (await listAll(filter)).tokens.map(({ token: found }) => found.name).sort();

    it('lists with owners, newest first, filtered by owner, state, expiry, disuse and scope against the database clock', async () => {
      const bob = await givenAccount({ email: 'bob@example.test', name: 'Bob' });
      const dave = await givenAccount({ email: null, name: null });
      const soon = await givenToken(bob.id, { name: 'soon', scopes: ['namespaces:read', 'tokens:write'] });
      const idle = await givenToken(bob.id, { name: 'idle', scopes: ['admin:read'] });
      const busy = await givenToken(dave.id, { name: 'busy', scopes: ['namespaces:write'] });
      const gone = await givenToken(dave.id, { name: 'gone' });
      await ctx.stores.tokens.revokeToken(dave.id, gone.record.id, tick(), audit('token.revoked', gone.record.id));
      const dbNow = await ctx.stores.tokens.now();
      await setExpiresAt(soon.record.id, dbNow + 2 * DAY);
      // The fixtures' clock starts in January: make the others recent by the database clock.
      await ctx.exec(sql`update tokens set created_at = ${dbNow - 1000} where id in (${soon.record.id}, ${gone.record.id})`);
      await ctx.exec(sql`update tokens set created_at = ${dbNow - 40 * DAY}, last_used_at = null where id = ${idle.record.id}`);
      await ctx.exec(sql`update tokens set created_at = ${dbNow - 40 * DAY}, last_used_at = ${dbNow - DAY} where id = ${busy.record.id}`);

      const all = await listAll();
      expect(all.tokens.find(({ token: found }) => found.id === soon.record.id)?.owner).toEqual({ id: bob.id, email: 'bob@example.test', name: 'Bob' });
      expect(all.tokens.find(({ token: found }) => found.id === busy.record.id)?.owner).toEqual({ id: dave.id, email: null, name: null });
      expect(all.dbNow).toBeGreaterThanOrEqual(dbNow);
      const created = all.tokens.map(({ token: found }) => found.createdAt);
      expect(created).toEqual([...created].sort((a, b) => b - a));

      expect(await names({ ownerId: bob.id })).toEqual(['idle', 'soon']);
      expect(await names({ state: 'revoked' })).toEqual(['gone']);
      expect(await names({ state: 'unrevoked' })).toEqual(['busy', 'idle', 'soon']);
      expect(await names({ state: 'expiring' })).toEqual(['soon']);
      expect(await names({ expiringWithinMs: 3 * DAY })).toEqual(['soon']);
      expect(await names({ expiringWithinMs: DAY })).toEqual([]);
      expect(await names({ unusedForMs: 30 * DAY })).toEqual(['idle']);
      expect(await names({ anyOfScopes: ['tokens:read', 'tokens:write'] })).toEqual(['soon']);
      expect(await names({ anyOfScopes: ['namespaces:read', 'namespaces:write'] })).toEqual(['busy', 'gone', 'soon']);
      expect(await names({ anyOfScopes: ['admin:write'] })).toEqual([]);
      expect(await names({ anyOfScopes: ['admin:read'], ownerId: dave.id })).toEqual([]);
    });

    it('pages by (created_at, id) without duplicates or omissions, ties included', async () => {
      const owner = await givenAccount();
      const at = tick();
      const made = [];
      for (let index = 0; index < 5; index++) made.push(await givenToken(owner.id, { createdAt: index < 3 ? at : tick() }));
      const seen: string[] = [];
      let after: { createdAt: number; id: string } | undefined;
      for (;;) {
        const { tokens } = await listAll({ limit: 2, after });
        seen.push(...tokens.map(({ token: found }) => found.id));
        const last = tokens.at(-1)?.token;
        if (tokens.length < 2 || !last) break;
        after = { createdAt: last.createdAt, id: last.id };
      }
      expect(seen).toHaveLength(5);
      expect(new Set(seen)).toEqual(new Set(made.map((found) => found.record.id)));
    });

    it("any account's token is found by id; a revoke with a notice writes the notice in its transaction, a refused one writes none", async () => {
      const owner = await givenAccount();
      const made = await givenToken(owner.id, { name: 'laptop' });
      expect(await ctx.stores.tokens.findAnyToken(made.record.id)).toEqual(made.record);
      expect(await ctx.stores.tokens.findAnyToken(randomUUID())).toBeUndefined();
      const notice = () => ({
        id: randomUUID(),
        accountId: owner.id,
        kind: 'token_revoked_by_admin' as const,
        createdAt: tick(),
        detail: { token: { id: made.record.id, name: 'laptop', last4: made.record.last4, note: null } },
      });
      expect(await ctx.stores.tokens.revokeToken(owner.id, made.record.id, tick(), audit('token.revoked', made.record.id), notice())).toBe(true);
      expect((await ctx.stores.notices.listNotices(owner.id)).map((found) => found.kind)).toEqual(['token_revoked_by_admin']);
      expect(await ctx.stores.tokens.revokeToken(owner.id, made.record.id, tick(), audit('token.revoked', made.record.id), notice())).toBe(false);
      expect(await count('notices')).toBe(1);
      expect(await auditCount('token.revoked')).toBe(1);
    });
  });
});
