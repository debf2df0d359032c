/**
 * The SQLite fast path (docs/performance.md, P1): the token lookups of this process, kept in
 * memory so a repeat request costs a hash and a Map lookup instead of a database read.
 *
 * It must never weaken the revocation promise (a token revoked is refused as soon as the DELETE
 * returns; docs/security.md, item 32), so invalidation is exact rather than timed:
 * - every write that can change an authentication decision (a revoke, an account disabled,
 *   enabled or deleted, an account's details changed) announces itself once it has committed
 *   (database/authentication-changes.ts), and the whole cache is cleared. Such writes are rare
 *   next to lookups, so clearing everything costs little and leaves no per-entry bookkeeping to
 *   get wrong;
 * - a commit by any other connection (another process on the same file, or an operator's
 *   sqlite3 shell) changes SQLite's `PRAGMA data_version` on our connection, which is read
 *   before every cached answer, so it clears the cache too;
 * - a lookup that was in flight while the cache was cleared is not stored (a generation count),
 *   so a stale row read before a commit cannot slip back in after it;
 * - expiry needs no invalidation: the cached row keeps `expires_at`, and the decision is taken
 *   against the clock at answer time, which on SQLite is the host clock the database uses.
 *
 * Raw SQL through `rawKysely()` bypasses all of this, so handing out the raw handle turns the
 * cache off for good (see kysely-token-store.ts).
 */
import type { TokenAndOwner, TokenForAuth } from './token.js';

export interface VerifiedTokenCacheOptions {
  /** Bound on entries; the oldest entry is dropped first when full. */
  maxEntries: number;
  /** SQLite's `PRAGMA data_version` on the writing connection: changes on foreign commits. */
  foreignCommitVersion: () => number;
  /** The clock the database itself uses for `dbNow` (the host clock, for SQLite). */
  now?: () => number;
}

export const DEFAULT_TOKEN_CACHE_ENTRIES = 10_000;


export class VerifiedTokenCache {
  private readonly entries = new Map<string, TokenAndOwner>();
  /** Token id → its entry's key, for the per-token updates. */
  private readonly keysById = new Map<string, string>();
  private generation = 0;
  private knownVersion: number;
  private readonly now: () => number;

  constructor(private readonly options: VerifiedTokenCacheOptions) {
    this.knownVersion = options.foreignCommitVersion();
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * The cached lookup for this digest, or `load`'s answer (stored when found). Answers carry
   * `dbNow` as of this call.
   */
  async find(digest: Buffer, load: () => Promise<TokenForAuth | undefined>): Promise<TokenForAuth | undefined> {
    this.checkForeignCommits();
    const key = digest.toString('latin1');
    const cached = this.entries.get(key);
    if (cached) return { ...cached, account: cached.account, dbNow: this.now() };

    const generation = this.generation;
    const found = await load();
    this.checkForeignCommits();
    if (found && generation === this.generation) {
      if (this.entries.size >= this.options.maxEntries) {
        const oldest = this.entries.entries().next().value!;
        this.entries.delete(oldest[0]);
        this.keysById.delete(oldest[1].id);
      }
      const { dbNow: _dbNow, ...row } = found;
      this.entries.set(key, row);
      this.keysById.set(row.id, key);
    }
    return found;
  }

  /**
   * The cached rows for these digests (undefined where not cached) and the clock now, without
   * I/O but one check for foreign commits, made now: it covers lookups asked for by requests
   * that were all received before this call. The rows are the cache's own objects, kept while
   * they stay valid: read them, never change them. (The fast path presents them, and keys what it
   * derives from them by the row's identity.)
   */
  peekAll(digests: readonly Buffer[]): { rows: Array<TokenAndOwner | undefined>; dbNow: number } {
    this.checkForeignCommits();
    return { rows: digests.map((digest) => this.entries.get(digest.toString('latin1'))), dbNow: this.now() };
  }

  /** After a `last_used_at` write: keep the cached row in step, so the write is not repeated. */
  recordUse(tokenId: string, usedAt: number, ip: string | null): void {
    const row = this.entryOf(tokenId);
    if (row) {
      row.lastUsedAt = usedAt;
      row.lastUsedIp = ip;
    }
  }

  /** Forgets one token (its row changed in a way the cache cannot mirror). */
  forget(tokenId: string): void {
    const key = this.keysById.get(tokenId);
    if (key === undefined) return;
    this.entries.delete(key);
    this.keysById.delete(tokenId);
  }

  /** Drops every entry; lookups in flight are not stored. Call after the write commits. */
  clear(): void {
    this.generation += 1;
    this.entries.clear();
    this.keysById.clear();
  }

  private entryOf(tokenId: string): TokenAndOwner | undefined {
    const key = this.keysById.get(tokenId);
    return key === undefined ? undefined : this.entries.get(key);
  }

  private checkForeignCommits(): void {
    const version = this.options.foreignCommitVersion();
    if (version !== this.knownVersion) {
      this.knownVersion = version;
      this.clear();
    }
  }
}
