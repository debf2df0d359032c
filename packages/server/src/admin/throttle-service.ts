/**
 * Throttled addresses (docs/api.md, "Administration API"; the rules are in
 * auth-failures/failure-limiter.ts): the client keys with at least FAILURE_THRESHOLD refused
 * tokens in the window, and lifting one — its shared count deleted and this instance's view
 * forgotten; the other instances notice at their next lookup from it (failure-throttle.ts).
 * With the memory limiter every instance counts alone: a lift reaches the one that answered.
 */
import type { AuditEventInput } from '../audit/audit-event.js';
import { auditEvent, type Actor } from '../audit/audit-event.js';
import {
  FAILURE_BUCKET_MS,
  FAILURE_BUCKETS_BEHIND,
  FAILURE_THRESHOLD,
  type FailureLimiter,
} from '../auth-failures/failure-limiter.js';
import type { FailureThrottle } from '../auth-failures/failure-throttle.js';
import { AppError } from '../kernel/app-error.js';
import { clientKeyOf } from '../kernel/client-key.js';
import type { Clock } from '../kernel/clock.js';

/** Throttled addresses listed at most. */
export const THROTTLES_LISTED = 1000;

export interface ThrottledAddress {
  address: string;
  failures: number;
  /** The start of the oldest counted bucket (epoch ms). */
  since: number;
  /** When the newest counted bucket ages out (epoch ms). */
  until: number;
}

export interface ThrottleService {
  list(): Promise<ThrottledAddress[]>;
  /** Lifts the address's throttle (audited `throttle.lifted`); NOT_FOUND when nothing is counted against it. */
  lift(address: string, actor: Actor): Promise<void>;
}

export function createThrottleService(deps: {
  limiter: FailureLimiter | undefined;
  throttle: FailureThrottle | undefined;
  clock: Clock;
  /** Writes an audit event on its own. */
  audit: (event: AuditEventInput) => Promise<void>;
}): ThrottleService {
  const { limiter, throttle, clock } = deps;
  return {
    async list() {
      if (!limiter) return [];
      const counted = await limiter.listCounted(FAILURE_THRESHOLD, THROTTLES_LISTED);
      return counted.map(({ clientKey, failures, oldestBucket, newestBucket }) => ({
        address: clientKey,
        failures,
        since: oldestBucket * FAILURE_BUCKET_MS,
        until: (newestBucket + FAILURE_BUCKETS_BEHIND + 1) * FAILURE_BUCKET_MS,
      }));
    },

    async lift(address, actor) {
      const key = clientKeyOf(address);
      throttle?.forget(key);
      const forgotten = limiter ? await limiter.forget(key) : false;
      if (!forgotten) throw new AppError('NOT_FOUND', 'No failures are counted against this address.');
      await deps.audit(auditEvent(clock.now(), 'throttle.lifted', actor, key, { address: key }));
    },
  };
}
