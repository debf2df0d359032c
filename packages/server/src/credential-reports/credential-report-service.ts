/**
 * Revoke-by-possession (docs/security.md, item 35; GitHub's credential-revocation model): anyone
 * holding a leaked token may report it, unauthenticated, and it is revoked.
 *
 * The HTTP answer is always the same and is sent before any of this runs: `submit` only queues
 * the list, so how long the answer takes cannot depend on whether the listed tokens are valid.
 * The queue is drained one report at a time, after the current I/O turn. Strings failing the
 * format or checksum are dropped without touching the database; the rest are looked up by
 * SHA-256 digest only. Each revoked token gets an audit event, and each owner one notice per
 * report listing their tokens.
 */
import { hasValidChecksum, hashToken } from '@latchkey/contract/token';
import { auditEvent } from '../audit/audit-event.js';
import type { NoticeInput, ReportedTokensNoticeDetail } from '../notices/notice.js';
import type { Clock } from '../kernel/clock.js';
import { newId } from '../kernel/ids.js';
import { StoreUnavailableError } from '../kernel/store-errors.js';
import type { TokenRecord } from '../tokens/token.js';
import type { ReportStore } from './report-store.js';

/** Credentials waiting to be processed, all reports together; more is answered 503. */
export const MAX_QUEUED_CREDENTIALS = 50_000;
/** A report the database could not take is retried this many times, this far apart. */
const UNAVAILABLE_RETRIES = 3;
const RETRY_DELAY_MS = 2_000;

export interface CredentialReports {
  /**
   * Queues a report for processing after the current I/O turn. Returns false (queueing
   * nothing) when the queue is full; the caller answers 503 then.
   */
  submit(credentials: readonly string[], reporterIp: string | null): boolean;
  /** Resolves once every report queued so far has been processed (or given up on). */
  idle(): Promise<void>;
}

export function createCredentialReports(deps: {
  store: ReportStore;
  clock: Clock;
  /** Told about a report that could not be processed; never given token material. */
  onError: (error: unknown, context: { attempt: number; willRetry: boolean }) => void;
  /** Told how many tokens a processed report revoked. */
  onProcessed?: (outcome: { revoked: number; owners: number }) => void;
}): CredentialReports {
  const { store, clock } = deps;
  const queue: Array<{ credentials: readonly string[]; reporterIp: string | null }> = [];
  let queued = 0;
  let draining: Promise<void> | undefined;

  async function process(credentials: readonly string[], reporterIp: string | null): Promise<TokenRecord[]> {
    const digests = new Map<string, Buffer>();
    for (const credential of credentials) {
      if (!hasValidChecksum(credential)) continue;
      const digest = hashToken(credential);
      digests.set(digest.toString('hex'), digest);
    }
    if (digests.size === 0) return [];
    const revokedAt = clock.now();
    const actor = { accountId: null, tokenId: null, ip: reporterIp };
    return store.revokeReportedTokens([...digests.values()], revokedAt, {
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
    });
  }

  async function processWithRetries(credentials: readonly string[], reporterIp: string | null): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const revoked = await process(credentials, reporterIp);
        deps.onProcessed?.({ revoked: revoked.length, owners: new Set(revoked.map((token) => token.accountId)).size });
        return;
      } catch (error) {
        // A lost report leaves a leaked token working: worth waiting for the database.
        const willRetry = error instanceof StoreUnavailableError && attempt <= UNAVAILABLE_RETRIES;
        deps.onError(error, { attempt, willRetry });
        if (!willRetry) return;
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS * attempt));
      }
    }
  }

  async function drain(): Promise<void> {
    // After the current I/O turn: the 202 is written before the first report is looked at.
    await new Promise((resolve) => setImmediate(resolve));
    for (let report = queue.shift(); report; report = queue.shift()) {
      try {
        await processWithRetries(report.credentials, report.reporterIp);
      } catch (error) {
        // Only a throwing onError/onProcessed gets here; the queue must keep moving regardless.
        try {
          deps.onError(error, { attempt: 0, willRetry: false });
        } catch {
          // Nothing left to tell.
        }
      } finally {
        queued -= report.credentials.length;
      }
    }
  }

  return {
    submit(credentials, reporterIp) {
      if (queued + credentials.length > MAX_QUEUED_CREDENTIALS) return false;
      queue.push({ credentials, reporterIp });
      queued += credentials.length;
      if (!draining) startDraining();
      return true;
    },
    async idle() {
      while (draining) await draining;
    },
  };

  function startDraining(): void {
    draining = drain().finally(() => {
      draining = undefined;
      // A report queued while the last one was finishing must not wait for the next report.
      if (queue.length > 0) startDraining();
    });
  }
}
