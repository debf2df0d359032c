/** A personal access token as stored: never the secret, only its digest and last four characters. */
import type { TokenScope } from '@latchkey/contract/scopes';
import type { AccountRecord } from '../accounts/account.js';

export interface TokenRecord {
  id: string;
  accountId: string;
  name: string;
  /** Where the token is used (trimmed, at most 200 characters), or null. */
  note: string | null;
  /** What it may do (docs/scopes.md), in TOKEN_SCOPES order. */
  scopes: TokenScope[];
  /** Namespace names or `prefix*` patterns it is restricted to; null: every namespace. */
  namespaces: string[] | null;
  /** Canonical addresses/CIDRs it may be used from; null: anywhere. */
  allowedIps: string[] | null;
  last4: string;
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
  lastUsedAt: number | null;
  lastUsedIp: string | null;
}

/** A token to insert: the record and the SHA-256 of its secret. */
export interface NewToken extends TokenRecord {
  digest: Buffer;
}

/** A token found by digest, with what authentication needs to decide in one round trip. */
export interface TokenForAuth extends TokenRecord {
  account: AccountRecord;
  /** The database clock at lookup time. */
  dbNow: number;
}

export interface TokenListFilter {
  /** `unrevoked` (the default view) is active + expiring + expired. */
  state: 'active' | 'expiring' | 'expired' | 'revoked' | 'all' | 'unrevoked';
  /** Case-insensitive substring of the name; no wildcards. */
  search?: string;
  /** The width of the "expiring" window. */
  expiringWindowMs: number;
}

/** A distinct address a token was used from, and when last. */
export interface TokenAddress {
  ip: string;
  lastUsedAt: number;
}
