/**
 * The token lookup every authenticated request makes: an indexed read by digest, joined to the
 * owner, with the database clock, compiled once and run on the hot-query path
 * (database/hot-query.ts) — a prepared statement, never re-planned. On SQLite the verified-token
 * cache (verified-token-cache.ts) answers repeats without it. On PostgreSQL, where nothing is
 * cached, lookups that arrive together share one round trip (`digest = any($1)`,
 * database/coalesced-lookup.ts), which stays exact: a batch is only joined before it is sent.
 */
import type { CompiledQuery, InferResult } from 'kysely';
import { createCoalescedLookup } from '../database/coalesced-lookup.js';
import type { Database } from '../database/database.js';
import type { TokenForAuth } from './token.js';
import { TOKEN_AND_OWNER_COLUMNS, toTokenForAuth } from './kysely-token-rows.js';

/** The token and its owner, with the database clock: the columns every lookup reads. */
function tokenAndOwner(database: Database) {
  return database.kysely
    .selectFrom('tokens as t')
    .innerJoin('accounts as a', 'a.id', 't.account_id')
    .select(TOKEN_AND_OWNER_COLUMNS)
    .select(database.nowSql.as('db_now'));
}

function tokenForAuthQuery(database: Database) {
  return tokenAndOwner(database).where('t.digest', '=', Buffer.alloc(32));
}

function tokensForAuthQuery(database: Database) {
  return tokenAndOwner(database)
    .select('t.digest as lookup_digest')
    .where('t.digest', '=', (eb) => eb.fn<Buffer>('any', [eb.val([Buffer.alloc(32)])]));
}

type TokenForAuthRow = InferResult<ReturnType<typeof tokenForAuthQuery>>[number];
type TokensForAuthRow = InferResult<ReturnType<typeof tokensForAuthQuery>>[number];

/** Digests in one batched lookup at most. */
const MAX_DIGESTS_PER_LOOKUP = 256;

/** The compiled lookup: the digest (or, batched, the array of digests) is its only parameter. */
export function createTokenLookup(database: Database): (digest: Buffer) => Promise<TokenForAuth | undefined> {
  const { runHotQueryRows, poolSize } = database;
  if (runHotQueryRows && poolSize) {
    const query: CompiledQuery<TokensForAuthRow> = tokensForAuthQuery(database).compile();
    if (query.parameters.length !== 1) throw new Error('the batched token lookup must have the digests as its only parameter');
    const lookUpRow = createCoalescedLookup<Buffer, TokensForAuthRow>({
      loadMany: async (digests) => (await runHotQueryRows(query.sql, [digests])) as TokensForAuthRow[],
      keyOfRow: (row) => row.lookup_digest.toString('hex'),
      keyOf: (digest) => digest.toString('hex'),
      // Leave connections for everything else a request does (writes, sessions, the listener).
      maxInFlight: Math.max(1, Math.floor(poolSize / 2)),
      maxBatchSize: MAX_DIGESTS_PER_LOOKUP,
    });
    return async (digest) => {
      const row = await lookUpRow(digest);
      return row && toTokenForAuth(row, Number(row.db_now));
    };
  }
  const query: CompiledQuery<TokenForAuthRow> = tokenForAuthQuery(database).compile();
  if (query.parameters.length !== 1) throw new Error('the token lookup must have the digest as its only parameter');
  return async (digest) => {
    const row = (await database.runHotQuery(query.sql, [digest])) as TokenForAuthRow | undefined;
    return row && toTokenForAuth(row, Number(row.db_now));
  };
}
