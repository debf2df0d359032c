/**
 * Seeds a Latchkey database (SQLite or PostgreSQL) for the benchmark, opened exactly as the
 * server opens it (`openDatabase`, then its migrations).
 *
 * - "load" tokens: real tokens from `generateToken()`, 100 per account like the default
 *   TOKEN_MAX_PER_ACCOUNT, inserted in batches. Their plaintext is returned to the caller and
 *   lives in memory only: it is never written to a file, a log or the results.
 * - "filler" tokens up to the requested total: rows generated inside the database in one
 *   statement (a recursive CTE on SQLite, generate_series on PostgreSQL) with random 32-byte
 *   digests, which no token string hashes to: they only make the table and its indexes the size
 *   of a big installation. One in ten is revoked, as a real table would have some.
 */
import { generateToken } from '../../packages/contract/dist/token.js';
import { rawKysely } from '../../packages/server/dist/database/database.js';
import { openDatabase } from '../../packages/server/dist/database/open-database.js';
import { newId } from '../../packages/server/dist/kernel/ids.js';
import { sql } from 'kysely';

const DAY_MS = 86_400_000;
const PER_ACCOUNT = 100;
const BATCH = 500;

/**
 * @returns {{ tokens: string[], loadAccountIds: string[], extra: {id: string, token: string}[] }}
 */
export async function seedLatchkey({ databaseUrl, total, loadTokens, extraTokens = 0 }) {
  const database = openDatabase(databaseUrl);
  try {
    await database.migrate();
    const db = rawKysely(database);
    const now = Date.now();
    const expiresAt = now + 180 * DAY_MS;

    // Load tokens 100 to an account; the extra tokens (P9's) on an account of their own, so
    // markLoadTokensUsed never touches them.
    const generated = Array.from({ length: loadTokens + extraTokens }, () => ({ id: newId(), ...generateToken() }));
    const loadAccountIds = Array.from({ length: Math.ceil(loadTokens / PER_ACCOUNT) }, () => newId());
    const extraAccountIds = Array.from({ length: Math.ceil(extraTokens / PER_ACCOUNT) }, () => newId());
    const accountIds = [...loadAccountIds, ...extraAccountIds];
    const ownerOf = (index) =>
      index < loadTokens
        ? loadAccountIds[Math.floor(index / PER_ACCOUNT)]
        : extraAccountIds[Math.floor((index - loadTokens) / PER_ACCOUNT)];
    for (let start = 0; start < accountIds.length; start += BATCH) {
      await db
        .insertInto('accounts')
        .values(
          accountIds.slice(start, start + BATCH).map((id, offset) => ({
            id,
            email: `load${start + offset}@bench.invalid`,
            name: `load ${start + offset}`,
            is_admin: 0,
            created_at: now,
            disabled_at: null,
          })),
        )
        .execute();
    }
    for (let start = 0; start < generated.length; start += BATCH) {
      await db
        .insertInto('tokens')
        .values(
          generated.slice(start, start + BATCH).map((token, offset) => ({
            id: token.id,
            account_id: ownerOf(start + offset),
            name: `load ${start + offset}`,
            digest: token.digest,
            last4: token.last4,
            created_at: now,
            expires_at: expiresAt,
            revoked_at: null,
            last_used_at: null,
            last_used_ip: null,
          })),
        )
        .execute();
    }

    const filler = Math.max(0, total - generated.length);
    if (filler > 0) await insertFiller(db, database.dialect, filler, now, expiresAt);
    if (database.dialect === 'postgres') await sql`vacuum analyze`.execute(db);
    else await sql`pragma wal_checkpoint(truncate)`.execute(db);

    return {
      tokens: generated.slice(0, loadTokens).map((token) => token.token),
      loadAccountIds,
      extra: generated.slice(loadTokens).map((token) => ({ id: token.id, token: token.token })),
    };
  } finally {
    await database.close();
  }
}

async function insertFiller(db, dialect, filler, now, expiresAt) {
  const accounts = Math.ceil(filler / PER_ACCOUNT);
  // The random digests are generated first and inserted in sorted order (with ids and owners
  // numbered in that order), so every index is filled by appends rather than a million random
  // inserts: the result is the same table as a freshly rebuilt one, seeded in seconds. Foreign
  // keys are checked by construction (owner n / 100 exists) and switched off for this session
  // only.
  if (dialect === 'sqlite') {
    await sql`pragma foreign_keys = off`.execute(db);
    await sql`pragma cache_size = -262144`.execute(db);
    await db.transaction().execute(async (trx) => {
      await sql`
        with recursive seq(n) as (select 0 union all select n + 1 from seq where n + 1 < ${accounts})
        insert into accounts (id, email, name, is_admin, created_at, disabled_at)
        select printf('f0000000-0000-4000-8000-%012d', n), printf('filler%d@bench.invalid', n),
               printf('filler %d', n), 0, ${now}, null
        from seq`.execute(trx);
      await sql`
        with recursive seq(n) as (select 0 union all select n + 1 from seq where n + 1 < ${filler}),
        digests(d) as (select randomblob(32) from seq),
        numbered(n, d) as (select row_number() over (order by d) - 1, d from digests)
        insert into tokens (id, account_id, name, digest, last4, created_at, expires_at, revoked_at, last_used_at, last_used_ip)
        select printf('%08x-0000-4000-8000-%012x', n, n),
               printf('f0000000-0000-4000-8000-%012d', n / ${PER_ACCOUNT}), printf('filler %d', n),
               d, 'xxxx', ${now}, ${expiresAt},
               case when n % 10 = 0 then ${now} else null end, null, null
        from numbered order by n`.execute(trx);
    });
    await sql`pragma foreign_keys = on`.execute(db);
  } else {
    await db.transaction().execute(async (trx) => {
      await sql`set local session_replication_role = replica`.execute(trx);
      await sql`set local synchronous_commit = off`.execute(trx);
      await sql`
        insert into accounts (id, email, name, is_admin, created_at, disabled_at)
        select 'f0000000-0000-4000-8000-' || lpad(n::text, 12, '0'), 'filler' || n || '@bench.invalid',
               'filler ' || n, 0, ${now}::bigint, null
        from generate_series(0, ${accounts}::int - 1) as n`.execute(trx);
      await sql`
        insert into tokens (id, account_id, name, digest, last4, created_at, expires_at, revoked_at, last_used_at, last_used_ip)
        select lpad(to_hex(n), 8, '0') || '-0000-4000-8000-' || lpad(to_hex(n), 12, '0'),
               'f0000000-0000-4000-8000-' || lpad((n / ${PER_ACCOUNT}::int)::text, 12, '0'),
               'filler ' || n, d, 'xxxx', ${now}::bigint, ${expiresAt}::bigint,
               case when n % 10 = 0 then ${now}::bigint else null end, null, null
        from (
          select (row_number() over (order by d) - 1)::int as n, d
          from (select sha256(convert_to(g::text || ':' || random()::text, 'UTF8')) as d
                from generate_series(0, ${filler}::int - 1) as g) as random_digests
        ) as numbered
        order by n`.execute(trx);
    });
  }
}

/**
 * Marks the load tokens as used a moment ago, as on a busy server. Done before each measured run so
 * the once-a-minute `last_used_at` write per token (docs/security.md, item 24; bounded by
 * docs/performance.md, P9) does not land, a thousand writes at once, inside some measured windows
 * and not others.
 */
export async function markLoadTokensUsed(databaseUrl, accountIds) {
  const database = openDatabase(databaseUrl);
  try {
    await rawKysely(database)
      .updateTable('tokens')
      .set({ last_used_at: Date.now(), last_used_ip: '127.0.0.1' })
      .where('account_id', 'in', accountIds)
      .execute();
  } finally {
    await database.close();
  }
}

/** Runs a callback with the Kysely handle of a database (bench bookkeeping: triggers, counts). */
export async function withDatabase(databaseUrl, callback) {
  const database = openDatabase(databaseUrl);
  try {
    return await callback(rawKysely(database), database.dialect);
  } finally {
    await database.close();
  }
}
