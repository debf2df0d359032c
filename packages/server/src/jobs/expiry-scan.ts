/**
 * The expiry scan (issue 15: notices at 30, 7 and 1 day(s) before a token expires and on the
 * day): a recurring job that turns each threshold a token has crossed into one lifecycle event,
 * `token.expiring` (or `token.expired` on the day), keyed `token-expiring:<tokenId>:<threshold>`
 * so repeated scans and several instances enqueue it once. The channels send it (events.ts).
 */
import type { Clock } from '../kernel/clock.js';
import { eventJob, type LifecycleEvent } from './events.js';
import type { JobToEnqueue } from './job-runner.js';
import type { ExpiringToken, ExpiryScanStore } from './expiry-scan-store.js';

export const EXPIRY_SCAN_KIND = 'tokens.expiry-scan';
/** The issue asks for at least every 15 minutes. */
export const EXPIRY_SCAN_INTERVAL_MS = 10 * 60_000;

const DAY_MS = 86_400_000;

/** Latest first: a token is in the window of the latest threshold it has crossed. */
export const EXPIRY_THRESHOLDS = [
  { name: '0d', beforeExpiryMs: 0 },
  { name: '1d', beforeExpiryMs: DAY_MS },
  { name: '7d', beforeExpiryMs: 7 * DAY_MS },
  { name: '30d', beforeExpiryMs: 30 * DAY_MS },
] as const;

export type ExpiryThreshold = (typeof EXPIRY_THRESHOLDS)[number]['name'];

/** The "on the day" notice is sent up to a day after the expiry (a scan missed while all instances were down). */
const EXPIRED_WINDOW_MS = DAY_MS;
const PAGE_SIZE = 500;

/**
 * The latest threshold `token` has crossed at `now`, if any. Only thresholds crossed after the
 * token was created count (a 7-day token gets no 30- or 7-day warning), and only the latest one
 * is sent: after an outage spanning two thresholds, one notice, not two.
 */
export function crossedThreshold(token: Pick<ExpiringToken, 'createdAt' | 'expiresAt'>, now: number): ExpiryThreshold | undefined {
  if (now >= token.expiresAt + EXPIRED_WINDOW_MS) return undefined;
  for (const threshold of EXPIRY_THRESHOLDS) {
    const crossedAt = token.expiresAt - threshold.beforeExpiryMs;
    if (now >= crossedAt) return token.createdAt < crossedAt ? threshold.name : undefined;
  }
  return undefined;
}

export function expiryEvent(token: ExpiringToken, threshold: ExpiryThreshold, now: number): LifecycleEvent {
  return {
    event: threshold === '0d' ? 'token.expired' : 'token.expiring',
    key: `token-expiring:${token.id}:${threshold}`,
    occurredAt: now,
    tokenId: token.id,
    accountId: token.accountId,
    threshold,
    expiresAt: token.expiresAt,
  };
}

/** The scan's handler: pages through the tokens near expiry and enqueues their events; answers how many were new. */
export function createExpiryScan(deps: {
  store: ExpiryScanStore;
  clock: Clock;
  enqueue: (jobs: readonly JobToEnqueue[]) => Promise<boolean[]>;
}): () => Promise<number> {
  return async () => {
    const now = deps.clock.now();
    let afterId: string | null = null;
    let enqueued = 0;
    for (;;) {
      const page = await deps.store.listTokensExpiringBetween(now - EXPIRED_WINDOW_MS, now + 30 * DAY_MS, afterId, PAGE_SIZE);
      const jobs = page.flatMap((token) => {
        const threshold = crossedThreshold(token, now);
        return threshold ? [eventJob(expiryEvent(token, threshold, now))] : [];
      });
      if (jobs.length > 0) enqueued += (await deps.enqueue(jobs)).filter(Boolean).length;
      if (page.length < PAGE_SIZE) return enqueued;
      afterId = page[page.length - 1]!.id;
    }
  };
}
