import type { AuditEventInput } from '../audit/audit-event.js';
import type { NoticeInput } from '../notices/notice.js';
import type { AllTokensFilter, NewToken, RotationRefusal, TokenAddress, TokenAndOwner, TokenForAuth, TokenListFilter, TokenRecord, TokenWithOwner } from './token.js';

/** Where tokens are kept: by digest only; revocation and its audit event in one transaction. */
export interface TokenStore {
  /**
   * Inserts a token and its audit event atomically, enforcing both per-account rules inside
   * the transaction: the name is unique among the account's non-revoked tokens, and the account
   * holds fewer than `maxActive` non-revoked tokens. Either failure throws StoreConflictError
   * (`token_name_taken` or `token_limit_reached`) and writes nothing.
   */
  insertToken(token: NewToken, limits: { maxActive: number }, audit: AuditEventInput): Promise<void>;
  /** One indexed lookup by digest, joined to the owner account, with the database clock. */
  findTokenForAuth(digest: Buffer): Promise<TokenForAuth | undefined>;
  /**
   * While this store holds verified tokens in memory (SQLite's cache, not bypassed): a function
   * answering what `findTokenForAuth` would answer from memory, without I/O, for each digest —
   * the cached row, undefined where the cache does not hold it — and the database clock. One
   * check for commits made elsewhere covers the batch, so every request it answers must have
   * been received before the call. The rows are the cache's own objects: read them, never change
   * them. Undefined without a cache (PostgreSQL: every lookup is exact), so callers need not even
   * hash for it.
   */
  verifiedTokenPeek?(): ((digests: readonly Buffer[]) => { rows: Array<TokenAndOwner | undefined>; dbNow: number }) | undefined;
  /** A token of this account (revoked ones included), or undefined — also for another's id. */
  findToken(accountId: string, tokenId: string): Promise<TokenRecord | undefined>;
  /** The account's tokens, newest first, filtered by state against the database clock. */
  listTokens(accountId: string, filter: TokenListFilter): Promise<{ tokens: TokenRecord[]; dbNow: number }>;
  /**
   * Revokes a non-revoked token of this account, with its audit event, in one transaction.
   * Returns false (and writes nothing) when there is no such token, it belongs to another
   * account, or it is already revoked — so a repeat is harmless and reports "not found".
   * With `notice` (an administrator's revoke), the owner's notice is written in the same transaction.
   */
  revokeToken(accountId: string, tokenId: string, revokedAt: number, audit: AuditEventInput, notice?: NoticeInput): Promise<boolean>;
  /**
   * Replaces a current token of this account by `replacement` in one transaction, with its audit
   * event: the old row gets `replaced_by`, `rotated_at` and `grace_until`, and its expiry is
   * shortened to the grace end — with no grace, to the database clock read in the transaction, so
   * the old secret is refused by every instance when this returns. Refuses (writing nothing) a
   * token that is missing or another account's, already replaced, revoked or expired (against the
   * database clock). Announced as an authentication change; a revocation-feed event is written
   * by trigger.
   */
  rotateToken(
    accountId: string,
    tokenId: string,
    replacement: NewToken,
    rotation: { rotatedAt: number; graceMs: number },
    audit: (graceUntil: number) => AuditEventInput,
  ): Promise<{ rotated: TokenRecord } | { refused: RotationRefusal }>;
  /**
   * Records `uses` uses of a replaced token's secret (during its grace window) with its last use,
   * added to its count since the rotation.
   */
  recordRotatedTokenUses(tokenId: string, uses: number, usedAt: number, ip: string | null): Promise<void>;
  /** A token of any account (revoked ones included), or undefined. */
  findAnyToken(tokenId: string): Promise<TokenRecord | undefined>;
  /** A page of every account's tokens with their owners, newest first (created_at desc, id), after `filter.after`. */
  listAllTokens(filter: AllTokensFilter): Promise<{ tokens: TokenWithOwner[]; dbNow: number }>;
  /**
   * Records a use, at most once per `minIntervalMs` per token: the row is written only when its
   * `lastUsedAt` is null or older than `usedAt - minIntervalMs`. Returns whether it wrote.
   */
  touchTokenLastUsed(tokenId: string, usedAt: number, ip: string | null, minIntervalMs: number): Promise<boolean>;
  /** Records a use from `ip` among the token's recent distinct addresses (the last five are kept). */
  recordTokenAddress(tokenId: string, ip: string, usedAt: number): Promise<void>;
  /** The token's recent distinct addresses, most recent first. */
  listTokenAddresses(tokenId: string, limit: number): Promise<TokenAddress[]>;
  /** The database clock, in epoch milliseconds. */
  now(): Promise<number>;
}
