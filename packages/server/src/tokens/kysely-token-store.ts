/**
 * Tokens in the `tokens` table. Creation goes through group commit (kysely-kysely-token-inserts.ts), the
 * lookup by digest through the compiled hot query (kysely-kysely-token-lookup.ts) and, on SQLite, the
 * verified-token cache (verified-token-cache.ts), which every write that can change an
 * authentication decision clears (database/authentication-changes.ts).
 */
import { writeWithAudit } from '../audit/kysely-audit-store.js';
import type { Database } from '../database/database.js';
import { sql } from 'kysely';
import { qualified, TOKEN_COLUMNS } from '../database/schema.js';
import { noticeRow } from '../notices/kysely-notice-store.js';
import { createTokenInserts } from './kysely-token-inserts.js';
import { createTokenLookup } from './kysely-token-lookup.js';
import { toToken, tokenRow } from './kysely-token-rows.js';
import type { RotationRefusal, TokenRecord } from './token.js';
import type { TokenStore } from './token-store.js';
import { DEFAULT_TOKEN_CACHE_ENTRIES, VerifiedTokenCache } from './verified-token-cache.js';

export interface TokenStoreOptions {
  /**
   * SQLite only: keep verified-token lookups in memory (verified-token-cache.ts). Ignored on
   * PostgreSQL, where every lookup reads the database so a revoke is seen by every instance.
   */
  tokenCache?: boolean | { maxEntries: number };
}

export function createKyselyTokenStore(database: Database, options: TokenStoreOptions = {}): TokenStore {
  const { kysely, authenticationChanges } = database;
  const lookUp = createTokenLookup(database);
  let cache = createCache(database, options.tokenCache);
  const peekCache = (digests: readonly Buffer[]) => cache!.peekAll(digests);
  authenticationChanges.subscribe((change) => {
    cache?.clear();
    if (change === 'bypassed') cache = undefined;
  });

  return {
    insertToken: createTokenInserts(database),

    findTokenForAuth(digest) {
      return cache ? cache.find(digest, () => lookUp(digest)) : lookUp(digest);
    },

    verifiedTokenPeek() {
      return cache && peekCache;
    },

    async findToken(accountId, tokenId) {
      const row = await kysely
        .selectFrom('tokens')
        .select(TOKEN_COLUMNS)
        .where('id', '=', tokenId)
        .where('account_id', '=', accountId)
        .executeTakeFirst();
      return row && toToken(row);
    },

    async listTokens(accountId, filter) {
      const dbNow = await database.now();
      const expiringFrom = dbNow + filter.expiringWindowMs;
      let query = kysely.selectFrom('tokens').select(TOKEN_COLUMNS).where('account_id', '=', accountId);
      switch (filter.state) {
        case 'all':
          break;
        case 'revoked':
          query = query.where('revoked_at', 'is not', null);
          break;
        case 'unrevoked':
          query = query.where('revoked_at', 'is', null);
          break;
        case 'active':
          query = query.where('revoked_at', 'is', null).where('replaced_by', 'is', null).where('expires_at', '>', expiringFrom);
          break;
        case 'expiring':
          query = query
            .where('revoked_at', 'is', null)
            .where('replaced_by', 'is', null)
            .where('expires_at', '>', dbNow)
            .where('expires_at', '<=', expiringFrom);
          break;
        case 'rotating':
          query = query.where('revoked_at', 'is', null).where('replaced_by', 'is not', null).where('expires_at', '>', dbNow);
          break;
        case 'expired':
          query = query.where('revoked_at', 'is', null).where('expires_at', '<=', dbNow);
          break;
      }
      const rows = await query.orderBy('created_at', 'desc').orderBy('id').execute();
      // A plain substring test (`%` and `_` mean themselves), case-folded here rather than in SQL:
      // SQLite's lower() folds ASCII only and PostgreSQL's follows the database locale, so the
      // two backends would disagree on a name like "Café".
      const needle = filter.search?.toLowerCase();
      const tokens = rows.map(toToken).filter((token) => !needle || token.name.toLowerCase().includes(needle));
      return { tokens, dbNow };
    },

    revokeToken(accountId, tokenId, revokedAt, audit, notice) {
      return authenticationChanges.around(() =>
        writeWithAudit(database, async (trx) => {
          const result = await trx
            .updateTable('tokens')
            .set({ revoked_at: revokedAt })
            .where('id', '=', tokenId)
            .where('account_id', '=', accountId)
            .where('revoked_at', 'is', null)
            .executeTakeFirst();
          const revoked = result.numUpdatedRows > 0n;
          if (revoked && notice) await trx.insertInto('notices').values(noticeRow(notice)).execute();
          return { result: revoked, audit: revoked ? audit : null };
        }),
      );
    },

    rotateToken(accountId, tokenId, replacement, rotation, audit) {
      return authenticationChanges.around(() =>
        writeWithAudit<{ rotated: TokenRecord } | { refused: RotationRefusal }>(database, async (trx) => {
          let oldQuery = trx.selectFrom('tokens').select(TOKEN_COLUMNS).where('id', '=', tokenId).where('account_id', '=', accountId);
          // Two rotations of one token at once: the second waits, then sees it replaced.
          if (database.dialect === 'postgres') oldQuery = oldQuery.forUpdate();
          const row = await oldQuery.executeTakeFirst();
          const { now: dbNowValue } = await trx.selectNoFrom(database.nowSql.as('now')).executeTakeFirstOrThrow();
          const dbNow = Number(dbNowValue);
          const old = row && toToken(row);
          const refused = rotationRefusal(old, dbNow);
          if (refused) return { result: { refused }, audit: null };
          // No grace: ended by the database clock, which decides expiry on every instance.
          const graceUntil = Math.min(old!.expiresAt, rotation.graceMs === 0 ? Math.min(rotation.rotatedAt, dbNow) : rotation.rotatedAt + rotation.graceMs);
          const result = await trx
            .updateTable('tokens')
            .set({ replaced_by: replacement.id, rotated_at: rotation.rotatedAt, grace_until: graceUntil, expires_at: graceUntil })
            .where('id', '=', tokenId)
            .where('revoked_at', 'is', null)
            .where('replaced_by', 'is', null)
            .executeTakeFirst();
          if (result.numUpdatedRows === 0n) return { result: { refused: 'rotated' as const }, audit: null };
          await trx.insertInto('tokens').values(tokenRow(replacement)).execute();
          const rotated = { ...old!, replacedBy: replacement.id, rotatedAt: rotation.rotatedAt, graceUntil, expiresAt: graceUntil };
          return { result: { rotated }, audit: audit(graceUntil) };
        }),
      );
    },

    async recordRotatedTokenUses(tokenId, uses, usedAt, ip) {
      await kysely
        .updateTable('tokens')
        .set((eb) => ({ rotation_uses: eb('rotation_uses', '+', uses), last_used_at: usedAt, last_used_ip: ip }))
        .where('id', '=', tokenId)
        .execute();
      // The cached row's count is now behind: read it again next time (rotating tokens are few).
      cache?.forget(tokenId);
    },

    async findAnyToken(tokenId) {
      const row = await kysely.selectFrom('tokens').select(TOKEN_COLUMNS).where('id', '=', tokenId).executeTakeFirst();
      return row && toToken(row);
    },

    async listAllTokens(filter) {
      const dbNow = await database.now();
      const expiringFrom = dbNow + filter.expiringWindowMs;
      let query = kysely
        .selectFrom('tokens as t')
        .innerJoin('accounts as a', 'a.id', 't.account_id')
        .select(qualified('t', TOKEN_COLUMNS))
        .select(['a.email as owner_email', 'a.name as owner_name']);
      switch (filter.state) {
        case 'all':
          break;
        case 'revoked':
          query = query.where('t.revoked_at', 'is not', null);
          break;
        case 'unrevoked':
          query = query.where('t.revoked_at', 'is', null);
          break;
        case 'active':
          query = query.where('t.revoked_at', 'is', null).where('t.replaced_by', 'is', null).where('t.expires_at', '>', expiringFrom);
          break;
        case 'expiring':
          query = query
            .where('t.revoked_at', 'is', null)
            .where('t.replaced_by', 'is', null)
            .where('t.expires_at', '>', dbNow)
            .where('t.expires_at', '<=', expiringFrom);
          break;
        case 'rotating':
          query = query.where('t.revoked_at', 'is', null).where('t.replaced_by', 'is not', null).where('t.expires_at', '>', dbNow);
          break;
        case 'expired':
          query = query.where('t.revoked_at', 'is', null).where('t.expires_at', '<=', dbNow);
          break;
      }
      if (filter.ownerId !== undefined) query = query.where('t.account_id', '=', filter.ownerId);
      if (filter.expiringWithinMs !== undefined) {
        query = query
          .where('t.revoked_at', 'is', null)
          .where('t.expires_at', '>', dbNow)
          .where('t.expires_at', '<=', dbNow + filter.expiringWithinMs);
      }
      if (filter.unusedForMs !== undefined) {
        const before = dbNow - filter.unusedForMs;
        query = query.where((eb) =>
          eb.or([
            eb.and([eb('t.last_used_at', 'is', null), eb('t.created_at', '<=', before)]),
            eb('t.last_used_at', '<=', before),
          ]),
        );
      }
      const scopes = filter.anyOfScopes;
      if (scopes && scopes.length > 0) {
        // Scopes are stored space-separated and no scope name contains another with spaces around it.
        query = query.where((eb) => eb.or(scopes.map((scope) => sql<boolean>`(' ' || ${eb.ref('t.scopes')} || ' ') like ${`% ${scope} %`}`)));
      }
      if (filter.after) {
        const { createdAt, id } = filter.after;
        query = query.where((eb) => eb.or([eb('t.created_at', '<', createdAt), eb.and([eb('t.created_at', '=', createdAt), eb('t.id', '>', id)])]));
      }
      const rows = await query.orderBy('t.created_at', 'desc').orderBy('t.id').limit(filter.limit).execute();
      const tokens = rows.map((row) => ({
        token: toToken(row),
        owner: { id: row.account_id, email: row.owner_email, name: row.owner_name },
      }));
      return { tokens, dbNow };
    },

    async touchTokenLastUsed(tokenId, usedAt, ip, minIntervalMs) {
      const result = await kysely
        .updateTable('tokens')
        .set({ last_used_at: usedAt, last_used_ip: ip })
        .where('id', '=', tokenId)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', usedAt - minIntervalMs)]))
        .executeTakeFirst();
      const wrote = result.numUpdatedRows > 0n;
      // Keep a cached row in step; if someone else wrote first, reread it next time.
      if (wrote) cache?.recordUse(tokenId, usedAt, ip);
      else cache?.forget(tokenId);
      return wrote;
    },

    async recordTokenAddress(tokenId, ip, usedAt) {
      await kysely
        .insertInto('token_addresses')
        .values({ token_id: tokenId, ip, last_used_at: usedAt })
        .onConflict((conflict) => conflict.columns(['token_id', 'ip']).doUpdateSet({ last_used_at: usedAt }))
        .execute();
      await kysely
        .deleteFrom('token_addresses')
        .where('token_id', '=', tokenId)
        .where(
          'ip',
          'not in',
          kysely
            .selectFrom('token_addresses')
            .select('ip')
            .where('token_id', '=', tokenId)
            .orderBy('last_used_at', 'desc')
            .orderBy('ip')
            .limit(KEPT_TOKEN_ADDRESSES),
        )
        .execute();
    },

    async listTokenAddresses(tokenId, limit) {
      const rows = await kysely
        .selectFrom('token_addresses')
        .select(['ip', 'last_used_at'])
        .where('token_id', '=', tokenId)
        .orderBy('last_used_at', 'desc')
        .orderBy('ip')
        .limit(limit)
        .execute();
      return rows.map((row) => ({ ip: row.ip, lastUsedAt: Number(row.last_used_at) }));
    },

    now: () => database.now(),
  };

}

/** Why a token may not be rotated now (against the database clock), or undefined when it may. */
function rotationRefusal(token: TokenRecord | undefined, dbNow: number): RotationRefusal | undefined {
  if (!token) return 'not_found';
  if (token.revokedAt !== null) return 'revoked';
  if (token.replacedBy) return 'rotated';
  if (token.expiresAt <= dbNow) return 'expired';
  return undefined;
}

/** Distinct addresses kept per token: its page shows five (as GitLab's does). */
export const KEPT_TOKEN_ADDRESSES = 5;

function createCache(database: Database, setting: TokenStoreOptions['tokenCache']): VerifiedTokenCache | undefined {
  const { foreignCommitVersion } = database;
  if (!setting || !foreignCommitVersion) return undefined;
  return new VerifiedTokenCache({
    maxEntries: setting === true ? DEFAULT_TOKEN_CACHE_ENTRIES : setting.maxEntries,
    foreignCommitVersion,
  });
}
