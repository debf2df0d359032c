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
  /** The token this one replaced by rotation (absent or null: none). */
  rotatedFrom?: string | null;
  /** The token that replaced this one by rotation; its secret works until `graceUntil`. */
  replacedBy?: string | null;
  rotatedAt?: number | null;
  /** The end of the grace window: `expiresAt` was shortened to it at the rotation. */
  graceUntil?: number | null;
  /** Uses of this token's secret since it was replaced (written with its last use). */
  rotationUses?: number;
}

/** What a rotation does to the old token, and why it may be refused. */
export type RotationRefusal = 'not_found' | 'rotated' | 'revoked' | 'expired';

/** A token to insert: the record and the SHA-256 of its secret. */
export interface NewToken extends TokenRecord {
  digest: Buffer;
}

/** A token found by digest and its owner: what authentication decides from. */
export interface TokenAndOwner extends TokenRecord {
  account: AccountRecord;
}

/** A token found by digest, with what authentication needs to decide in one round trip. */
export interface TokenForAuth extends TokenAndOwner {
  /** The database clock at lookup time. */
  dbNow: number;
}

export interface TokenListFilter {
  /** `unrevoked` (the default view) is active + expiring + expired. */
  state: 'active' | 'expiring' | 'rotating' | 'expired' | 'revoked' | 'all' | 'unrevoked';
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

/** Where a page of tokens (newest first: created_at desc, then id) continues: after this one. */
export interface TokenPosition {
  createdAt: number;
  id: string;
}

/** Every account's tokens, as the administration API filters them (against the database clock). */
export interface AllTokensFilter {
  /** Only this account's tokens. */
  ownerId?: string;
  state: TokenListFilter['state'];
  /** Only unrevoked tokens not yet expired that expire within this many milliseconds. */
  expiringWithinMs?: number;
  /** Only tokens whose last use (or, never used, creation) is at least this many milliseconds ago. */
  unusedForMs?: number;
  /** Only tokens holding one of these scopes (the scope asked for and the write scope including it). */
  anyOfScopes?: readonly TokenScope[];
  after?: TokenPosition;
  limit: number;
  expiringWindowMs: number;
}

/** A token with who owns it, for the administration API. */
export interface TokenWithOwner {
  token: TokenRecord;
  owner: { id: string; email: string | null; name: string | null };
}
