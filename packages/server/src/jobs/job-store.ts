import type { JobRecord, NewJob } from './job.js';

/** The queue's use cases (kysely-job-store.ts); every method is one atomic step. */
export interface JobStore {
  /**
   * Inserts the jobs as pending. A job whose dedupe key is already taken (by a job in any state,
   * until it is pruned) is left out: answers, per job, whether it was new. Idempotent.
   */
  enqueue(jobs: readonly NewJob[], now: number): Promise<boolean[]>;
  /**
   * Claims up to `limit` jobs of these kinds that are due (pending with run_at ≤ now) or whose
   * lease expired (a runner died holding them): each is leased to `owner` until `leaseUntil`
   * and its attempts counted. Two claimers never get the same job (PostgreSQL: FOR UPDATE SKIP
   * LOCKED; SQLite: one writer at a time).
   */
  claim(owner: string, kinds: readonly string[], now: number, leaseUntil: number, limit: number): Promise<JobRecord[]>;
  /**
   * When the next job of these kinds becomes claimable: the earliest run_at among pending jobs
   * and locked_until among running ones (a lease that may run out); undefined when there is
   * neither. One query: the runner asks it to know whether anything is due and when to look again.
   */
  nextDueAt(kinds: readonly string[]): Promise<number | undefined>;
  /** Marks the job done if `owner` still holds it; answers whether it did. */
  complete(id: string, owner: string, now: number): Promise<boolean>;
  /**
   * Records a failed attempt if `owner` still holds the job: pending again at `retryAt`, or
   * failed for good when `retryAt` is null. `error` is stored as is: never put a secret in it.
   */
  fail(id: string, owner: string, error: string, retryAt: number | null, now: number): Promise<boolean>;
  /** Deletes at most `limit` done and failed jobs finished before `before`; answers how many. */
  pruneFinished(before: number, limit: number): Promise<number>;
  /** One job by id (tests, tools). */
  findJob(id: string): Promise<JobRecord | undefined>;
}
