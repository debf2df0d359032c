/**
 * Retention (docs/security.md, item 57): rows that anonymous traffic and ordinary use leave
 * behind — ended sessions, expired sign-in links, OpenID Connect flows and CLI grants — are
 * deleted once they can no longer be used, so the database holds only what is live (plus at
 * most one pruning interval of dead rows).
 *
 * Every instance runs its own pruner on a timer; nothing is elected or locked. That is safe
 * because a prune is an idempotent delete of rows that are dead for good, in small batches of
 * short transactions: two instances pruning at once delete each row once between them (on
 * PostgreSQL a batch skips the rows another pruner holds), and a pruner that dies mid-way leaves
 * only rows the next run deletes.
 */
import type { Clock } from '../kernel/clock.js';

/** Rows deleted per statement: short transactions, no long lock on a busy table. */
export const PRUNE_BATCH_SIZE = 500;
/** How often each instance prunes. */
export const PRUNE_INTERVAL_MS = 5 * 60_000;
/**
 * Rows are pruned only once they have been dead this long, so an instance whose clock runs a
 * little ahead of the database's never deletes a row the database still counts as live.
 */
export const PRUNE_GRACE_MS = 60_000;

/** One kind of row the pruner deletes once dead. */
export interface ExpiredRowPruner {
  /** What it prunes, for the log (a table name). */
  readonly name: string;
  /** Deletes at most `limit` rows dead at `now` (a time that already has the grace taken off); answers how many. */
  prune(now: number, limit: number): Promise<number>;
}

export interface RetentionService {
  /** One full pass: each kind pruned in batches until none of its dead rows is left; counts by name. */
  pruneOnce(): Promise<Record<string, number>>;
  /** Prunes now and then every interval, on a timer that never keeps the process alive. */
  start(): void;
  /** Stops the timer and waits for a pass in progress to finish its current batch. */
  stop(): Promise<void>;
}

export function createRetentionService(deps: {
  pruners: readonly ExpiredRowPruner[];
  clock: Clock;
  intervalMs?: number;
  batchSize?: number;
  onPruned?: (counts: Record<string, number>) => void;
  onError?: (error: unknown) => void;
}): RetentionService {
  const { pruners, clock } = deps;
  const intervalMs = deps.intervalMs ?? PRUNE_INTERVAL_MS;
  const batchSize = deps.batchSize ?? PRUNE_BATCH_SIZE;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = false;

  async function pruneOnce(): Promise<Record<string, number>> {
    const deadBy = clock.now() - PRUNE_GRACE_MS;
    const counts: Record<string, number> = {};
    for (const pruner of pruners) {
      let total = 0;
      for (;;) {
        const deleted = await pruner.prune(deadBy, batchSize);
        total += deleted;
        // A short batch means nothing dead is left; a stop ends the pass between batches.
        if (deleted < batchSize || stopped) break;
      }
      counts[pruner.name] = total;
    }
    return counts;
  }

  function schedule(delayMs: number): void {
    timer = setTimeout(() => {
      running = pruneOnce()
        .then((counts) => {
          if (Object.values(counts).some((count) => count > 0)) deps.onPruned?.(counts);
        })
        .catch((error: unknown) => deps.onError?.(error))
        .finally(() => {
          running = undefined;
          if (!stopped) schedule(intervalMs);
        });
    }, delayMs);
    timer.unref();
  }

  return {
    pruneOnce,
    start() {
      if (timer || stopped) return;
      schedule(0);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
