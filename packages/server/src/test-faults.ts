/**
 * LATCHKEY_TEST_FAULT, for tests only. It wraps services from the outside, in the composition
 * root: no production module knows fault injection exists.
 *
 * - `exit-after-revoke-commit` ends the process the moment a revoke has committed, before its 204
 *   is written, as a crash or an OOM kill there would (docs/security.md, item 15).
 * - `hold-credential-reports` never starts the leaked-token report worker: reports are stored and
 *   answered 202 but not processed, the state a process killed right after its 202 leaves
 *   (docs/security.md, item 59).
 */
import type { Logger } from 'pino';
import type { TestFault } from './config.js';
import type { AnchoredClock } from './kernel/clock.js';
import type { Services } from './services.js';

/** The exit code of the injected crash, so a test can tell it from any other exit. */
export const TEST_FAULT_EXIT_CODE = 86;

export function withTestFault(services: Services, fault: TestFault | undefined, logger: Logger): Services {
  if (fault === undefined) return services;
  logger.warn({ fault }, 'TEST FAULT INJECTION ENABLED: never run this in production');
  if (fault === 'hold-credential-reports') {
    return {
      ...services,
      credentialReports: {
        ...services.credentialReports,
        start() {
          logger.warn({ fault }, 'test fault: credential reports are stored but not processed');
        },
      },
    };
  }
  const { tokens } = services;
  return {
    ...services,
    tokens: {
      ...tokens,
      async revoke(...args) {
        await tokens.revoke(...args);
        logger.warn({ fault }, 'test fault: exiting after the revoke committed');
        logger.flush();
        process.exit(TEST_FAULT_EXIT_CODE);
      },
    },
  };
}

/**
 * LATCHKEY_TEST_CLOCK_OFFSET_MS, for tests only: the instance's clock moved forward (after it is
 * anchored to the database's), so a test can cross expiry thresholds by restarting instances
 * with a later offset (docs/security.md, item 52). Expiry decisions made in SQL keep the
 * database clock.
 */
export function withTestClockOffset(clock: AnchoredClock, offsetMs: number, logger: Logger): AnchoredClock {
  if (offsetMs === 0) return clock;
  logger.warn({ offsetMs }, 'TEST CLOCK OFFSET ENABLED: never run this in production');
  return {
    now: () => clock.now() + offsetMs,
    resync: () => clock.resync(),
    get offsetMs() {
      return clock.offsetMs;
    },
    stop: () => clock.stop(),
  };
}
