/**
 * The durable job runner (docs/jobs.md): claims due jobs of the kinds registered here, runs
 * their handlers under a lease and records the outcome. Safe with many instances — a job is
 * claimed by one runner at a time — and across kill -9: a lease that runs out makes the job
 * claimable again, so delivery is at least once and handlers are idempotent or deduplicated.
 */
import type { Clock } from '../kernel/clock.js';
import { newId } from '../kernel/ids.js';
import { DEFAULT_RETRY, nextAttemptAt, type NewJob, type RetryPolicy } from './job.js';
import type { JobStore } from './job-store.js';

export interface JobContext {
  jobId: string;
  kind: string;
  /** The payload given at enqueue (parsed JSON). */
  payload: unknown;
  /** 1 on the first run; more after failures or a lost lease. */
  attempt: number;
  clock: Clock;
}

export type JobHandler = (context: JobContext) => Promise<void>;

export interface JobKindOptions {
  retry?: RetryPolicy;
  /** Jobs of this kind run at once by this runner (default 4). */
  concurrency?: number;
  /** How long a claim holds (default 5 minutes): a handler must finish well within it. */
  leaseMs?: number;
}

/** A job to enqueue; `runAt` defaults to now. */
export type JobToEnqueue = Omit<NewJob, 'runAt'> & { runAt?: number };

export interface JobRunner {
  /** This runner's identity in `locked_by`. */
  readonly owner: string;
  /** Handles `kind` from now on. Register before `start()`. */
  register(kind: string, handler: JobHandler, options?: JobKindOptions): void;
  /** Enqueues (idempotent per dedupe key) and wakes the runner; answers per job whether it was new. */
  enqueue(jobs: JobToEnqueue | readonly JobToEnqueue[]): Promise<boolean[]>;
  /**
   * Runs `kind` once per slot of `everyMs` (slots aligned to the epoch), as the job with dedupe key
   * `schedule:<kind>:<slot start>`: with N instances exactly one runs per slot, and the current
   * slot's job is enqueued at start-up (a no-op if another instance already did).
   */
  schedule(kind: string, everyMs: number): void;
  /**
   * Runs a pass at once, and again when woken (an enqueue here, a NOTIFY from elsewhere), when a
   * handler finishes, or at the next time the queue or a schedule names — never later than
   * `maxIdleMs` after the last pass. An idle runner sends nothing in between.
   */
  start(): void;
  /**
   * Stops claiming and waits up to `graceMs` for the handlers running; any still running keep
   * their lease and are run again (by another instance or the next start) when it runs out.
   */
  stop(graceMs?: number): Promise<void>;
  /** Claims what is due now and runs it, resolving when those handlers have finished: for tests and tools. */
  runDue(): Promise<number>;
}

export interface JobRunnerDeps {
  store: JobStore;
  clock: Clock;
  /**
   * The longest wait between passes (default 60,000), for work nothing announces: a job written by
   * another process on the same SQLite file, a NOTIFY lost while the listener reconnected.
   */
  maxIdleMs?: number;
  /** In [0, 1): the back-off jitter (tests pass a constant). */
  random?: () => number;
  /** Subscribes `poll` to outside wake-ups (PostgreSQL NOTIFY); answers how to unsubscribe. */
  wake?: (poll: () => void) => () => Promise<void>;
  /** A failure of the runner itself or of a handler (its job is retried or failed). Never a secret. */
  onError?: (error: unknown, context: { kind?: string; jobId?: string; attempt?: number; willRetry?: boolean }) => void;
  owner?: string;
}

const DEFAULT_CONCURRENCY = 4;
const DEFAULT_LEASE_MS = 5 * 60_000;
const DEFAULT_MAX_IDLE_MS = 60_000;
/** The shortest wait between passes: a job due but not claimable yet (another runner's transaction holds it) must not spin. */
const MIN_WAIT_MS = 50;
/** After a failed pass (the database away), the next one comes this soon. */
const RETRY_AFTER_ERROR_MS = 1_000;
const DEFAULT_STOP_GRACE_MS = 5_000;

interface Registration {
  handler: JobHandler;
  retry: RetryPolicy;
  concurrency: number;
  leaseMs: number;
  running: number;
}

export function createJobRunner(deps: JobRunnerDeps): JobRunner {
  const { store, clock } = deps;
  const owner = deps.owner ?? newId();
  const random = deps.random ?? Math.random;
  const maxIdleMs = deps.maxIdleMs ?? DEFAULT_MAX_IDLE_MS;
  const onError = deps.onError ?? (() => undefined);
  const kinds = new Map<string, Registration>();
  const schedules = new Map<string, { everyMs: number; lastSlot: number | undefined }>();
  const inFlight = new Set<Promise<void>>();
  let started = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let passing: Promise<unknown> | undefined;
  let again = false;
  let unsubscribe: (() => Promise<void>) | undefined;

  const enqueue = (jobs: JobToEnqueue | readonly JobToEnqueue[]) => {
    const list = (Array.isArray(jobs) ? jobs : [jobs]) as readonly JobToEnqueue[];
    if (list.length === 0) return Promise.resolve([]);
    const now = clock.now();
    return store.enqueue(
      list.map((job) => ({ ...job, runAt: job.runAt ?? now })),
      now,
    );
  };

  /** The current slot's job for every schedule whose slot changed since this runner last enqueued it. */
  async function enqueueSchedules(): Promise<void> {
    const now = clock.now();
    const due: Array<{ entry: { lastSlot: number | undefined }; slot: number; job: JobToEnqueue }> = [];
    for (const [kind, entry] of schedules) {
      const slot = Math.floor(now / entry.everyMs) * entry.everyMs;
      if (entry.lastSlot !== slot) due.push({ entry, slot, job: { kind, payload: { slot }, dedupeKey: `schedule:${kind}:${slot}`, runAt: slot } });
    }
    if (due.length === 0) return;
    await enqueue(due.map(({ job }) => job));
    // Only once stored: a failed enqueue (the database away) is tried again at the next pass.
    for (const { entry, slot } of due) entry.lastSlot = slot;
  }

  async function run(job: Awaited<ReturnType<JobStore['claim']>>[number], registration: Registration): Promise<void> {
    try {
      await registration.handler({ jobId: job.id, kind: job.kind, payload: job.payload, attempt: job.attempts, clock });
      // False when the lease ran out and another runner took the job: it runs again there.
      await store.complete(job.id, owner, clock.now());
    } catch (error) {
      const now = clock.now();
      const retryAt = nextAttemptAt(registration.retry, job, now, random());
      onError(error, { kind: job.kind, jobId: job.id, attempt: job.attempts, willRetry: retryAt !== null });
      await store.fail(job.id, owner, describe(error), retryAt, now).catch((storeError: unknown) => onError(storeError, { kind: job.kind, jobId: job.id }));
    }
  }

  /**
   * The kinds this runner could claim now. A kind at its concurrency is left out: a finishing
   * handler wakes the runner, and asking about it meanwhile would find it due over and over.
   */
  const kindsWithRoom = () => [...kinds].filter(([, registration]) => registration.running < registration.concurrency).map(([kind]) => kind);

  /**
   * One pass: the schedules, one query for whether anything is due, and only then a claim per
   * kind with room. Resolves with the handlers it started and when the queue next has work
   * (undefined: nothing pending or leased).
   */
  async function pass(): Promise<{ handlers: Array<Promise<void>>; dueAt: number | undefined }> {
    await enqueueSchedules();
    const handlers: Array<Promise<void>> = [];
    const dueAt = await store.nextDueAt(kindsWithRoom());
    if (dueAt === undefined || dueAt > clock.now()) return { handlers, dueAt };
    for (const [kind, registration] of kinds) {
      const room = registration.concurrency - registration.running;
      if (room <= 0 || stopped) continue;
      const now = clock.now();
      const jobs = await store.claim(owner, [kind], now, now + registration.leaseMs, room);
      for (const job of jobs) {
        registration.running += 1;
        const running = run(job, registration).finally(() => {
          registration.running -= 1;
          inFlight.delete(running);
          poll();
        });
        inFlight.add(running);
        handlers.push(running);
      }
    }
    // Asked again: the claims changed the answer (new leases, and what was due is taken).
    return { handlers, dueAt: stopped ? undefined : await store.nextDueAt(kindsWithRoom()) };
  }

  /** The earliest of: when the queue next has work, the next schedule slot, `maxIdleMs` from now. */
  function nextPassAt(dueAt: number | undefined): number {
    const now = clock.now();
    let at = Math.min(now + maxIdleMs, dueAt ?? Infinity);
    for (const { everyMs } of schedules.values()) at = Math.min(at, (Math.floor(now / everyMs) + 1) * everyMs);
    return at;
  }

  /** Sets the one timer; `at` is on the runner's clock, whose milliseconds the timer counts. */
  function sleepUntil(at: number): void {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(poll, Math.max(MIN_WAIT_MS, at - clock.now()));
    timer.unref();
  }

  /** Coalesces wake-ups: at most one pass at a time, one more if woken during it, then the timer for the next. */
  function poll(): void {
    if (stopped || !started) return;
    if (passing) {
      again = true;
      return;
    }
    clearTimeout(timer);
    passing = pass()
      .then(
        ({ dueAt }) => nextPassAt(dueAt),
        (error: unknown) => {
          onError(error, {});
          return clock.now() + Math.min(RETRY_AFTER_ERROR_MS, maxIdleMs);
        },
      )
      .then((at) => {
        passing = undefined;
        if (again) {
          again = false;
          poll();
        } else sleepUntil(at);
      });
  }

  return {
    owner,
    register(kind, handler, options = {}) {
      if (kinds.has(kind)) throw new Error(`a handler for ${kind} is already registered`);
      kinds.set(kind, {
        handler,
        retry: options.retry ?? DEFAULT_RETRY,
        concurrency: options.concurrency ?? DEFAULT_CONCURRENCY,
        leaseMs: options.leaseMs ?? DEFAULT_LEASE_MS,
        running: 0,
      });
    },
    async enqueue(jobs) {
      const result = await enqueue(jobs);
      if (result.some(Boolean)) poll();
      return result;
    },
    schedule(kind, everyMs) {
      schedules.set(kind, { everyMs, lastSlot: undefined });
    },
    start() {
      if (started || stopped) return;
      started = true;
      unsubscribe = deps.wake?.(poll);
      poll();
    },
    async stop(graceMs = DEFAULT_STOP_GRACE_MS) {
      stopped = true;
      if (timer) clearTimeout(timer);
      await unsubscribe?.().catch((error: unknown) => onError(error, {}));
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([passing, ...inFlight]),
        new Promise((resolve) => {
          grace = setTimeout(resolve, graceMs);
          grace.unref();
        }),
      ]);
      clearTimeout(grace);
    },
    async runDue() {
      const { handlers } = await pass();
      await Promise.allSettled(handlers);
      return handlers.length;
    },
  };
}

/** The message only (a stack names files, not causes); handlers never put secrets in errors. */
function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
