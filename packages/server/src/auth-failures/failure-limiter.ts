/**
 * Failed-authentication limiting per client address (docs/security.md, item 39): 30 failed bearer
 * authentications within 3 minutes ban the address for an hour. While banned, every bearer request
 * from it is refused with R-LIMIT (429), valid tokens included (no oracle). A success before the
 * 30th failure resets the count; requests without credentials never count.
 *
 * Three implementations, chosen by the composition root: in process memory (one instance,
 * bounded by an LRU cap), Redis (shared by every instance, when REDIS_URL is set), and the
 * database (shared by every instance on PostgreSQL without Redis). The token service applies the
 * rules (tokens/token-service.ts); which storage keeps the count is invisible to it.
 */
import type { TokenForAuth } from '../tokens/token.js';

export const FAILURE_WINDOW_MS = 3 * 60_000;
export const FAILURE_THRESHOLD = 30;
export const BAN_MS = 60 * 60_000;
/** Addresses tracked at most by the in-memory limiter; the least recently seen go first. */
export const DEFAULT_MAX_TRACKED_ADDRESSES = 100_000;

/** The rules of the failed-authentication budget, as the stores apply them. */
export interface AuthFailureRules {
  windowMs: number;
  threshold: number;
  banMs: number;
}

export const FAILURE_RULES: AuthFailureRules = Object.freeze({
  windowMs: FAILURE_WINDOW_MS,
  threshold: FAILURE_THRESHOLD,
  banMs: BAN_MS,
});

/** An address's standing against its budget. */
export interface ClientStanding {
  /** Seconds until this address may authenticate again; 0 when it is not banned. */
  retryAfterSeconds: number;
  /** Whether failures are on record, i.e. whether a success has anything to reset. */
  hasFailures: boolean;
}

export const GOOD_STANDING: ClientStanding = Object.freeze({ retryAfterSeconds: 0, hasFailures: false });

export interface FailureLimiter {
  /** The address's standing before its token is looked at. */
  check(ip: string): Promise<ClientStanding>;
  /**
   * Counts a failure. `reachedDatabase` is false for a token refused on its checksum alone:
   * such a failure must never cost a database write (docs/performance.md, P4).
   */
  recordFailure(ip: string, failure?: { reachedDatabase: boolean }): Promise<void>;
  /** A success forgives the address's failures (never a ban). */
  recordSuccess(ip: string): Promise<void>;
  /**
   * Set by the limiter that keeps its count in the database: it reads the token and the
   * address's shared standing in one statement, so sharing the count costs no extra round trip.
   */
  readonly lookUpWithStanding?: (digest: Buffer, ip: string) => Promise<{ token: TokenForAuth | undefined; standing: ClientStanding }>;
  close(): Promise<void>;
}
