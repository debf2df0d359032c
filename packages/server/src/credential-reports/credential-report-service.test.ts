/**
 * docs/security.md, item 59: the report worker over the real Kysely store (SQLite and
 * PostgreSQL) while the database fails. A report whose processing fails — here the store
 * answers StoreUnavailableError, as a database that is down does, for more attempts than the old
 * three retries — stays pending and is processed once the database answers: the token is
 * revoked once, the owner has one notice. Time is an injected clock; passes run through `idle()`.
 */
import { expect, it } from 'vitest';
import { createManualClock } from '../kernel/clock.js';
import { StoreUnavailableError } from '../kernel/store-errors.js';
import { describeEachBackend } from '../../test/support/databases.js';
import { storeFixtures } from '../../test/support/store-fixtures.js';
import { createCredentialReports, retryDelayMs } from './credential-report-service.js';
import type { ReportStore } from './report-store.js';

/** The store, failing as an unreachable database does for the first `failures` calls of `method`. */
function failing(store: ReportStore, method: 'processPendingReport' | 'claimPendingReport', failures: number) {
  let calls = 0;
  const wrapped: ReportStore = {
    ...store,
    [method]: (...args: unknown[]) => {
      calls++;
      if (calls <= failures) return Promise.reject(new StoreUnavailableError('database unavailable: ECONNREFUSED'));
      return (store[method] as (...a: unknown[]) => Promise<unknown>)(...args);
    },
  };
  return { store: wrapped, calls: () => calls };
}

describeEachBackend('leaked-token report worker while the database fails', (ctx) => {
  const { givenAccount, givenToken } = storeFixtures(ctx);

  for (const method of ['processPendingReport', 'claimPendingReport'] as const) {
    it(`keeps retrying while ${method} fails (7 times, past any fixed retry count), then revokes the token once with one notice`, async () => {
      const alice = await givenAccount();
      const leaked = await givenToken(alice.id);
      const clock = createManualClock(Date.now());
      const errors: Array<{ attempt?: number; retryInMs?: number }> = [];
      const outage = failing(ctx.stores.reports, method, 7);
      const reports = createCredentialReports({ store: outage.store, clock, onError: (_error, context) => errors.push(context) });

      await reports.submit([leaked.secret], '203.0.113.9');
      for (let pass = 0; pass < 30 && (await ctx.stores.tokens.findTokenForAuth(leaked.digest))!.revokedAt === null; pass++) {
        await reports.idle();
        // Past the longest back-off and the claim lease: the report is due again.
        clock.advance(120_000);
      }

      // 7 failed calls, the one that succeeded, and (for claims) the one that found nothing left.
      expect(outage.calls()).toBe(method === 'claimPendingReport' ? 9 : 8);
      expect(errors).toHaveLength(7);
      if (method === 'processPendingReport') {
        expect(errors.map((error) => error.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7]);
        expect(errors.map((error) => error.retryInMs)).toEqual([1, 2, 3, 4, 5, 6, 7].map(retryDelayMs));
      }
      expect((await ctx.stores.tokens.findTokenForAuth(leaked.digest))!.revokedAt).not.toBeNull();
      expect(await ctx.stores.notices.listNotices(alice.id)).toHaveLength(1);
      // Nothing is left pending, and another pass finds nothing to do.
      expect(await ctx.stores.reports.claimPendingReport(clock.now() + 10 * 60_000, clock.now() + 11 * 60_000)).toBeUndefined();
      await reports.stop();
    });
  }
});
