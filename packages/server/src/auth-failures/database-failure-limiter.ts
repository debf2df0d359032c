/**
 * The shared failure count without Redis (PostgreSQL): every instance counts in the database,
 * one increment and one sum per refused well-formed token, and nothing for anything else. If
 * the database write fails, the limiter steps aside for that failure (reported); credentials
 * are still checked in full.
 */
import type { Clock } from '../kernel/clock.js';
import type { AuthFailureStore } from './auth-failure-store.js';
import { failureWindowAt, type FailureLimiter } from './failure-limiter.js';

export function createDatabaseFailureLimiter(options: {
  store: AuthFailureStore;
  /** Whose time picks the bucket: main.ts gives the clock anchored to the database's. */
  clock: Clock;
  onError: (error: unknown) => void;
}): FailureLimiter {
  const { store, clock, onError } = options;
  return {
    async recordFailure(clientKey) {
      try {
        return await store.recordAuthFailure(clientKey, failureWindowAt(clock.now()));
      } catch (error) {
        onError(error);
        return undefined;
      }
    },
    async failuresOf(clientKey) {
      try {
        return await store.countAuthFailures(clientKey, failureWindowAt(clock.now()).oldestBucket);
      } catch (error) {
        onError(error);
        return undefined;
      }
    },
    listCounted: (threshold, limit) => store.listAuthFailures(failureWindowAt(clock.now()).oldestBucket, threshold, limit),
    forget: (clientKey) => store.deleteAuthFailures(clientKey),
    async close() {},
  };
}
