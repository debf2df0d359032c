import { writeWithAudit } from '../audit/kysely-audit-store.js';
import { chunks } from '../database/chunks.js';
import type { Database } from '../database/database.js';
import { TOKEN_COLUMNS } from '../database/schema.js';
import { noticeRow } from '../notices/kysely-notice-store.js';
import type { TokenRecord } from '../tokens/token.js';
import { toToken } from '../tokens/kysely-token-rows.js';
import type { ReportStore } from './report-store.js';

export function createKyselyReportStore(database: Database): ReportStore {
  return {
    async revokeReportedTokens(digests, revokedAt, records) {
      if (digests.length === 0) return [];
      return database.authenticationChanges.around(() =>
        writeWithAudit(database, async (trx) => {
          const revoked: TokenRecord[] = [];
          // One conditional UPDATE … RETURNING per chunk: the "not yet revoked" test and the write
          // are one statement, so two reports racing for a token cannot both revoke it.
          for (const chunk of chunks(digests)) {
            const rows = await trx
              .updateTable('tokens')
              .set({ revoked_at: revokedAt })
              .where('digest', 'in', chunk)
              .where('revoked_at', 'is', null)
              .where('expires_at', '>', database.nowSql)
              .returning(TOKEN_COLUMNS)
              .execute();
            revoked.push(...rows.map(toToken));
          }
          const byOwner = new Map<string, TokenRecord[]>();
          for (const token of revoked) {
            const tokens = byOwner.get(token.accountId);
            if (tokens) tokens.push(token);
            else byOwner.set(token.accountId, [token]);
          }
          const notices = [...byOwner].map(([accountId, tokens]) => noticeRow(records.noticeFor(accountId, tokens)));
          for (const chunk of chunks(notices)) await trx.insertInto('notices').values(chunk).execute();
          return { result: revoked, audit: revoked.map((token) => records.auditFor(token)) };
        }),
      );
    },
  };
}
