/**
 * Each instance's side of failed-authentication throttling (docs/security.md, item 39; the rules
 * are in failure-limiter.ts). It keeps, in process memory:
 *
 * - the addresses this instance knows to be throttled. It learns it from the count the limiter
 *   answers when it records a failure, so the shared count is read only after a lookup refused a
 *   token: a valid token from an address in good standing costs no read and no write. Another
 *   instance's failures are learnt at this instance's own next failure from that address (one
 *   lookup, which stands as that second's allowance). The view lapses once every failure it saw
 *   could have aged out, and is refreshed by every failure recorded;
 * - the tokens this instance verified recently (by digest, bounded): they keep their lookup
 *   from a throttled address, so a throttle never refuses a token known to be good;
 * - per throttled address, when its next lookup is allowed: one per THROTTLED_LOOKUP_INTERVAL_MS,
 *   taken by whichever request comes first, so a valid token not verified here yet is answered
 *   after a short wait. The rest are refused without a lookup, with `Retry-After` until then.
 *
 * An administrator lifting an address's throttle deletes its shared count and this instance's
 * view at once; another instance notices at its next lookup from that address (at most a second
 * away while requests come): a refused token records a failure and reads the count, now low; a
 * verified one re-reads it. With the memory limiter each instance has its own count, so a lift
 * reaches only the instance that answered it (docs/api.md).
 */
import type { Clock } from '../kernel/clock.js';
import { LruMap } from '../kernel/lru-map.js';
import { clientKeyOf } from '../kernel/client-key.js';
import {
  DEFAULT_MAX_TRACKED_ADDRESSES,
  FAILURE_BUCKET_MS,
  FAILURE_THRESHOLD,
  FAILURE_WINDOW_MS,
  THROTTLED_LOOKUP_INTERVAL_MS,
  type FailureLimiter,
} from './failure-limiter.js';

/** Verified tokens remembered per instance (as the SQLite verified-token cache holds). */
export const DEFAULT_MAX_VERIFIED_TOKENS = 10_000;

/** Whether a well-formed token may be looked up; if not, R-LIMIT's `Retry-After`. */
export type Admission = { lookUp: true } | { lookUp: false; retryAfterSeconds: number };

export interface FailureThrottle {
  /** Before the lookup of a well-formed token from `clientIp`. No I/O. */
  admit(clientIp: string, digest: Buffer): Admission;
  /** A lookup refused the token: counts the failure against the address (shared) and learns its standing. */
  recordFailure(clientIp: string, digest: Buffer): Promise<void>;
  /**
   * A lookup verified the token: it keeps its lookup should its address be throttled. When the
   * address is held as throttled here, the shared count is read once more (in the background):
   * an administrator may have lifted the throttle on another instance (DELETE
   * /api/v1/admin/throttles/:address), and then this instance forgets it too.
   */
  recordVerified(digest: Buffer, clientIp?: string): void;
  /** Forgets the address's throttle on this instance (the administrator lifted it). */
  forget(clientKey: string): void;
  /** Addresses this instance currently holds as throttled. */
  readonly throttledCount: number;
}

interface Throttled {
  /** When every failure counted so far has aged out of the window. */
  until: number;
  /** When the next lookup is allowed. */
  nextLookupAt: number;
}

const LOOK_UP: Admission = Object.freeze({ lookUp: true });

export function createFailureThrottle(options: {
  limiter: FailureLimiter;
  clock: Clock;
  maxTrackedAddresses?: number;
  maxVerifiedTokens?: number;
}): FailureThrottle {
  const { limiter, clock } = options;
  const throttled = new LruMap<string, Throttled>(options.maxTrackedAddresses ?? DEFAULT_MAX_TRACKED_ADDRESSES);
  const verified = new LruMap<string, true>(options.maxVerifiedTokens ?? DEFAULT_MAX_VERIFIED_TOKENS);
  const digestKey = (digest: Buffer) => digest.toString('latin1');

  return {
    get throttledCount() {
      return throttled.size;
    },

    admit(clientIp, digest) {
      if (throttled.size === 0) return LOOK_UP; // the usual case: nothing to parse or look at
      const key = clientKeyOf(clientIp);
      const entry = throttled.peek(key);
      if (!entry) return LOOK_UP;
      const now = clock.now();
      if (entry.until <= now) {
        throttled.delete(key);
        return LOOK_UP;
      }
      if (verified.peek(digestKey(digest))) return LOOK_UP;
      if (now >= entry.nextLookupAt) {
        entry.nextLookupAt = now + THROTTLED_LOOKUP_INTERVAL_MS;
        return LOOK_UP;
      }
      return { lookUp: false, retryAfterSeconds: Math.max(1, Math.ceil((entry.nextLookupAt - now) / 1000)) };
    },

    async recordFailure(clientIp, digest) {
      verified.delete(digestKey(digest));
      const key = clientKeyOf(clientIp);
      const failures = await limiter.recordFailure(key);
      if (failures === undefined) return; // the count is unreachable: keep what is known
      if (failures < FAILURE_THRESHOLD) {
        throttled.delete(key);
        return;
      }
      const now = clock.now();
      const nextLookupAt = Math.max(throttled.peek(key)?.nextLookupAt ?? 0, now + THROTTLED_LOOKUP_INTERVAL_MS);
      throttled.touch(key, { until: now + FAILURE_WINDOW_MS + FAILURE_BUCKET_MS, nextLookupAt });
    },

    recordVerified(digest, clientIp) {
      verified.touch(digestKey(digest), true);
      if (clientIp === undefined || throttled.size === 0) return;
      const key = clientKeyOf(clientIp);
      if (!throttled.peek(key)) return;
      limiter
        .failuresOf(key)
        .then((failures) => {
          if (failures !== undefined && failures < FAILURE_THRESHOLD) throttled.delete(key);
        })
        .catch(() => undefined); // the limiter reports its own errors; the view stays as it was
    },

    forget(clientKey) {
      throttled.delete(clientKey);
    },
  };
}
