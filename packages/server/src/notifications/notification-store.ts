import type { NotificationPreferences } from '@latchkey/contract';
import type { EmailKind, EmailOutcome, TokenRecipients } from './notification.js';

export interface NotificationStore {
  /** The account's switches, or undefined when it never saved any (the defaults apply). */
  findPreferences(accountId: string): Promise<NotificationPreferences | undefined>;
  /** Inserts or replaces the account's switches. */
  savePreferences(accountId: string, preferences: NotificationPreferences, now: number): Promise<void>;
  /** The account's email address (null when it has none), or undefined when there is no such account. */
  findAccountEmail(accountId: string): Promise<string | null | undefined>;
  /**
   * The token's facts for an email and the people it may go to: its owner and, for a service
   * account's token, the administrator who created the service account. Undefined when the
   * token no longer exists.
   */
  findTokenRecipients(tokenId: string): Promise<TokenRecipients | undefined>;
  /**
   * Claims the email `key` for the job `jobId`, atomically: true when this job holds it (just
   * claimed, or claimed by this same job earlier and not yet settled — a retry), false when
   * another job holds it or it was settled. Only the holder sends.
   */
  claimEmail(claim: { key: string; jobId: string; kind: EmailKind; tokenId: string; now: number }): Promise<boolean>;
  /** Records how a claimed email ended (and for whom); only the holding job's claim is settled. */
  settleEmail(key: string, jobId: string, outcome: EmailOutcome, accountId: string | null, now: number): Promise<void>;
  /** The outcomes recorded for a token's emails, oldest first (tests, support). */
  listEmailOutcomes(tokenId: string): Promise<Array<{ key: string; kind: string; state: string }>>;
  /**
   * Whether the token was used from `ip` before (its recent addresses, token_addresses) and
   * whether it was used from any address at all.
   */
  findTokenAddress(tokenId: string, ip: string): Promise<{ known: boolean; usedBefore: boolean }>;
}
