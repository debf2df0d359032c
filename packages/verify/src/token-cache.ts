/**
 * The verifier's positive cache: tokens introspection found active, by the SHA-256 of the secret
 * (never the secret itself), bounded (least recently used out first), each entry dropped at its
 * time-to-live, at the token's expiry, and when the revocation stream names its token or account.
 */
import { createHash } from 'node:crypto';

export interface ActiveToken {
  accountId: string;
  email: string | null;
  tokenId: string;
  scopes: string[];
  /** The namespace restriction; null: every namespace. */
  namespaces: string[] | null;
  /** The IP allowlist; null: from anywhere. */
  allowedIps: string[] | null;
  /** Epoch milliseconds. */
  expiresAtMs: number;
}

interface Entry {
  token: ActiveToken;
  /** When this entry stops being used (the TTL, or the token's expiry if sooner). */
  staleAtMs: number;
}

/** The cache key of a secret: its SHA-256, base64url. */
export function secretDigest(secret: string): string {
  return createHash('sha256').update(secret, 'latin1').digest('base64url');
}

export class TokenCache {
  /** Map order is the recency order: the first key is the least recently used. */
  readonly #entries = new Map<string, Entry>();
  readonly #byToken = new Map<string, string>();
  readonly #byAccount = new Map<string, Set<string>>();

  constructor(
    readonly capacity: number,
    readonly ttlMs: number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError('cacheSize must be a whole number ≥ 0');
    if (!(ttlMs >= 0)) throw new RangeError('cacheTtlMs must be ≥ 0');
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The cached token for this digest, unless it is stale at `nowMs`. */
  get(digest: string, nowMs: number): ActiveToken | undefined {
    const entry = this.#entries.get(digest);
    if (!entry) return undefined;
    if (nowMs >= entry.staleAtMs) {
      this.#delete(digest);
      return undefined;
    }
    this.#entries.delete(digest);
    this.#entries.set(digest, entry);
    return entry.token;
  }

  set(digest: string, token: ActiveToken, nowMs: number): void {
    if (this.capacity === 0) return;
    this.#delete(digest);
    const staleAtMs = Math.min(nowMs + this.ttlMs, token.expiresAtMs);
    if (staleAtMs <= nowMs) return;
    this.#entries.set(digest, { token, staleAtMs });
    this.#byToken.set(token.tokenId, digest);
    let digests = this.#byAccount.get(token.accountId);
    if (!digests) this.#byAccount.set(token.accountId, (digests = new Set()));
    digests.add(digest);
    while (this.#entries.size > this.capacity) this.#delete(this.#entries.keys().next().value as string);
  }

  /** Drops the token with this id, if cached. */
  dropToken(tokenId: string): void {
    const digest = this.#byToken.get(tokenId);
    if (digest !== undefined) this.#delete(digest);
  }

  /** Drops every cached token of this account. */
  dropAccount(accountId: string): void {
    for (const digest of [...(this.#byAccount.get(accountId) ?? [])]) this.#delete(digest);
  }

  clear(): void {
    this.#entries.clear();
    this.#byToken.clear();
    this.#byAccount.clear();
  }

  /** The keys held, for inspection: digests only. */
  keys(): string[] {
    return [...this.#entries.keys()];
  }

  #delete(digest: string): void {
    const entry = this.#entries.get(digest);
    if (!entry) return;
    this.#entries.delete(digest);
    this.#byToken.delete(entry.token.tokenId);
    const digests = this.#byAccount.get(entry.token.accountId);
    digests?.delete(digest);
    if (digests?.size === 0) this.#byAccount.delete(entry.token.accountId);
  }
}
