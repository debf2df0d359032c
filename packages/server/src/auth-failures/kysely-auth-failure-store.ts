/** The `auth_failures` table, and the token lookup fused with it (one statement per request). */
import { sql, type CompiledQuery, type InferResult } from 'kysely';
import type { Database } from '../database/database.js';
import { AUTH_FAILURE_COLUMNS, prefixed } from '../database/schema.js';
import { TOKEN_AND_OWNER_COLUMNS, toTokenForAuth } from '../tokens/kysely-token-rows.js';
import type { AuthFailureRecord, AuthFailureStore } from './auth-failure-store.js';

/** Lapsed failure records are pruned on every this-many-th recorded failure. */
const PRUNE_EVERY = 64;
/** Stands in for the client key when the lookup below is compiled (checked once). */
const CLIENT_KEY_SLOT = 'client-key';

/**
 * The token lookup and the client's failure record in one statement that always returns one
 * row: a one-row probe carrying the client key, left-joined to both. Token columns are null
 * when the digest is unknown; failure columns are null when the client has no record.
 */
function tokenAndClientQuery(database: Database) {
  const { kysely } = database;
  return kysely
    .selectFrom(kysely.selectNoFrom(sql<string>`cast(${CLIENT_KEY_SLOT} as text)`.as('client_key')).as('probe'))
    .leftJoin('auth_failures as f', 'f.client_key', 'probe.client_key')
    .leftJoin('tokens as t', (join) => join.on('t.digest', '=', Buffer.alloc(32)))
    .leftJoin('accounts as a', 'a.id', 't.account_id')
    .select(TOKEN_AND_OWNER_COLUMNS)
    .select(prefixed('f', AUTH_FAILURE_COLUMNS, 'client_'))
    .select(database.nowSql.as('db_now'));
}

type TokenAndClientRow = InferResult<ReturnType<typeof tokenAndClientQuery>>[number];

export function createKyselyAuthFailureStore(database: Database): AuthFailureStore {
  const { kysely, nowSql: now } = database;
  const lookup: CompiledQuery<TokenAndClientRow> = tokenAndClientQuery(database).compile();
  const [first, second] = lookup.parameters;
  if (lookup.parameters.length !== 2 || first !== CLIENT_KEY_SLOT || !Buffer.isBuffer(second)) {
    throw new Error('the token-and-client lookup must take the client key, then the digest');
  }
  let failuresRecorded = 0;

  return {
    async findTokenAndClientForAuth(digest, clientKey) {
      const row = (await database.runHotQuery(lookup.sql, [clientKey, digest])) as TokenAndClientRow;
      const dbNow = Number(row.db_now);
      const client: AuthFailureRecord | undefined =
        row.client_failures === null
          ? undefined
          : {
              failures: Number(row.client_failures),
              windowStart: Number(row.client_window_start),
              bannedUntil: Number(row.client_banned_until),
            };
      // A left join types every token column nullable; the id tells whether the token was found.
      const token = row.id === null ? undefined : toTokenForAuth(row as Parameters<typeof toTokenForAuth>[0], dbNow);
      return { token, client, dbNow };
    },

    async recordAuthFailure(clientKey, rules) {
      const windowOpen = sql<boolean>`auth_failures.window_start > ${now} - ${rules.windowMs}`;
      const banned = sql<boolean>`auth_failures.banned_until > ${now}`;
      const reachesThreshold = sql<boolean>`auth_failures.failures + 1 >= ${rules.threshold}`;
      // One atomic upsert, so concurrent failures on several instances all count.
      await kysely
        .insertInto('auth_failures')
        .values({ client_key: clientKey, failures: 1, window_start: now, banned_until: 0 })
        .onConflict((conflict) =>
          conflict.column('client_key').doUpdateSet({
            failures: sql<number>`case when ${banned} then auth_failures.failures when not (${windowOpen}) then 1 when ${reachesThreshold} then 0 else auth_failures.failures + 1 end`,
            window_start: sql<number>`case when ${banned} then auth_failures.window_start when not (${windowOpen}) or ${reachesThreshold} then ${now} else auth_failures.window_start end`,
            banned_until: sql<number>`case when ${banned} then auth_failures.banned_until when ${windowOpen} and ${reachesThreshold} then ${now} + ${rules.banMs} else auth_failures.banned_until end`,
          }),
        )
        .execute();
      if (++failuresRecorded % PRUNE_EVERY === 0) {
        await kysely
          .deleteFrom('auth_failures')
          .where('banned_until', '<=', now)
          .where('window_start', '<=', sql<number>`${now} - ${rules.windowMs}`)
          .execute();
      }
    },

    async clearAuthFailures(clientKey) {
      await kysely.deleteFrom('auth_failures').where('client_key', '=', clientKey).where('banned_until', '<=', now).execute();
    },
  };
}
