/**
 * The job runner's vocabulary (docs/jobs.md). A job is a row: enqueued (idempotently, by its
 * dedupe key), claimed under a lease by one runner, then done, retried later or failed.
 * Delivery is at least once: a runner killed mid-job loses its lease and another runs the job
 * again, so handlers are idempotent or deduplicate their effect.
 */

export type JobState = 'pending' | 'running' | 'done' | 'failed';

export interface NewJob {
  kind: string;
  /** Plain JSON; never a secret (it is stored as is). */
  payload: unknown;
  /** Unique among all jobs kept: enqueueing the same key again does nothing. */
  dedupeKey?: string;
  /** Epoch ms; not before this. */
  runAt: number;
}

export interface JobRecord {
  id: string;
  kind: string;
  payload: unknown;
  dedupeKey: string | null;
  state: JobState;
  runAt: number;
  /** Claims so far, this one included. */
  attempts: number;
  lockedBy: string | null;
  lockedUntil: number | null;
  lastError: string | null;
  createdAt: number;
  finishedAt: number | null;
}

/**
 * Done and failed jobs are kept this long, and their dedupe keys with them. It must outlast the
 * longest time a producer may enqueue the same key again: the expiry scan re-enqueues a
 * threshold's event for as long as the token stays in that threshold's window (the 30-day one
 * lasts 23 days), so a shorter retention would send it twice.
 */
export const FINISHED_JOB_RETENTION_MS = 35 * 86_400_000;

/** How a kind is retried after its handler throws. */
export interface RetryPolicy {
  /** Give up after this many attempts. */
  maxAttempts: number;
  /** Give up when the next attempt would start later than this after the job was created. */
  retryForMs: number;
  /** The first retry's delay; each later one doubles, up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Emails: a few hours. */
export const EMAIL_RETRY: RetryPolicy = { maxAttempts: 12, retryForMs: 4 * 3_600_000, baseDelayMs: 30_000, maxDelayMs: 30 * 60_000 };
/** Webhooks: a day (the 24 h). */
export const WEBHOOK_RETRY: RetryPolicy = { maxAttempts: 30, retryForMs: 24 * 3_600_000, baseDelayMs: 30_000, maxDelayMs: 2 * 3_600_000 };
/** Internal work (fan-out, scans): soon and a few times. */
export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 8, retryForMs: 3_600_000, baseDelayMs: 5_000, maxDelayMs: 10 * 60_000 };

/**
 * When to try again after `attempt` (1-based) failed, or null to give up. Exponential with
 * "equal jitter": half the delay fixed, half random, so retries of many jobs spread out but
 * none comes back sooner than half its step. `random` is in [0, 1).
 */
export function nextAttemptAt(policy: RetryPolicy, job: { attempts: number; createdAt: number }, now: number, random: number): number | null {
  if (job.attempts >= policy.maxAttempts) return null;
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (job.attempts - 1));
  const at = now + Math.round(step / 2 + (step / 2) * random);
  return at > job.createdAt + policy.retryForMs ? null : at;
}
