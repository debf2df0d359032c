/** The failure count in Redis, shared by every instance (when REDIS_URL is set). */
import { systemClock, type Clock } from '../kernel/clock.js';
import { openLimiterRedis } from '../kernel/limiter-redis.js';
import { FAILURE_BUCKET_MS, FAILURE_WINDOW_MS, failureWindowAt, type CountedKey, type FailureLimiter } from './failure-limiter.js';

/** A key's hash (bucket → count) summed from `oldestBucket` on. */
function sumFrom(fields: Record<string, string>, oldestBucket: number): Omit<CountedKey, 'clientKey'> {
  let failures = 0;
  let oldest = Number.POSITIVE_INFINITY;
  let newest = Number.NEGATIVE_INFINITY;
  for (const [bucketText, count] of Object.entries(fields)) {
    const bucket = Number(bucketText);
    if (bucket < oldestBucket) continue;
    failures += Number(count);
    oldest = Math.min(oldest, bucket);
    newest = Math.max(newest, bucket);
  }
  return { failures, oldestBucket: oldest, newestBucket: newest };
}

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
    failuresOf: (clientKey) =>
      redis.orStepAside(undefined, async (client) => {
        const { oldestBucket } = failureWindowAt(clock.now());
        return sumFrom(await client.hgetall(`${prefix}window:${clientKey}`), oldestBucket).failures;
      }),
    // The administration API's listing: a SCAN of this deployment's keys (a few per throttled
    // address, each expiring with its window), not the request path.
    async listCounted(threshold, limit) {
      return redis.orStepAside([], async (client) => {
        const { oldestBucket } = failureWindowAt(clock.now());
        const found: CountedKey[] = [];
        let cursor = '0';
        do {
          const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}window:*`, 'COUNT', 500);
          cursor = next;
          for (const key of keys) {
            const counted = sumFrom(await client.hgetall(key), oldestBucket);
            if (counted.failures >= threshold) found.push({ clientKey: key.slice(`${prefix}window:`.length), ...counted });
          }
        } while (cursor !== '0');
        return found.sort((a, b) => b.failures - a.failures).slice(0, limit);
      });
    },
    forget: (clientKey) => redis.orStepAside(false, async (client) => (await client.del(`${prefix}window:${clientKey}`)) > 0),
    async close() {
      redis.close();
    },
  };
}
