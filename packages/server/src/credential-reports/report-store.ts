import type { AuditEventInput } from '../audit/audit-event.js';
import type { NoticeInput } from '../notices/notice.js';
import type { TokenRecord } from '../tokens/token.js';

/** Revoking tokens reported as leaked (docs/security.md, item 35). */
export interface ReportStore {
  /**
   * Revokes the reported tokens, in one transaction: every listed digest whose token is neither
   * revoked nor expired by the database clock is revoked at `revokedAt`, gets the audit event
   * `auditFor(token)`, and each owner of at least one such token gets one notice,
   * `noticeFor(accountId, theirTokens)`. Unknown, revoked and expired digests are ignored without
   * a trace. Concurrent reports of one token revoke it once (one audit event, one notice).
   * Returns the tokens this call revoked.
   */
  revokeReportedTokens(
    digests: readonly Buffer[],
    revokedAt: number,
    records: {
      auditFor(token: TokenRecord): AuditEventInput;
      noticeFor(accountId: string, tokens: readonly TokenRecord[]): NoticeInput;
    },
  ): Promise<TokenRecord[]>;
}
