/**
 * The call budget of the unauthenticated leaked-token report endpoint (docs/security.md, item 35):
 * at most 60 calls per hour per client IP, in a fixed window that starts with the address's
 * first call. A budget of its own, apart from the failed-authentication limiter, so reporting
 * leaks never bans anyone from using their tokens and vice versa.
 *
 * In process memory (bounded by an LRU cap) or, when REDIS_URL is set, in Redis, shared by
 * every instance.
 */
import type { Clock } from '../kernel/clock.js';
import { openLimiterRedis } from '../kernel/limiter-redis.js';
import { LruMap } from '../kernel/lru-map.js';

export const REPORTS_PER_WINDOW = 60;
export const REPORT_WINDOW_MS = 60 * 60_000;
/** Addresses tracked at most by the in-memory limiter; the least recently seen go first. */
export const DEFAULT_MAX_TRACKED_REPORTERS = 100_000;

export interface ReportLimiter {
  /**
   * Spends one call of this address's budget. Returns 0 when the call may proceed, otherwise
   * the whole seconds until the window ends (for `Retry-After`).
   */
  take(ip: string): Promise<number>;
  close(): Promise<void>;
}

interface Window {
  calls: number;
  startedAt: number;
}

export function createMemoryReportLimiter(options: {
  clock: Clock;
  maxTrackedAddresses?: number;
}): ReportLimiter & { readonly size: number } {
  const { clock } = options;
  const windows = new LruMap<string, Window>(options.maxTrackedAddresses ?? DEFAULT_MAX_TRACKED_REPORTERS);

  return {
    get size() {
      return windows.size;
    },
    async take(ip) {
      const now = clock.now();
      let window = windows.peek(ip);
      if (!window || now - window.startedAt >= REPORT_WINDOW_MS) window = { calls: 0, startedAt: now };
      window.calls++;
      windows.touch(ip, window);
      if (window.calls <= REPORTS_PER_WINDOW) return 0;
      return Math.max(1, Math.ceil((window.startedAt + REPORT_WINDOW_MS - now) / 1000));
    },
    async close() {
      windows.clear();
    },
  };
}

/** Count and window expiry in one atomic step; answers the window's remaining milliseconds when over. */
const TAKE = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if n <= tonumber(ARGV[2]) then return 0 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return ttl`;

/**
 * The shared budget. If Redis cannot be reached the limiter steps aside (logged) rather than
 * refusing reports: a report only ever revokes, so the brake missing costs CPU, not safety.
 */
export function createRedisReportLimiter(options: {
  url: string;
  /** Key namespace, so several deployments (or test runs) can share one Redis. */
  prefix?: string;
  onError: (error: unknown) => void;
}): ReportLimiter {
  const prefix = options.prefix ?? 'latchkey:credential-reports:';
  const redis = openLimiterRedis(options.url, options.onError);

  return {
    take: (ip) =>
      redis.orStepAside(0, async (client) => {
        const ttl = Number(await client.eval(TAKE, 1, `${prefix}${ip}`, REPORT_WINDOW_MS, REPORTS_PER_WINDOW));
        return ttl > 0 ? Math.ceil(ttl / 1000) : 0;
      }),
    async close() {
      redis.close();
    },
  };
}
