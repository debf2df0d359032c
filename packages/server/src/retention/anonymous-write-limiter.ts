/**
 * The budget of the public routes that write without authentication (docs/security.md, item 57):
 * starting an OpenID Connect sign-in stores a flow, finishing one or using a sign-in link or a
 * CLI login code consumes a row and may start a session. Each such route allows 60 requests a
 * minute per client address (IPv4 /32, IPv6 /64), far above what a person signing in makes,
 * so one client can add at most 60 rows a minute per route, which the pruner later removes.
 *
 * Counted by rate-limiter-flexible: in process memory, or, when REDIS_URL is set, in Redis and
 * so across every instance. If Redis fails, each instance counts in its own memory until it is
 * back (the library's insurance limiter), so the brake never disappears.
 */
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { clientKeyOf } from '../kernel/client-key.js';
import { openLimiterRedis } from '../kernel/limiter-redis.js';

export const ANONYMOUS_WRITES_PER_WINDOW = 60;
export const ANONYMOUS_WRITE_WINDOW_SECONDS = 60;

export interface AnonymousWriteLimiter {
  /**
   * Spends one request of the address's budget on `route`. Answers 0 when the request may
   * proceed, otherwise the whole seconds until the budget is back (for `Retry-After`).
   */
  take(route: string, ip: string): Promise<number>;
  close(): Promise<void>;
}

const BUDGET = { points: ANONYMOUS_WRITES_PER_WINDOW, duration: ANONYMOUS_WRITE_WINDOW_SECONDS };

export function createMemoryAnonymousWriteLimiter(): AnonymousWriteLimiter {
  return limiterOver(new RateLimiterMemory(BUDGET), async () => undefined);
}

export function createRedisAnonymousWriteLimiter(options: {
  url: string;
  /** Key namespace, so several deployments (or test runs) can share one Redis. */
  prefix?: string;
  onError: (error: unknown) => void;
}): AnonymousWriteLimiter {
  const redis = openLimiterRedis(options.url, options.onError);
  const limiter = new RateLimiterRedis({
    ...BUDGET,
    storeClient: redis.client,
    keyPrefix: options.prefix ?? 'latchkey:anonymous-writes',
    insuranceLimiter: new RateLimiterMemory(BUDGET),
  });
  return limiterOver(limiter, async () => redis.close());
}

function limiterOver(limiter: RateLimiterAbstract, close: () => Promise<void>): AnonymousWriteLimiter {
  return {
    async take(route, ip) {
      try {
        // Per address as the failure budget counts them: IPv4 /32, IPv6 /64.
        await limiter.consume(`${route}:${clientKeyOf(ip)}`);
        return 0;
      } catch (refusal) {
        // Over budget the library rejects with its result; anything else is a real failure.
        if (refusal instanceof RateLimiterRes) return Math.max(1, Math.ceil(refusal.msBeforeNext / 1000));
        throw refusal;
      }
    },
    close,
  };
}
