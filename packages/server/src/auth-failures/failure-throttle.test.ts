/**
 * Each instance's throttle (docs/security.md, item 39) over a count it shares with other
 * instances: when a lookup is allowed, the one-per-second bound, verified tokens, and learning
 * another instance's failures.
 */
import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../kernel/clock.js';
import { FAILURE_BUCKET_MS, FAILURE_THRESHOLD, FAILURE_WINDOW_MS, THROTTLED_LOOKUP_INTERVAL_MS } from './failure-limiter.js';
import { createFailureThrottle, type FailureThrottle } from './failure-throttle.js';
import { createMemoryFailureLimiter } from './memory-failure-limiter.js';

const IP = '203.0.113.7';
const digest = () => randomBytes(32);

describe('failure throttle', () => {
  let clock: ReturnType<typeof createManualClock>;
  let shared: ReturnType<typeof createMemoryFailureLimiter>;
  let throttle: FailureThrottle;
  beforeEach(() => {
    clock = createManualClock(Date.UTC(2030, 0, 1));
    shared = createMemoryFailureLimiter({ clock });
    throttle = createFailureThrottle({ limiter: shared, clock });
  });

  const fail = async (instance: FailureThrottle, times: number, ip = IP) => {
    for (let i = 0; i < times; i++) await instance.recordFailure(ip, digest());
  };
  /** Of `attempts` unknown tokens sent now, how many were allowed a lookup. */
  const lookUps = (instance: FailureThrottle, attempts: number) =>
    Array.from({ length: attempts }, () => instance.admit(IP, digest())).filter((admission) => admission.lookUp).length;

  it('allows every lookup below the threshold, none right after it', async () => {
    await fail(throttle, FAILURE_THRESHOLD - 1);
    expect(lookUps(throttle, 50)).toBe(50);
    await fail(throttle, 1);
    expect(throttle.admit(IP, digest())).toEqual({ lookUp: false, retryAfterSeconds: 1 });
    expect(lookUps(throttle, 50)).toBe(0);
    expect(throttle.admit('198.51.100.1', digest()).lookUp).toBe(true);
  });

  it('a throttled address gets at most one lookup per second on an instance', async () => {
    await fail(throttle, FAILURE_THRESHOLD);
    for (let second = 0; second < 5; second++) {
      clock.advance(THROTTLED_LOOKUP_INTERVAL_MS / 2);
      expect(lookUps(throttle, 20)).toBe(0);
      clock.advance(THROTTLED_LOOKUP_INTERVAL_MS / 2);
      expect(lookUps(throttle, 20)).toBe(1);
      await fail(throttle, 1); // that lookup failed too: the address stays throttled
    }
  });

  it('a token verified by this instance keeps its lookup from a throttled address', async () => {
    const good = digest();
    throttle.recordVerified(good);
    await fail(throttle, 100);
    for (let i = 0; i < 10; i++) expect(throttle.admit(IP, good).lookUp).toBe(true);
    // Once refused (revoked, expired), it is no longer known good.
    await throttle.recordFailure(IP, good);
    expect(throttle.admit(IP, good).lookUp).toBe(false);
  });

  it('learns failures counted through another instance at its own next failure from the address', async () => {
    const other = createFailureThrottle({ limiter: shared, clock });
    await fail(other, FAILURE_THRESHOLD);
    expect(lookUps(throttle, 1)).toBe(1); // not known here yet: that lookup is how it learns
    await fail(throttle, 1);
    expect(lookUps(throttle, 20)).toBe(0);
  });

  it('lets the throttle lapse once every failure it saw has aged out', async () => {
    const good = digest();
    await fail(throttle, FAILURE_THRESHOLD);
    throttle.recordVerified(good);
    expect(throttle.admit(IP, digest()).lookUp).toBe(false);
    clock.advance(FAILURE_WINDOW_MS + FAILURE_BUCKET_MS);
    expect(lookUps(throttle, 20)).toBe(20);
    expect(throttle.throttledCount).toBe(0);
  });
});
