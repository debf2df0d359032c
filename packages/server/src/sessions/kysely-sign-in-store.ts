/** Sign-in links, OpenID Connect flows in progress and CLI login grants, each used once. */
import { sql, type Selectable } from 'kysely';
import { writeWithAudit } from '../audit/kysely-audit-store.js';
import type { Database } from '../database/database.js';
import type { CliGrantsTable, SignInLinksTable } from '../database/schema.js';
import type { SignInStore } from './sign-in-store.js';

export function createKyselySignInStore(database: Database): SignInStore {
  const { kysely, nowSql } = database;
  const isPostgres = database.dialect === 'postgres';

  /**
   * Marks the one-time secret under `key` used and returns its row, if it is neither used nor
   * expired by the database clock; otherwise undefined. One statement, so of two concurrent uses
   * only one gets the row.
   */
  function consumeOnce(table: 'signin_links', key: Buffer, usedAt: number): Promise<Selectable<SignInLinksTable> | undefined>;
  function consumeOnce(table: 'cli_grants', key: Buffer, usedAt: number): Promise<Selectable<CliGrantsTable> | undefined>;
  function consumeOnce(table: 'signin_links' | 'cli_grants', key: Buffer, usedAt: number) {
    return kysely
      .updateTable(table)
      .set({ used_at: usedAt })
      .where(table === 'signin_links' ? 'digest' : 'code_digest', '=', key)
      .where('used_at', 'is', null)
      .where('expires_at', '>', nowSql)
      .returningAll()
      .executeTakeFirst();
  }

  /** Deletes up to `limit` rows of `table` expired by `expiredBy`, chosen by their key column. */
  async function pruneExpired(
    table: 'signin_links' | 'login_flows' | 'cli_grants',
    key: 'digest' | 'state_digest' | 'code_digest',
    expiredBy: number,
    limit: number,
  ): Promise<number> {
    const result = await kysely
      .deleteFrom(table)
      .where(
        sql.ref(key),
        'in',
        kysely.selectFrom(table).select(sql.ref<Buffer>(key).as('key')).where('expires_at', '<=', expiredBy).limit(limit).$if(isPostgres, skipLocked),
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  return {
    insertSignInLink(digest, link, audit) {
      return writeWithAudit(database, async (trx) => {
        await trx
          .insertInto('signin_links')
          .values({ digest, account_id: link.accountId, created_at: link.createdAt, expires_at: link.expiresAt, used_at: null })
          .execute();
        return { result: undefined, audit: audit ?? null };
      });
    },

    async consumeSignInLink(digest, usedAt) {
      return (await consumeOnce('signin_links', digest, usedAt))?.account_id;
    },

    async insertLoginFlow(stateDigest, flow) {
      await kysely
        .insertInto('login_flows')
        .values({
          state_digest: stateDigest,
          browser_digest: flow.browserDigest,
          code_verifier: flow.codeVerifier,
          nonce: flow.nonce,
          return_to: flow.returnTo,
          created_at: flow.createdAt,
          expires_at: flow.expiresAt,
        })
        .execute();
    },

    async consumeLoginFlow(stateDigest) {
      const row = await kysely
        .deleteFrom('login_flows')
        .where('state_digest', '=', stateDigest)
        .returning(['browser_digest', 'code_verifier', 'nonce', 'return_to', 'created_at', 'expires_at', nowSql.as('db_now')])
        .executeTakeFirst();
      if (!row || Number(row.expires_at) <= Number(row.db_now)) return undefined;
      return {
        browserDigest: row.browser_digest,
        codeVerifier: row.code_verifier,
        nonce: row.nonce,
        returnTo: row.return_to,
        createdAt: Number(row.created_at),
        expiresAt: Number(row.expires_at),
      };
    },

    async insertCliGrant(codeDigest, grant) {
      await kysely
        .insertInto('cli_grants')
        .values({
          code_digest: codeDigest,
          account_id: grant.accountId,
          code_challenge: grant.codeChallenge,
          redirect_uri: grant.redirectUri,
          client_name: grant.clientName,
          created_at: grant.createdAt,
          expires_at: grant.expiresAt,
          used_at: null,
        })
        .execute();
    },

    async consumeCliGrant(codeDigest, usedAt) {
      const row = await consumeOnce('cli_grants', codeDigest, usedAt);
      if (!row) return undefined;
      return {
        accountId: row.account_id,
        codeChallenge: row.code_challenge,
        redirectUri: row.redirect_uri,
        clientName: row.client_name,
        createdAt: Number(row.created_at),
        expiresAt: Number(row.expires_at),
      };
    },

    // Retention: a bounded batch by key (PostgreSQL has no DELETE … LIMIT, nor SQLite as built);
    // on PostgreSQL rows another pruner has locked are skipped, so concurrent pruners never wait.
    pruneExpiredSignInLinks: (expiredBy, limit) => pruneExpired('signin_links', 'digest', expiredBy, limit),
    pruneExpiredLoginFlows: (expiredBy, limit) => pruneExpired('login_flows', 'state_digest', expiredBy, limit),
    pruneExpiredCliGrants: (expiredBy, limit) => pruneExpired('cli_grants', 'code_digest', expiredBy, limit),
  };
}

/** `FOR UPDATE SKIP LOCKED`, for the PostgreSQL pruners' batch select. */
function skipLocked<Q extends { forUpdate(): { skipLocked(): unknown } }>(query: Q): Q {
  return query.forUpdate().skipLocked() as Q;
}
