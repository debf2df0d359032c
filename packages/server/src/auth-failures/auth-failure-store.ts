import type { CountedKey } from './failure-limiter.js';

/** The shared failure count in the database (PostgreSQL without Redis): one row per client key and bucket. */
export interface AuthFailureStore {
  /**
   * Counts one failed authentication of `clientKey` in `bucket` (an atomic increment, so
   * concurrent failures on several instances all count) and answers the key's failures in the
   * buckets from `oldestBucket` on, this one included. Every so often it also deletes the
   * buckets older than `oldestBucket`, for every key.
   */
  recordAuthFailure(clientKey: string, window: { bucket: number; oldestBucket: number }): Promise<number>;
  /** The key's failures in the buckets from `oldestBucket` on, without counting one. */
  countAuthFailures(clientKey: string, oldestBucket: number): Promise<number>;
  /** Keys with at least `threshold` failures from `oldestBucket` on, most first, with their oldest and newest bucket. */
  listAuthFailures(oldestBucket: number, threshold: number, limit: number): Promise<CountedKey[]>;
  /** Deletes every bucket of the key; false when it had none. */
  deleteAuthFailures(clientKey: string): Promise<boolean>;
}
