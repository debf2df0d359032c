/** The failure count in process memory: exact for one instance, bounded by an LRU cap. */
import type { Clock } from '../kernel/clock.js';
import { LruMap } from '../kernel/lru-map.js';
import { DEFAULT_MAX_TRACKED_ADDRESSES, failureWindowAt, type CountedKey, type FailureLimiter } from './failure-limiter.js';

/** An address's failures per bucket, oldest first; buckets older than the window are dropped. */
type Buckets = Array<{ bucket: number; failures: number }>;

export function createMemoryFailureLimiter(options: {
  clock: Clock;
  maxTrackedAddresses?: number;
}): FailureLimiter & { readonly size: number } {
  const { clock } = options;
  const capacity = options.maxTrackedAddresses ?? DEFAULT_MAX_TRACKED_ADDRESSES;
  const entries = new LruMap<string, Buckets>(capacity);
  /** The keys counted (LruMap cannot be walked): keys the map has dropped are pruned when it outgrows the map. */
  const keys = new Set<string>();
  function prune(): void {
    for (const key of keys) if (entries.peek(key) === undefined) keys.delete(key);
  }

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
      keys.add(clientKey);
      if (keys.size > 2 * capacity) prune();
      return buckets.reduce((sum, counted) => sum + counted.failures, 0);
    },
    async failuresOf(clientKey) {
      const { oldestBucket } = failureWindowAt(clock.now());
      return (entries.peek(clientKey) ?? []).filter((counted) => counted.bucket >= oldestBucket).reduce((sum, counted) => sum + counted.failures, 0);
    },
    async listCounted(threshold, limit) {
      const { oldestBucket } = failureWindowAt(clock.now());
      const found: CountedKey[] = [];
      prune();
      for (const clientKey of keys) {
        const buckets = (entries.peek(clientKey) ?? []).filter((counted) => counted.bucket >= oldestBucket);
        const failures = buckets.reduce((sum, counted) => sum + counted.failures, 0);
        if (failures >= threshold && buckets.length > 0) {
          found.push({ clientKey, failures, oldestBucket: buckets[0]!.bucket, newestBucket: buckets.at(-1)!.bucket });
        }
      }
      return found.sort((a, b) => b.failures - a.failures).slice(0, limit);
    },
    async forget(clientKey) {
      const known = entries.peek(clientKey) !== undefined;
      entries.delete(clientKey);
      keys.delete(clientKey);
      return known;
    },
    async close() {
      entries.clear();
      keys.clear();
    },
  };
}
