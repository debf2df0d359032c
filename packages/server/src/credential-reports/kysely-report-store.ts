import { writeWithAudit } from '../audit/kysely-audit-store.js';
import type { Database } from '../database/database.js';
import { TOKEN_COLUMNS } from '../database/schema.js';
import { noticeRow } from '../notices/kysely-notice-store.js';
import type { TokenRecord } from '../tokens/token.js';
import { toToken } from '../tokens/kysely-token-rows.js';
import type { ReportStore } from './report-store.js';

/** Digests per statement, and rows per multi-row insert: far below every driver's parameter limit. */
const CHUNK = 500;

export function createKyselyReportStore(database: Database): ReportStore {
  return {
    async revokeReportedTokens(digests, revokedAt, records) {
      if (digests.length === 0) return [];
      return database.authenticationChanges.around(() =>
        writeWithAudit(database, async (trx) => {
          const revoked: TokenRecord[] = [];
          // One conditional UPDATE … RETURNING per chunk: the "not yet revoked" test and the write
          // are one statement, so two reports racing for a token cannot both revoke it.
          for (let start = 0; start < digests.length; start += CHUNK) {
            const rows = await trx
              .updateTable('tokens')
              .set({ revoked_at: revokedAt })
              .where('digest', 'in', digests.slice(start, start + CHUNK))
              .where('revoked_at', 'is', null)
              .where('expires_at', '>', database.nowSql)
              .returning(TOKEN_COLUMNS)
              .execute();
            revoked.push(...rows.map(toToken));
          }
          const byOwner = new Map<string, TokenRecord[]>();
          for (const token of revoked) byOwner.set(token.accountId, [...(byOwner.get(token.accountId) ?? []), token]);
          const notices = [...byOwner].map(([accountId, tokens]) => noticeRow(records.noticeFor(accountId, tokens)));
          for (let start = 0; start < notices.length; start += CHUNK) {
            await trx.insertInto('notices').values(notices.slice(start, start + CHUNK)).execute();
          }
          return { result: revoked, audit: revoked.map((token) => records.auditFor(token)) };
        }),
      );
    },
  };
}
