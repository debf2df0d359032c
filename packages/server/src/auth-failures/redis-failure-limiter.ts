/** The failure count in Redis, shared by every instance (when REDIS_URL is set). */
import { Redis } from 'ioredis';
import { BAN_MS, FAILURE_THRESHOLD, FAILURE_WINDOW_MS, GOOD_STANDING, type FailureLimiter } from './failure-limiter.js';

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
 * If Redis cannot be reached the limiter steps aside (logged) rather than failing requests:
 * credentials are still checked in full, only the flood brake is missing.
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
      guarded(GOOD_STANDING, async () => {
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
