/** The failure count in process memory: exact for one instance, bounded by an LRU cap. */
import type { Clock } from '../kernel/clock.js';
import { LruMap } from '../kernel/lru-map.js';
import {
  BAN_MS,
  DEFAULT_MAX_TRACKED_ADDRESSES,
  FAILURE_THRESHOLD,
  FAILURE_WINDOW_MS,
  GOOD_STANDING,
  type FailureLimiter,
} from './failure-limiter.js';

interface Entry {
  failures: number;
  windowStart: number;
  bannedUntil: number;
}

export function createMemoryFailureLimiter(options: {
  clock: Clock;
  maxTrackedAddresses?: number;
}): FailureLimiter & { readonly size: number } {
  const { clock } = options;
  const entries = new LruMap<string, Entry>(options.maxTrackedAddresses ?? DEFAULT_MAX_TRACKED_ADDRESSES);

  return {
    get size() {
      return entries.size;
    },
    async check(ip) {
      const entry = entries.peek(ip);
      if (!entry) return GOOD_STANDING;
      const now = clock.now();
      return {
        retryAfterSeconds: entry.bannedUntil > now ? Math.ceil((entry.bannedUntil - now) / 1000) : 0,
        hasFailures: entry.failures > 0 && now - entry.windowStart < FAILURE_WINDOW_MS,
      };
    },
    async recordFailure(ip) {
      const now = clock.now();
      const entry = entries.peek(ip) ?? { failures: 0, windowStart: now, bannedUntil: 0 };
      if (now - entry.windowStart >= FAILURE_WINDOW_MS) {
        entry.failures = 0;
        entry.windowStart = now;
      }
      entry.failures++;
      if (entry.failures >= FAILURE_THRESHOLD) {
        entry.bannedUntil = now + BAN_MS;
        entry.failures = 0;
        entry.windowStart = now;
      }
      entries.touch(ip, entry);
    },
    async recordSuccess(ip) {
      const entry = entries.peek(ip);
      if (entry && entry.bannedUntil <= clock.now()) entries.delete(ip);
    },
    async close() {
      entries.clear();
    },
  };
}
