/** The failure count in Redis, shared by every instance (when REDIS_URL is set). */
import { systemClock, type Clock } from '../kernel/clock.js';
import { openLimiterRedis } from '../kernel/limiter-redis.js';
import { FAILURE_BUCKET_MS, FAILURE_WINDOW_MS, failureWindowAt, type FailureLimiter } from './failure-limiter.js';

/**
 * One hash per client key, a field per bucket: counts the failure, drops the buckets that aged
 * out and sums the rest, in one atomic step, so concurrent instances all count. The key expires
 * once its newest failure has aged out.
 */
const RECORD_FAILURE = `
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local fields = redis.call('HGETALL', KEYS[1])
local total = 0
for i = 1, #fields, 2 do
  if tonumber(fields[i]) < tonumber(ARGV[2]) then
    redis.call('HDEL', KEYS[1], fields[i])
  else
    total = total + tonumber(fields[i + 1])
  end
end
return total`;

/**
 * If Redis cannot be reached the limiter steps aside (reported) rather than failing requests:
 * credentials are still checked in full, only the flood brake is missing.
 */
export function createRedisFailureLimiter(options: {
  url: string;
  /** Key namespace, so several deployments (or test runs) can share one Redis. */
  prefix?: string;
  onError: (error: unknown) => void;
  /** Whose time picks the bucket: every instance's clock should agree (main.ts anchors it to the database). */
  clock?: Clock;
}): FailureLimiter {
  const prefix = options.prefix ?? 'latchkey:auth-failures:';
  const clock = options.clock ?? systemClock;
  const redis = openLimiterRedis(options.url, options.onError);

  return {
    recordFailure: (clientKey) =>
      redis.orStepAside(undefined, async (client) => {
        const { bucket, oldestBucket } = failureWindowAt(clock.now());
        const total = await client.eval(
          RECORD_FAILURE,
          1,
          `${prefix}window:${clientKey}`,
          bucket,
          oldestBucket,
          FAILURE_WINDOW_MS + FAILURE_BUCKET_MS,
        );
        return Number(total);
      }),
    async close() {
      redis.close();
    },
  };
}
