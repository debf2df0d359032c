/**
 * Sessions in the `sessions` table. The lookup every console request makes is compiled once
 * and run on the hot-query path (database/hot-query.ts), as the token lookup is.
 */
import type { CompiledQuery, InferResult } from 'kysely';
import { OWNER_PREFIX, toOwner } from '../accounts/kysely-account-store.js';
import { writeWithAudit } from '../audit/kysely-audit-store.js';
import type { Database } from '../database/database.js';
import { ACCOUNT_COLUMNS, SESSION_COLUMNS, prefixed, qualified } from '../database/schema.js';
import type { SessionStore } from './session-store.js';

function sessionForAuthQuery(database: Database) {
  return database.kysely
    .selectFrom('sessions as s')
    .innerJoin('accounts as a', 'a.id', 's.account_id')
    .select([...qualified('s', SESSION_COLUMNS), ...prefixed('a', ACCOUNT_COLUMNS, OWNER_PREFIX)])
    .select(database.nowSql.as('db_now'))
    .where('s.id_digest', '=', Buffer.alloc(32));
}

type SessionForAuthRow = InferResult<ReturnType<typeof sessionForAuthQuery>>[number];

export function createKyselySessionStore(database: Database): SessionStore {
  const { kysely } = database;
  const lookup: CompiledQuery<SessionForAuthRow> = sessionForAuthQuery(database).compile();

  return {
    insertSession(idDigest, session, signIn) {
      return writeWithAudit(database, async (trx) => {
        if (signIn?.replacing) await trx.deleteFrom('sessions').where('id_digest', '=', signIn.replacing).execute();
        await trx
          .insertInto('sessions')
          .values({
            id_digest: idDigest,
            account_id: session.accountId,
            csrf_token: session.csrfToken,
            created_at: session.createdAt,
            last_seen_at: session.lastSeenAt,
            expires_at: session.expiresAt,
          })
          .execute();
        if (signIn) {
          await trx.updateTable('accounts').set({ last_sign_in_at: session.createdAt }).where('id', '=', session.accountId).execute();
        }
        return { result: undefined, audit: signIn?.audit ?? null };
      });
    },

    async findSessionForAuth(idDigest) {
      const row = (await database.runHotQuery(lookup.sql, [idDigest])) as SessionForAuthRow | undefined;
      if (!row) return undefined;
      return {
        accountId: row.account_id,
        csrfToken: row.csrf_token,
        createdAt: Number(row.created_at),
        lastSeenAt: Number(row.last_seen_at),
        expiresAt: Number(row.expires_at),
        account: toOwner(row),
        dbNow: Number(row.db_now),
      };
    },

    async touchSession(idDigest, lastSeenAt) {
      await kysely.updateTable('sessions').set({ last_seen_at: lastSeenAt }).where('id_digest', '=', idDigest).execute();
    },

    async deleteSession(idDigest) {
      const result = await kysely.deleteFrom('sessions').where('id_digest', '=', idDigest).executeTakeFirst();
      return result.numDeletedRows > 0n;
    },

    async pruneEndedSessions({ expiredBy, idleSince }, limit) {
      // A bounded batch by key: PostgreSQL has no DELETE … LIMIT (nor SQLite as built).
      const result = await kysely
        .deleteFrom('sessions')
        .where('id_digest', 'in', (eb) =>
          eb
            .selectFrom('sessions')
            .select('id_digest')
            .where((w) => w.or([w('expires_at', '<=', expiredBy), w('last_seen_at', '<=', idleSince)]))
            .limit(limit)
            .$if(database.dialect === 'postgres', (q) => q.forUpdate().skipLocked()),
        )
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
