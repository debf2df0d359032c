/**
 * Failed-authentication throttling per client address (docs/security.md, item 39): throttle the
 * attacker, never lock out the innocent.
 *
 * - A token that verifies is never refused because of other requests' failures.
 * - Only well-formed tokens (checksum right) that are unknown, revoked, expired or whose owner is
 *   disabled count. Checksum failures never count and never reach the database; requests without
 *   `Authorization` never count.
 * - Failures are counted per address (IPv4 /32, IPv6 /64; kernel/client-key.ts) in a bucketed window:
 *   30-second buckets, a failure counting until its bucket is six buckets old, i.e. for 3 to
 *   3.5 minutes. A success does not forgive them.
 * - From 30 failures in the window the address is throttled: its tokens that this instance has
 *   not verified recently are answered R-LIMIT without a lookup, except one lookup per second per
 *   address on each instance, so a valid token is still answered (after a short `Retry-After`).
 *   The per-instance side of this is failure-throttle.ts.
 *
 * A FailureLimiter is where the count lives, chosen by the composition root: process memory (one
 * instance, bounded by an LRU cap), Redis (shared by every instance, when REDIS_URL is set), or
 * the database (shared by every instance on PostgreSQL without Redis). It is written to only
 * when a lookup refused a token, and read only in that same step, so a valid token costs the
 * limiter nothing.
 */

export const FAILURE_THRESHOLD = 30;
export const FAILURE_WINDOW_MS = 3 * 60_000;
/** The window's granularity: counts are kept per bucket, and whole buckets age out. */
export const FAILURE_BUCKET_MS = 30_000;
/** A throttled address still gets one lookup this often, per instance. */
export const THROTTLED_LOOKUP_INTERVAL_MS = 1_000;
/** Addresses tracked at most in process memory (the memory limiter, each instance's throttle view). */
export const DEFAULT_MAX_TRACKED_ADDRESSES = 100_000;
/** Buckets before the current one that still count (the window is at least FAILURE_WINDOW_MS). */
export const FAILURE_BUCKETS_BEHIND = FAILURE_WINDOW_MS / FAILURE_BUCKET_MS;

/** The bucket a failure at `now` falls in, and the oldest bucket counted with it. */
export function failureWindowAt(now: number): { bucket: number; oldestBucket: number } {
  const bucket = Math.floor(now / FAILURE_BUCKET_MS);
  return { bucket, oldestBucket: bucket - FAILURE_BUCKETS_BEHIND };
}

/** A client key's failures in the window, as the administration API lists throttled addresses. */
export interface CountedKey {
  clientKey: string;
  failures: number;
  /** The oldest and newest bucket counted. */
  oldestBucket: number;
  newestBucket: number;
}

/** The failure count of client keys (kernel/client-key.ts), shared or not. */
export interface FailureLimiter {
  /**
   * Counts one failed authentication of `clientKey` (by the limiter's clock) and answers the
   * key's failures in the window, this one included. Undefined when the count could not be kept (the
   * storage is unreachable: the limiter steps aside, reported, and credentials are still
   * checked in full).
   */
  recordFailure(clientKey: string): Promise<number | undefined>;
  /** The key's failures in the window now, without counting one; undefined when unreachable. */
  failuresOf(clientKey: string): Promise<number | undefined>;
  /** Keys with at least `threshold` failures in the window, most failures first (at most `limit`). */
  listCounted(threshold: number, limit: number): Promise<CountedKey[]>;
  /** Forgets every failure counted against the key (the administrator lifts its throttle); false when none was counted. */
  forget(clientKey: string): Promise<boolean>;
  close(): Promise<void>;
}
