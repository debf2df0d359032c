/** The failure count in process memory: exact for one instance, bounded by an LRU cap. */
import type { Clock } from '../kernel/clock.js';
import { LruMap } from '../kernel/lru-map.js';
import { DEFAULT_MAX_TRACKED_ADDRESSES, failureWindowAt, type FailureLimiter } from './failure-limiter.js';

/** An address's failures per bucket, oldest first; buckets older than the window are dropped. */
type Buckets = Array<{ bucket: number; failures: number }>;

export function createMemoryFailureLimiter(options: {
  clock: Clock;
  maxTrackedAddresses?: number;
}): FailureLimiter & { readonly size: number } {
  const { clock } = options;
  const entries = new LruMap<string, Buckets>(options.maxTrackedAddresses ?? DEFAULT_MAX_TRACKED_ADDRESSES);

  return {
    get size() {
      return entries.size;
    },
    async recordFailure(clientKey) {
      const { bucket, oldestBucket } = failureWindowAt(clock.now());
      const buckets = (entries.peek(clientKey) ?? []).filter((counted) => counted.bucket >= oldestBucket);
      const current = buckets.at(-1);
      if (current?.bucket === bucket) current.failures++;
      else buckets.push({ bucket, failures: 1 });
      entries.touch(clientKey, buckets);
      return buckets.reduce((sum, counted) => sum + counted.failures, 0);
    },
    async close() {
      entries.clear();
    },
  };
}
