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
 * A worker in the background processes pending reports: nudged after each report, at start-up
 * (reports left by a crash) and on a timer (reports another instance dropped, retries). It claims
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
/** How often each instance looks for pending reports it was not told about. */
export const PENDING_REPORT_POLL_MS = 10_000;
/** After a report is stored: the worker starts shortly after the answer has gone. */
const NUDGE_DELAY_MS = 25;
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
   * Starts processing in the background: the reports pending now, then every poll interval and
   * after each submit. Before `start` (and after `stop`) reports are only stored. The timers
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
  pollIntervalMs?: number;
}): CredentialReports {
  const { store, clock } = deps;
  const pollIntervalMs = deps.pollIntervalMs ?? PENDING_REPORT_POLL_MS;
  let started = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let timerDueAt = Number.POSITIVE_INFINITY;
  let pass: Promise<void> | undefined;
  let passAgain = false;
  /** Retries of failed reports, each on its own timer so a nudge or a poll never cancels one. */
  const retries = new Set<NodeJS.Timeout>();

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

  /** Claims and processes due reports one by one until none is due or the database fails. */
  async function processDueReports(): Promise<void> {
    while (!stopped) {
      // Before each report: requests waiting on the event loop go first.
      await new Promise((resolve) => setImmediate(resolve));
      const now = clock.now();
      let report: PendingReport | undefined;
      try {
        report = await store.claimPendingReport(now, now + REPORT_LEASE_MS);
      } catch (error) {
        tellError(error, { retryInMs: pollIntervalMs });
        return;
      }
      if (!report) return;
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
        // If this fails too, the claim's lease brings the report back later all the same.
        await store.postponePendingReport(report.id, clock.now() + retryInMs).catch(() => undefined);
        retryAfter(retryInMs);
        return;
      }
    }
  }

  /** Runs passes one after another; a request during a pass gets one more pass after it. */
  function runPass(): Promise<void> {
    if (pass) {
      passAgain = true;
      return pass;
    }
    pass = (async () => {
      try {
        do {
          passAgain = false;
          await processDueReports().catch((error: unknown) => tellError(error, {}));
        } while (passAgain && !stopped);
      } finally {
        pass = undefined;
      }
    })();
    return pass;
  }

  function schedule(delayMs: number): void {
    if (!started || stopped) return;
    const dueAt = Date.now() + delayMs;
    if (timer && timerDueAt <= dueAt) return;
    clearTimeout(timer);
    timerDueAt = dueAt;
    timer = setTimeout(() => {
      timer = undefined;
      timerDueAt = Number.POSITIVE_INFINITY;
      void runPass().finally(() => schedule(pollIntervalMs));
    }, delayMs);
    timer.unref();
  }

  function retryAfter(delayMs: number): void {
    if (!started || stopped) return;
    const retry = setTimeout(() => {
      retries.delete(retry);
      void runPass();
    }, delayMs);
    retry.unref();
    retries.add(retry);
  }

  return {
    async submit(credentials, reporterIp) {
      const digests = new Map<string, Buffer>();
      for (const credential of credentials) {
        if (!hasValidChecksum(credential)) continue;
        const digest = hashToken(credential);
        digests.set(digest.toString('hex'), digest);
      }
      await store.insertPendingReport({ id: newId(), receivedAt: clock.now(), reporterIp, digests: [...digests.values()] });
      schedule(NUDGE_DELAY_MS);
    },
    start() {
      if (started) return;
      started = true;
      schedule(0);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
      for (const retry of retries) clearTimeout(retry);
      retries.clear();
      await pass;
    },
    async idle() {
      await runPass();
    },
  };
}
