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
}
