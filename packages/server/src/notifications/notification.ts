/**
 * The notification channel's vocabulary: which email a lifecycle event becomes, what it says
 * about the token, and who receives it.
 */
import type { NotificationPreferences } from '@latchkey/contract';

/** The emails there are, each under one of the account's switches. */
export type EmailKind = 'expiry' | 'revoked_by_admin' | 'revoked_leaked' | 'ip_refused' | 'new_address';

export const EMAIL_PREFERENCE: Record<EmailKind, keyof NotificationPreferences> = {
  expiry: 'expiry',
  revoked_by_admin: 'revoked',
  revoked_leaked: 'revoked',
  ip_refused: 'ipRefused',
  new_address: 'newAddress',
};

/** What an email says about its token: never the secret (only its last four characters). */
export interface TokenFacts {
  id: string;
  name: string;
  /** Where the token is used, as its owner wrote it. */
  note: string | null;
  last4: string;
  expiresAt: number;
  accountId: string;
  /** The token belongs to a service account (its page is the administrators'). */
  serviceAccount: boolean;
  /** The service account's name, for a service account's token. */
  serviceAccountName: string | null;
  /** Revoked, or replaced by rotation: no expiry warning is due any more. */
  retired: boolean;
}

/** Who receives a token's emails and whose switches decide: the owner, or the administrator who created the service account. */
export interface Recipient {
  accountId: string;
  email: string;
}

/** A token with the people its emails may go to. */
export interface TokenRecipients {
  token: TokenFacts;
  owner: { id: string; email: string | null; disabled: boolean };
  /** For a service account's token: the administrator who created it, if still there. */
  creator: { id: string; email: string | null; disabled: boolean } | null;
}

/** An email decided on, by what it is about: the same key is never sent twice. */
export interface EmailDecision {
  key: string;
  kind: EmailKind;
  tokenId: string;
  /** Expiry emails: `30d`, `7d`, `1d` or `0d`. */
  threshold?: string;
  /** Allowlist refusals and new addresses: the client address. */
  ip?: string;
  occurredAt: number;
}

/** How a decided email ended, as recorded in `email_notifications`. */
export type EmailOutcome = 'sent' | 'skipped' | 'no_recipient';
