import type { AuditEventInput } from '../audit/audit-event.js';
import type { CliGrantRecord, LoginFlowRecord, SignInLinkRecord } from './session.js';

/** The one-time secrets of sign-in, each under the SHA-256 of its secret and usable once. */
export interface SignInStore {
  /** Stores a sign-in link; with `audit` (an invite), the event is recorded in the same transaction. */
  insertSignInLink(digest: Buffer, link: SignInLinkRecord, audit?: AuditEventInput): Promise<void>;
  /**
   * Uses a sign-in link: atomically marks it used if it is unused and not expired by the
   * database clock, and returns its account id; otherwise undefined. Two concurrent uses of
   * one link cannot both succeed.
   */
  consumeSignInLink(digest: Buffer, usedAt: number): Promise<string | undefined>;
  insertLoginFlow(stateDigest: Buffer, flow: LoginFlowRecord): Promise<void>;
  /** Deletes and returns the flow for this state (so a callback can be completed once), if unexpired. */
  consumeLoginFlow(stateDigest: Buffer): Promise<LoginFlowRecord | undefined>;
  insertCliGrant(codeDigest: Buffer, grant: CliGrantRecord): Promise<void>;
  /** Atomically marks the grant used if unused and unexpired, and returns it; otherwise undefined. */
  consumeCliGrant(codeDigest: Buffer, usedAt: number): Promise<CliGrantRecord | undefined>;
  /*
   * Retention (docs/security.md, item 57): each deletes at most `limit` rows whose expiry is at
   * or before `expiredBy` (used or not: a used secret is dead already and goes when its short
   * life ends) and answers how many. Idempotent; callers on several instances may run them at
   * once (PostgreSQL: rows another caller is deleting are skipped, never waited for).
   */
  pruneExpiredSignInLinks(expiredBy: number, limit: number): Promise<number>;
  pruneExpiredLoginFlows(expiredBy: number, limit: number): Promise<number>;
  pruneExpiredCliGrants(expiredBy: number, limit: number): Promise<number>;
}
