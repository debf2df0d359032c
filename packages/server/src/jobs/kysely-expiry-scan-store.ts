import type { Database } from '../database/database.js';
import type { ExpiryScanStore } from './expiry-scan-store.js';

export function createKyselyExpiryScanStore(database: Database): ExpiryScanStore {
  const { kysely } = database;
  return {
    async listTokensExpiringBetween(after, until, afterId, limit) {
      const rows = await kysely
        .selectFrom('tokens')
        .select(['id', 'account_id', 'created_at', 'expires_at'])
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', after)
        .where('expires_at', '<=', until)
        .$if(afterId !== null, (query) => query.where('id', '>', afterId!))
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows.map((row) => ({ id: row.id, accountId: row.account_id, createdAt: Number(row.created_at), expiresAt: Number(row.expires_at) }));
    },
  };
}
