/**
 * Revoke-by-possession (docs/security.md, items 35 and 59; GitHub's credential-revocation model):
 * anyone holding a leaked token may report it, unauthenticated, and it is revoked.
 *
 * `submit` is all the request does: strings failing the format or checksum are dropped (no
 * secret decides that), the rest are hashed, and the report is stored as pending — one INSERT,
 * the same statement whatever the tokens are — before the 202. Nothing about the tokens is
 * looked up on the request path, so the answer cannot depend on whether one was live, and a
 * report answered 202 survives a crash.
 *
 * A worker in the background processes pending reports: at start-up (reports left by a crash),
 * shortly after each report stored here or announced by another instance (PostgreSQL NOTIFY),
 * and on one timer set from the database — the earliest pending report's next attempt (a retry,
 * the lease end of a claim another instance dropped) — capped at REPORT_MAX_IDLE_MS. Between
 * these an idle worker sends no statement. It claims
 * one report at a time under a lease, yields to the event loop before each, and processes it in
 * one transaction that also deletes it, so a report is processed exactly once even when two
 * instances hold it. A failed attempt leaves it pending and it is retried with back-off, as long
 * as it takes: a report given up on would leave a leaked token working.
 */
import { hasValidChecksum, hashToken } from '@latchkey/contract/token';
import { auditEvent } from '../audit/audit-event.js';
import type { NoticeInput, ReportedTokensNoticeDetail } from '../notices/notice.js';
import type { Clock } from '../kernel/clock.js';
import { newId } from '../kernel/ids.js';
import type { PendingReport, ReportRecords, ReportStore } from './report-store.js';

/** How long a claim holds a report: if its instance dies, another takes it up after this. */
export const REPORT_LEASE_MS = 60_000;
/**
 * The longest an idle worker waits before asking again, for what nothing announces: a report
 * written by another process on the same SQLite file, a notification lost while the listener
 * was reconnecting. Everything else wakes it or sets its timer.
 */
export const REPORT_MAX_IDLE_MS = 60_000;
/** After a report is stored: the worker starts shortly after the answer has gone. */
const NUDGE_DELAY_MS = 25;
/** The shortest timer: a report due but not claimable yet (another instance's claim holds the row) must not spin. */
const MIN_WAIT_MS = 50;
/** Retry back-off after failed attempts: 1 s, 2 s, 4 s … at most a minute, never giving up. */
const RETRY_BASE_MS = 1_000;
const RETRY_MAX_MS = 60_000;

export function retryDelayMs(attempts: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.max(0, Math.min(attempts - 1, 16)));
}

export interface CredentialReports {
  /**
   * Stores a report for processing (one INSERT). Rejects with StoreUnavailableError when the
   * database cannot take it; the caller then answers 503, not 202.
   */
  submit(credentials: readonly string[], reporterIp: string | null): Promise<void>;
  /**
   * Starts processing in the background: the reports pending now, then whenever woken (a submit
   * here, a notification from another instance) and at the time the pending reports name (a
   * retry, a lease end), at the latest `maxIdleMs` after the last pass. An idle worker sends no
   * statement in between. Before `start` (and after `stop`) reports are only stored. The timers
   * never keep the process alive.
   */
  start(): void;
  /** Stops the worker and waits for the report in hand; pending reports stay for the next start. */
  stop(): Promise<void>;
  /** Processes every report due now; resolves when none is left due or an attempt failed (tests). */
  idle(): Promise<void>;
}

export function createCredentialReports(deps: {
  store: ReportStore;
  clock: Clock;
  /** Told about a failed attempt (the report stays pending); never given token material. */
  onError: (error: unknown, context: { reportId?: string; attempt?: number; retryInMs?: number }) => void;
  /** Told how many tokens a processed report revoked. */
  onProcessed?: (outcome: { revoked: number; owners: number }) => void;
  /** The longest wait between passes of a started worker (default REPORT_MAX_IDLE_MS). */
  maxIdleMs?: number;
  /**
   * Subscribes `poll` to reports stored elsewhere (PostgreSQL NOTIFY from another instance);
   * answers how to unsubscribe. Subscribed at `start`.
   */
  wake?: (poll: () => void) => () => Promise<void>;
}): CredentialReports {
  const { store, clock } = deps;
  const maxIdleMs = deps.maxIdleMs ?? REPORT_MAX_IDLE_MS;
  let started = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  /** When the timer fires, on the worker's clock. */
  let timerDueAt = Number.POSITIVE_INFINITY;
  let pass: Promise<void> | undefined;
  let passAgain = false;
  /** Passes in a row that could not reach the database: the next is tried after their back-off. */
  let failedPasses = 0;
  let unsubscribe: (() => Promise<void>) | undefined;

  /** The callbacks only log; should one throw, the worker must still go on. */
  function tellError(error: unknown, context: Parameters<typeof deps.onError>[1]): void {
    try {
      deps.onError(error, context);
    } catch {
      // Nothing left to tell.
    }
  }

  function recordsFor(report: PendingReport, revokedAt: number): ReportRecords {
    const actor = { accountId: null, tokenId: null, ip: report.reporterIp };
    return {
      auditFor: (token) =>
        auditEvent(revokedAt, 'token.revoked', actor, token.id, { via: 'credential-report', ownerAccountId: token.accountId }),
      noticeFor: (accountId, tokens): NoticeInput => ({
        id: newId(),
        accountId,
        kind: 'tokens_reported',
        createdAt: revokedAt,
        detail: {
          tokens: tokens.map(({ id, name, last4 }) => ({ id, name, last4 })),
        } satisfies ReportedTokensNoticeDetail,
      }),
    };
  }

  /**
   * Claims and processes due reports one by one until none is due or an attempt fails. False when
   * the database could not be asked (the pass is tried again after a back-off).
   */
  async function processDueReports(): Promise<boolean> {
    while (!stopped) {
      // Before each report: requests waiting on the event loop go first.
      await new Promise((resolve) => setImmediate(resolve));
      const now = clock.now();
      let report: PendingReport | undefined;
      try {
        report = await store.claimPendingReport(now, now + REPORT_LEASE_MS);
      } catch (error) {
        failedPasses++;
        tellError(error, { retryInMs: retryDelayMs(failedPasses) });
        return false;
      }
      failedPasses = 0;
      if (!report) return true;
      try {
        const revokedAt = clock.now();
        const revoked = await store.processPendingReport(report, revokedAt, recordsFor(report, revokedAt));
        if (revoked) {
          try {
            deps.onProcessed?.({ revoked: revoked.length, owners: new Set(revoked.map((token) => token.accountId)).size });
          } catch {
            // Only a log line was lost; the report is processed.
          }
        }
      } catch (error) {
        const retryInMs = retryDelayMs(report.attempts);
        tellError(error, { reportId: report.id, attempt: report.attempts, retryInMs });
        // If this fails too, the claim's lease brings the report back later all the same. Either
        // way the report's next attempt is in the database, where the timer is set from.
        await store.postponePendingReport(report.id, clock.now() + retryInMs).catch(() => undefined);
        return true;
      }
    }
    return true;
  }

  /**
   * After the reports due now, when the next pass should run (on the worker's clock): the
   * earliest pending report's next attempt, at the latest `maxIdleMs` from now; soon after a
   * pass that could not reach the database, backing off while it stays away.
   */
  async function nextPassAt(reachedDatabase: boolean): Promise<number> {
    if (reachedDatabase) {
      try {
        const dueAt = await store.nextDueAt();
        failedPasses = 0;
        return Math.min(clock.now() + maxIdleMs, dueAt ?? Number.POSITIVE_INFINITY);
      } catch (error) {
        failedPasses++;
        tellError(error, { retryInMs: retryDelayMs(failedPasses) });
      }
    }
    return clock.now() + retryDelayMs(failedPasses);
  }

  /**
   * Runs passes one after another; a request during a pass gets one more pass after it. A started
   * worker then sets its timer for the next one (one statement asks when); one not started only
   * processes what is due.
   */
  function runPass(): Promise<void> {
    if (pass) {
      passAgain = true;
      return pass;
    }
    pass = (async () => {
      try {
        let reachedDatabase = true;
        do {
          passAgain = false;
          reachedDatabase = await processDueReports().catch((error: unknown) => {
            tellError(error, {});
            return true;
          });
        } while (passAgain && !stopped);
        if (started && !stopped) wakeAt(await nextPassAt(reachedDatabase));
      } finally {
        pass = undefined;
      }
    })();
    return pass;
  }

  /** Sets the one timer to `at` (on the worker's clock), unless it already fires sooner. */
  function wakeAt(at: number): void {
    if (!started || stopped) return;
    if (timer && timerDueAt <= at) return;
    clearTimeout(timer);
    timerDueAt = at;
    timer = setTimeout(
      () => {
        timer = undefined;
        timerDueAt = Number.POSITIVE_INFINITY;
        void runPass();
      },
      Math.max(MIN_WAIT_MS, at - clock.now()),
    );
    timer.unref();
  }

  /** Sets the timer for a pass shortly, for a report stored here or announced by another instance. */
  const nudge = () => wakeAt(clock.now() + NUDGE_DELAY_MS);

  return {
    async submit(credentials, reporterIp) {
      const digests = new Map<string, Buffer>();
      for (const credential of credentials) {
        if (!hasValidChecksum(credential)) continue;
        const digest = hashToken(credential);
        digests.set(digest.toString('hex'), digest);
      }
      await store.insertPendingReport({ id: newId(), receivedAt: clock.now(), reporterIp, digests: [...digests.values()] });
      nudge();
    },
    start() {
      if (started || stopped) return;
      started = true;
      unsubscribe = deps.wake?.(nudge);
      void runPass();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
      await unsubscribe?.().catch((error: unknown) => tellError(error, {}));
      await pass;
    },
    async idle() {
      await runPass();
    },
  };
}
