/**
 * The shared failure count without Redis: every instance counts in the database (one atomic
 * upsert per failure, by the database clock) and learns of a ban from the token lookup itself
 * (`lookUpWithStanding`). Checksum failures never reach the database, so they are counted apart,
 * in a local in-memory limiter that is also checked before any lookup: a flood of them is
 * stopped on the instance that sees it. If a database write fails, the limiter steps aside for
 * that failure (logged); credentials are still checked in full.
 */
import type { Clock } from '../kernel/clock.js';
import type { AuthFailureStore } from './auth-failure-store.js';
import { FAILURE_RULES, type FailureLimiter } from './failure-limiter.js';
import { createMemoryFailureLimiter } from './memory-failure-limiter.js';

export function createDatabaseFailureLimiter(options: {
  store: AuthFailureStore;
  clock: Clock;
  onError: (error: unknown) => void;
  maxTrackedAddresses?: number;
}): FailureLimiter {
  const { store, onError } = options;
  const local = createMemoryFailureLimiter({ clock: options.clock, maxTrackedAddresses: options.maxTrackedAddresses });
  return {
    check: (ip) => local.check(ip),
    async lookUpWithStanding(digest, ip) {
      const { token, client, dbNow } = await store.findTokenAndClientForAuth(digest, ip);
      const bannedForMs = (client?.bannedUntil ?? 0) - dbNow;
      return {
        token,
        standing: { retryAfterSeconds: bannedForMs > 0 ? Math.ceil(bannedForMs / 1000) : 0, hasFailures: (client?.failures ?? 0) > 0 },
      };
    },
    async recordFailure(ip, failure = { reachedDatabase: true }) {
      if (failure.reachedDatabase) await store.recordAuthFailure(ip, FAILURE_RULES).catch(onError);
      else await local.recordFailure(ip);
    },
    async recordSuccess(ip) {
      await local.recordSuccess(ip);
      await store.clearAuthFailures(ip).catch(onError);
    },
    close: () => local.close(),
  };
}
