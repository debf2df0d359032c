/**
 * The token lookup every authenticated request makes: one indexed read by digest, joined to the
 * owner, with the database clock, compiled once and run on the hot-query path
 * (database/hot-query.ts) — a prepared statement, never re-planned. On SQLite the verified-token
 * cache (verified-token-cache.ts) answers repeats without it.
 */
import type { CompiledQuery, InferResult } from 'kysely';
import type { Database } from '../database/database.js';
import type { TokenForAuth } from './token.js';
import { TOKEN_AND_OWNER_COLUMNS, toTokenForAuth } from './kysely-token-rows.js';

function tokenForAuthQuery(database: Database) {
  return database.kysely
    .selectFrom('tokens as t')
    .innerJoin('accounts as a', 'a.id', 't.account_id')
    .select(TOKEN_AND_OWNER_COLUMNS)
    .select(database.nowSql.as('db_now'))
    .where('t.digest', '=', Buffer.alloc(32));
}

type TokenForAuthRow = InferResult<ReturnType<typeof tokenForAuthQuery>>[number];

/** The compiled lookup: the digest is its only parameter (checked here, once). */
export function createTokenLookup(database: Database): (digest: Buffer) => Promise<TokenForAuth | undefined> {
  const query: CompiledQuery<TokenForAuthRow> = tokenForAuthQuery(database).compile();
  if (query.parameters.length !== 1) throw new Error('the token lookup must have the digest as its only parameter');
  return async (digest) => {
    const row = (await database.runHotQuery(query.sql, [digest])) as TokenForAuthRow | undefined;
    return row && toTokenForAuth(row, Number(row.db_now));
  };
}
