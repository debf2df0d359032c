/** The idle rule's revocations: a batch of idle tokens revoked with their audit events and owners' notices. */
import { sql } from 'kysely';
import { writeWithAudit } from '../audit/kysely-audit-store.js';
import type { Database } from '../database/database.js';
import { noticeRow } from '../notices/kysely-notice-store.js';
import type { IdleTokenStore } from './idle-token-store.js';

export function createKyselyIdleTokenStore(database: Database): IdleTokenStore {
  return {
    revokeIdleTokens({ idleBefore, now, limit }, events) {
      // A revocation is an authentication change: the verified-token cache hears of it.
      return database.authenticationChanges.around(() =>
        writeWithAudit(database, async (trx) => {
          const rows = await trx
            .selectFrom('tokens')
            .select(['id', 'account_id', 'name', 'last4'])
            .where('revoked_at', 'is', null)
            .where('expires_at', '>', now)
            .where(sql<number>`coalesce(last_used_at, created_at)`, '<', idleBefore)
            .orderBy('id')
            .limit(limit)
            .$if(database.dialect === 'postgres', (query) => query.forUpdate().skipLocked())
            .execute();
          if (rows.length === 0) return { result: [], audit: null };
          const tokens = rows.map((row) => ({ id: row.id, accountId: row.account_id, name: row.name, last4: row.last4 }));
          await trx
            .updateTable('tokens')
            .set({ revoked_at: now })
            .where('id', 'in', tokens.map((token) => token.id))
            .where('revoked_at', 'is', null)
            .execute();
          const { audit, notices } = events(tokens);
          if (notices.length > 0) await trx.insertInto('notices').values(notices.map(noticeRow)).execute();
          return { result: tokens, audit };
        }),
      );
    },
  };
}
