/**
 * Failed-authentication limiting per client IP (SECURITY.md item 39): 30 failed bearer
 * authentications within 3 minutes ban the address for an hour. While banned, every bearer
 * request from it is refused with R-LIMIT, valid tokens included (no oracle). A success before
 * the 30th failure resets the count; requests without credentials never count.
 *
 * Three implementations: in process memory (exact for one instance, bounded by an LRU cap);
 * Redis (shared by every instance, when REDIS_URL is set); and the database (shared by every
 * instance on PostgreSQL without Redis), which reads a client's record in the token lookup
 * itself, so it costs no extra round trip on the success path.
 */
import { Redis } from 'ioredis';
import type { Clock } from '../domain/clock.js';
import type { AuthFailureRules, Store } from '../store/store.js';

export const FAILURE_WINDOW_MS = 3 * 60_000;
export const FAILURE_THRESHOLD = 30;
export const BAN_MS = 60 * 60_000;
/** Addresses tracked at most by the in-memory limiter; the least recently seen go first. */
export const DEFAULT_MAX_TRACKED_ADDRESSES = 100_000;

export interface LimiterVerdict {
  /** Seconds until this address may authenticate again; 0 when it is not banned. */
  retryAfterSeconds: number;
  /** Whether failures are on record, i.e. whether a success has anything to reset. */
  hasFailures: boolean;
}

export const FAILURE_RULES: AuthFailureRules = Object.freeze({
  windowMs: FAILURE_WINDOW_MS,
  threshold: FAILURE_THRESHOLD,
  banMs: BAN_MS,
});

export interface FailureLimiter {
  /** One look before authenticating: banned? failures to reset on success? */
  check(ip: string): Promise<LimiterVerdict>;
  /**
   * `reachedDatabase` is false for a token refused on its checksum alone: such a failure must
   * never cost a database write (PERFORMANCE.md P4), so the database limiter counts it locally.
   */
  recordFailure(ip: string, failure?: { reachedDatabase: boolean }): Promise<void>;
  recordSuccess(ip: string): Promise<void>;
  /**
   * Set when the shared count lives in the database: the token lookup then reads the
   * client's record (Store.findTokenAndClientForAuth), and a ban there is R-LIMIT.
   */
  readonly countsInDatabase?: boolean;
  close(): Promise<void>;
}

const NOT_LIMITED: LimiterVerdict = Object.freeze({ retryAfterSeconds: 0, hasFailures: false });

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
  const capacity = options.maxTrackedAddresses ?? DEFAULT_MAX_TRACKED_ADDRESSES;
  // A Map iterates in insertion order: re-inserting on every touch makes the first key the
  // least recently used one.
  const entries = new Map<string, Entry>();

  function touch(ip: string, entry: Entry): void {
    entries.delete(ip);
    entries.set(ip, entry);
    if (entries.size > capacity) entries.delete(entries.keys().next().value as string);
  }

  return {
    get size() {
      return entries.size;
    },
    async check(ip) {
      const entry = entries.get(ip);
      if (!entry) return NOT_LIMITED;
      const now = clock.now();
      return {
        retryAfterSeconds: entry.bannedUntil > now ? Math.ceil((entry.bannedUntil - now) / 1000) : 0,
        hasFailures: entry.failures > 0 && now - entry.windowStart < FAILURE_WINDOW_MS,
      };
    },
    async recordFailure(ip) {
      const now = clock.now();
      const entry = entries.get(ip) ?? { failures: 0, windowStart: now, bannedUntil: 0 };
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
      touch(ip, entry);
    },
    async recordSuccess(ip) {
      const entry = entries.get(ip);
      if (entry && entry.bannedUntil <= clock.now()) entries.delete(ip);
    },
    async close() {
      entries.clear();
    },
  };
}

/**
 * The shared limiter without Redis: every instance counts in the database (one atomic upsert
 * per failure, by the database clock), and learns of a ban from the token lookup. Checksum
 * failures never reach the database, so they are counted apart, in a local in-memory limiter
 * that is also checked before any lookup: a flood of them is stopped on the instance that
 * sees it. If the database write fails, the limiter steps aside for that failure (logged);
 * credentials are still checked in full.
 */
export function createDatabaseFailureLimiter(options: {
  store: Store;
  clock: Clock;
  onError: (error: unknown) => void;
  maxTrackedAddresses?: number;
}): FailureLimiter {
  const { store, onError } = options;
  const local = createMemoryFailureLimiter({ clock: options.clock, maxTrackedAddresses: options.maxTrackedAddresses });
  return {
    countsInDatabase: true,
    check: (ip) => local.check(ip),
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

/** Counts, expiry and the ban in one atomic step, so concurrent instances agree. */
const RECORD_FAILURE = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if n >= tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  redis.call('DEL', KEYS[1])
end
return n`;

/**
 * The shared limiter. If Redis cannot be reached the limiter steps aside (logged) rather than
 * failing requests: credentials are still checked in full, only the flood brake is missing.
 */
export function createRedisFailureLimiter(options: {
  url: string;
  /** Key namespace, so several deployments (or test runs) can share one Redis. */
  prefix?: string;
  onError: (error: unknown) => void;
}): FailureLimiter {
  const prefix = options.prefix ?? 'latchkey:auth-failures:';
  // Commands wait for the connection (offline queue) but never longer than commandTimeout:
  // a Redis outage costs a request at most that, then the limiter steps aside.
  const redis = new Redis(options.url, { maxRetriesPerRequest: 1, commandTimeout: 1000 });
  redis.on('error', options.onError);
  const failuresKey = (ip: string) => `${prefix}count:${ip}`;
  const banKey = (ip: string) => `${prefix}ban:${ip}`;

  async function guarded<T>(fallback: T, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      options.onError(error);
      return fallback;
    }
  }

  return {
    check: (ip) =>
      guarded(NOT_LIMITED, async () => {
        const [[, ttl], [, failures]] = (await redis.multi().pttl(banKey(ip)).exists(failuresKey(ip)).exec()) as [
          [unknown, number],
          [unknown, number],
        ];
        return { retryAfterSeconds: ttl > 0 ? Math.ceil(ttl / 1000) : 0, hasFailures: failures > 0 };
      }),
    recordFailure: (ip) =>
      guarded(undefined, async () => {
        await redis.eval(RECORD_FAILURE, 2, failuresKey(ip), banKey(ip), FAILURE_WINDOW_MS, FAILURE_THRESHOLD, BAN_MS);
      }),
    recordSuccess: (ip) =>
      guarded(undefined, async () => {
        await redis.del(failuresKey(ip));
      }),
    async close() {
      redis.disconnect();
    },
  };
}
