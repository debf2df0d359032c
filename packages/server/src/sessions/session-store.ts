import type { AuditEventInput } from '../audit/audit-event.js';
import type { SessionForAuth, SessionRecord } from './session.js';

/** Where console sessions are kept: under the SHA-256 of their id, never the id itself. */
export interface SessionStore {
  /**
   * Stores a session. With `signIn`, in the same transaction: the session the browser arrived
   * with (`replacing`) is ended, the account's last sign-in is noted and the sign-in audited —
   * all of it happens, or none.
   */
  insertSession(
    idDigest: Buffer,
    session: SessionRecord,
    signIn?: { replacing: Buffer | undefined; audit: AuditEventInput },
  ): Promise<void>;
  /** The session joined to its account, with the database clock. */
  findSessionForAuth(idDigest: Buffer): Promise<SessionForAuth | undefined>;
  /** Moves `lastSeenAt` forward (idle expiry). */
  touchSession(idDigest: Buffer, lastSeenAt: number): Promise<void>;
  /** Deletes one session; true when it existed. */
  deleteSession(idDigest: Buffer): Promise<boolean>;
  /**
   * Retention (docs/security.md, item 57): deletes at most `limit` sessions that have ended,
   * past their absolute expiry (`expiresAt ≤ expiredBy`) or idle (`lastSeenAt ≤ idleSince`), and
   * answers how many. Idempotent; callers on several instances may run it at once (PostgreSQL:
   * rows another caller is deleting are skipped, never waited for).
   */
  pruneEndedSessions(cutoffs: { expiredBy: number; idleSince: number }, limit: number): Promise<number>;
}
