/** Console sessions and the sign-in flows that start them, as stored: by digest, never the secret. */
import type { AccountRecord } from '../accounts/account.js';

export interface SessionRecord {
  accountId: string;
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
}

export interface SessionForAuth extends SessionRecord {
  account: AccountRecord;
  /** The database clock at lookup time. */
  dbNow: number;
}

/** A one-time sign-in link, stored under the SHA-256 of its secret. */
export interface SignInLinkRecord {
  accountId: string;
  createdAt: number;
  expiresAt: number;
}

/** An OpenID Connect sign-in in progress, stored under the SHA-256 of its `state`. */
export interface LoginFlowRecord {
  /** SHA-256 of the random value in the browser's flow cookie: binds the flow to that browser. */
  browserDigest: Buffer;
  codeVerifier: string;
  nonce: string;
  returnTo: string;
  createdAt: number;
  expiresAt: number;
}

/** A CLI browser login a user approved, stored under the SHA-256 of its one-time code. */
export interface CliGrantRecord {
  accountId: string;
  codeChallenge: string;
  redirectUri: string;
  clientName: string;
  createdAt: number;
  expiresAt: number;
}
