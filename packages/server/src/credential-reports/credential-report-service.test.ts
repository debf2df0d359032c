/**
 * docs/security.md, item 59: the report worker over the real Kysely store (SQLite and
 * PostgreSQL) while the database fails. A report whose processing fails — here the store
 * answers StoreUnavailableError, as a database that is down does, for more attempts than the old
 * three retries — stays pending and is processed once the database answers: the token is
 * revoked once, the owner has one notice. Time is an injected clock; passes run through `idle()`.
 */
import { expect, it } from 'vitest';
import { createManualClock, systemClock } from '../kernel/clock.js';
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

/** Polls `condition` (generously) instead of assuming a speed. */
async function eventually(condition: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// The worker waits instead of polling (bench P4: an idle server sends no statement).
describeEachBackend('leaked-token report worker, started and idle', (ctx) => {
  const { givenAccount, givenToken } = storeFixtures(ctx);
  const isRevoked = async (digest: Buffer) => (await ctx.stores.tokens.findTokenForAuth(digest))!.revokedAt !== null;
  const ignore = () => undefined;

  it('sends its start-up statements (a claim finding nothing, when next is due) and none in the next 3 seconds', async () => {
    const reports = createCredentialReports({ store: ctx.stores.reports, clock: createManualClock(Date.now()), onError: ignore });
    reports.start();
    await eventually(() => ctx.queries.length >= 2);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await reports.stop();
    expect(ctx.queries.map((query) => query.sql.split(' ')[0])).toEqual(['update', 'select']);
  });

  it('processes a report another instance stored: woken by its NOTIFY on PostgreSQL, by its idle cap on SQLite', async () => {
    const alice = await givenAccount();
    const leaked = await givenToken(alice.id);
    const listen = ctx.database.listen;
    // Listening before the report is stored (resolved once LISTEN ran), so no notification can be missed.
    let wakeWorker = () => undefined as void;
    const unlisten = listen ? await listen('latchkey_credential_reports', () => wakeWorker()) : undefined;
    // PostgreSQL: the idle cap is ten minutes away, so only the notification can wake it in time.
    const reports = createCredentialReports({
      store: ctx.stores.reports,
      clock: systemClock,
      onError: ignore,
      maxIdleMs: listen ? 10 * 60_000 : 50,
      wake: (poll) => {
        wakeWorker = poll;
        return async () => undefined;
      },
    });
    reports.start();
    // Its start-up pass has found nothing and set its timer to the idle cap.
    await reports.idle();
    // The other instance stores the report and is never started (as if it died after its 202).
    const elsewhere = createCredentialReports({ store: ctx.stores.reports, clock: systemClock, onError: ignore });
    await elsewhere.submit([leaked.secret], '203.0.113.9');
    await eventually(() => isRevoked(leaked.digest), 30_000);
    await reports.stop();
    await unlisten?.();
    expect(await ctx.stores.notices.listNotices(alice.id)).toHaveLength(1);
  });

  it('processes a report at its next attempt, woken by nothing but the timer the pending reports set', async () => {
    const alice = await givenAccount();
    const leaked = await givenToken(alice.id);
    const dueAt = Date.now() + 1_500;
    // Stored by "another instance" before this worker starts, due in 1.5 s (as a retry would be).
    await ctx.stores.reports.insertPendingReport({ id: 'r-later', receivedAt: dueAt, reporterIp: null, digests: [leaked.digest] });
    const reports = createCredentialReports({ store: ctx.stores.reports, clock: systemClock, onError: ignore, maxIdleMs: 10 * 60_000 });
    reports.start();
    await eventually(() => isRevoked(leaked.digest));
    await reports.stop();
    expect((await ctx.stores.tokens.findTokenForAuth(leaked.digest))!.revokedAt).toBeGreaterThanOrEqual(dueAt);
  });

  it('tries again soon after a pass could not reach the database, not at its idle cap', async () => {
    const alice = await givenAccount();
    const leaked = await givenToken(alice.id);
    await ctx.stores.reports.insertPendingReport({ id: 'r-now', receivedAt: Date.now(), reporterIp: null, digests: [leaked.digest] });
    const outage = failing(ctx.stores.reports, 'claimPendingReport', 1);
    const errors: Array<{ retryInMs?: number }> = [];
    const reports = createCredentialReports({
      store: outage.store,
      clock: systemClock,
      onError: (_error, context) => errors.push(context),
      maxIdleMs: 10 * 60_000,
    });
    reports.start();
    await eventually(() => isRevoked(leaked.digest));
    await reports.stop();
    expect(errors).toEqual([{ retryInMs: retryDelayMs(1) }]);
  });
});
