import type { Transaction } from 'kysely';
import { writeWithAudit } from '../audit/kysely-audit-store.js';
import type { AuditEventInput } from '../audit/audit-event.js';
import { chunks } from '../database/chunks.js';
import type { Database } from '../database/database.js';
import { TOKEN_COLUMNS, type Tables } from '../database/schema.js';
import { noticeRow } from '../notices/kysely-notice-store.js';
import type { TokenRecord } from '../tokens/token.js';
import { toToken } from '../tokens/kysely-token-rows.js';
import type { PendingReport, ReportRecords, ReportStore } from './report-store.js';

const DIGEST_BYTES = 32;
const PENDING_REPORT_COLUMNS = ['id', 'received_at', 'reporter_ip', 'digests', 'attempts'] as const;

/**
 * Between the statements of a long report: lets requests waiting on the event loop run (on
 * SQLite every statement blocks it). Other writes still wait for the transaction to end.
 */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export function createKyselyReportStore(database: Database): ReportStore {
  const { kysely } = database;

  /** The revoke, its audit events and the owners' notices, inside the caller's transaction. */
  async function revokeIn(
    trx: Transaction<Tables>,
    digests: readonly Buffer[],
    revokedAt: number,
    records: ReportRecords,
  ): Promise<{ revoked: TokenRecord[]; audit: AuditEventInput[] }> {
    const revoked: TokenRecord[] = [];
    // One conditional UPDATE … RETURNING per chunk: the "not yet revoked" test and the write
    // are one statement, so two reports racing for a token cannot both revoke it.
    for (const chunk of chunks(digests)) {
      await yieldToEventLoop();
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
    return { revoked, audit: revoked.map((token) => records.auditFor(token)) };
  }

  return {
    async insertPendingReport(report) {
      await kysely
        .insertInto('pending_credential_reports')
        .values({
          id: report.id,
          received_at: report.receivedAt,
          reporter_ip: report.reporterIp,
          digests: Buffer.concat(report.digests),
          attempts: 0,
          next_attempt_at: report.receivedAt,
        })
        .execute();
    },

    async claimPendingReport(now, leaseUntil) {
      const due = kysely
        .selectFrom('pending_credential_reports')
        .select('id')
        .where('next_attempt_at', '<=', now)
        .orderBy('next_attempt_at')
        .orderBy('id')
        .limit(1)
        // SQLite runs one write at a time, so its UPDATE is already the only claimer.
        .$if(database.dialect === 'postgres', (query) => query.forUpdate().skipLocked());
      const row = await kysely
        .updateTable('pending_credential_reports')
        .set((eb) => ({ next_attempt_at: leaseUntil, attempts: eb('attempts', '+', 1) }))
        .where('id', '=', due)
        .where('next_attempt_at', '<=', now)
        .returning(PENDING_REPORT_COLUMNS)
        .executeTakeFirst();
      if (!row) return undefined;
      const digests: Buffer[] = [];
      for (let offset = 0; offset + DIGEST_BYTES <= row.digests.length; offset += DIGEST_BYTES) {
        digests.push(row.digests.subarray(offset, offset + DIGEST_BYTES));
      }
      return {
        id: row.id,
        receivedAt: Number(row.received_at),
        reporterIp: row.reporter_ip,
        digests,
        attempts: Number(row.attempts),
      } satisfies PendingReport;
    },

    processPendingReport(report, revokedAt, records) {
      return database.authenticationChanges.around(() =>
        writeWithAudit(database, async (trx) => {
          // First, and in the same transaction: of two instances holding the report, the second
          // waits for the first's commit here and then finds nothing to delete.
          const pending = await trx.deleteFrom('pending_credential_reports').where('id', '=', report.id).returning('id').executeTakeFirst();
          if (!pending) return { result: null, audit: null };
          const { revoked, audit } = await revokeIn(trx, report.digests, revokedAt, records);
          return { result: revoked, audit };
        }),
      );
    },

    async nextDueAt() {
      // The minimum over the next_attempt_at index: one index read, whatever is pending.
      const row = await kysely
        .selectFrom('pending_credential_reports')
        .select((eb) => eb.fn.min('next_attempt_at').as('at'))
        .executeTakeFirst();
      return row?.at === null || row?.at === undefined ? undefined : Number(row.at);
    },

    async postponePendingReport(id, nextAttemptAt) {
      await kysely.updateTable('pending_credential_reports').set({ next_attempt_at: nextAttemptAt }).where('id', '=', id).execute();
    },

    async revokeReportedTokens(digests, revokedAt, records) {
      if (digests.length === 0) return [];
      return database.authenticationChanges.around(() =>
        writeWithAudit(database, async (trx) => {
          const { revoked, audit } = await revokeIn(trx, digests, revokedAt, records);
          return { result: revoked, audit };
        }),
      );
    },
  };
}
