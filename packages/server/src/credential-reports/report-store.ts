import type { AuditEventInput } from '../audit/audit-event.js';
import type { NoticeInput } from '../notices/notice.js';
import type { TokenRecord } from '../tokens/token.js';

/** A leaked-token report as stored before its 202: digests only, never a token. */
export interface PendingReport {
  id: string;
  receivedAt: number;
  reporterIp: string | null;
  /** SHA-256 digests of the reported strings that passed the token checksum; may be empty. */
  digests: Buffer[];
  /** Attempts so far, this claim included. */
  attempts: number;
}

/** What processing writes for each revoked token and each owner. */
export interface ReportRecords {
  auditFor(token: TokenRecord): AuditEventInput;
  noticeFor(accountId: string, tokens: readonly TokenRecord[]): NoticeInput;
}

/** Leaked-token reports (docs/security.md, items 35 and 59): stored, claimed, processed. */
export interface ReportStore {
  /**
   * Stores a report as pending, due at once: one INSERT whatever the digests are (their number
   * and whether they name live tokens change nothing but a bound value). Durable once it
   * resolves; StoreUnavailableError when the database cannot take it.
   */
  insertPendingReport(report: { id: string; receivedAt: number; reporterIp: string | null; digests: readonly Buffer[] }): Promise<void>;

  /**
   * Claims the oldest report due at `now`, in one statement: its next attempt moves to
   * `leaseUntil` and its attempt count goes up. Two claimers never get the same report while the
   * lease runs (PostgreSQL: the row is picked FOR UPDATE SKIP LOCKED); a claimer that dies leaves
   * the report due again at `leaseUntil`. Undefined when none is due.
   */
  claimPendingReport(now: number, leaseUntil: number): Promise<PendingReport | undefined>;

  /**
   * Processes a report in one transaction: deletes it from the pending reports and, only if this
   * call deleted it, revokes its tokens as `revokeReportedTokens` does. Returns the tokens revoked,
   * or null when the report was no longer pending (already processed, here or by another instance,
   * whose lease had run out): nothing is written then, so no token is revoked and no notice sent twice.
   */
  processPendingReport(report: PendingReport, revokedAt: number, records: ReportRecords): Promise<TokenRecord[] | null>;

  /**
   * When a pending report is next due, in one statement: the earliest next attempt of any report
   * (a new one's is its receipt, a failed one's its retry, a claimed one's its lease end).
   * Undefined when nothing is pending. The worker sleeps until then instead of polling.
   */
  nextDueAt(): Promise<number | undefined>;

  /** After a failed attempt: the report is next due at `nextAttemptAt`. Nothing if it is gone. */
  postponePendingReport(id: string, nextAttemptAt: number): Promise<void>;

  /**
   * Revokes the reported tokens, in one transaction: every listed digest whose token is neither
   * revoked nor expired by the database clock is revoked at `revokedAt`, gets the audit event
   * `auditFor(token)`, and each owner of at least one such token gets one notice,
   * `noticeFor(accountId, theirTokens)`. Unknown, revoked and expired digests are ignored without
   * a trace. Concurrent reports of one token revoke it once (one audit event, one notice).
   * Returns the tokens this call revoked.
   */
  revokeReportedTokens(digests: readonly Buffer[], revokedAt: number, records: ReportRecords): Promise<TokenRecord[]>;
}
