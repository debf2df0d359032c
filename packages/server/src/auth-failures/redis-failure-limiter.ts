/** The failure count in Redis, shared by every instance (when REDIS_URL is set). */
import { openLimiterRedis } from '../kernel/limiter-redis.js';
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
 * If Redis cannot be reached the limiter steps aside (reported) rather than failing requests:
 * credentials are still checked in full, only the flood brake is missing.
 */
export function createRedisFailureLimiter(options: {
  url: string;
  /** Key namespace, so several deployments (or test runs) can share one Redis. */
  prefix?: string;
  onError: (error: unknown) => void;
}): FailureLimiter {
  const prefix = options.prefix ?? 'latchkey:auth-failures:';
  const redis = openLimiterRedis(options.url, options.onError);
  const failuresKey = (ip: string) => `${prefix}count:${ip}`;
  const banKey = (ip: string) => `${prefix}ban:${ip}`;

  return {
    check: (ip) =>
      redis.orStepAside(GOOD_STANDING, async (client) => {
        const [[, ttl], [, failures]] = (await client.multi().pttl(banKey(ip)).exists(failuresKey(ip)).exec()) as [
          [unknown, number],
          [unknown, number],
        ];
        return { retryAfterSeconds: ttl > 0 ? Math.ceil(ttl / 1000) : 0, hasFailures: failures > 0 };
      }),
    recordFailure: (ip) =>
      redis.orStepAside(undefined, async (client) => {
        await client.eval(RECORD_FAILURE, 2, failuresKey(ip), banKey(ip), FAILURE_WINDOW_MS, FAILURE_THRESHOLD, BAN_MS);
      }),
    recordSuccess: (ip) =>
      redis.orStepAside(undefined, async (client) => {
        await client.del(failuresKey(ip));
      }),
    async close() {
      redis.close();
    },
  };
}
