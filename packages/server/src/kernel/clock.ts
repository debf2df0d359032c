/** Where the domain reads the time; tests pass a clock they control. Epoch milliseconds, UTC. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that stands still until moved: for tests. */
export function createManualClock(start = Date.UTC(2026, 0, 1)): Clock & { advance(ms: number): void; set(ms: number): void } {
  let current = start;
  return {
    now: () => current,
    advance: (ms) => {
      current += ms;
    },
    set: (ms) => {
      current = ms;
    },
  };
}

/** A clock kept in step with the database's, and how to keep it so. */
export interface AnchoredClock extends Clock {
  /** Measures the offset again now (one query); rejects if the database does not answer. */
  resync(): Promise<void>;
  /** The current correction, in milliseconds (database minus base clock). */
  readonly offsetMs: number;
  stop(): void;
}

/**
 * The instance clock, corrected to the database clock (docs/security.md, item 19): every timestamp an
 * instance writes — a token's creation and expiry, a session's, a sign-in link's — then comes
 * from the one clock all instances share, as the decisions already do, without a query per
 * timestamp. The offset is measured (round trip halved) by `resync()` and then `refreshMs`
 * after the last measurement (the timer restarts at each `resync()`, so the one at start-up is
 * not followed by another for a full interval); until the first measurement it is 0, i.e. the
 * base clock.
 */
export function createDatabaseAnchoredClock(
  database: { now(): Promise<number> },
  options: { base?: Clock; refreshMs?: number; onError?: (error: unknown) => void } = {},
): AnchoredClock {
  const base = options.base ?? systemClock;
  const refreshMs = options.refreshMs ?? 60_000;
  let offset = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const scheduleNext = () => {
    clearTimeout(timer);
    if (stopped) return;
    timer = setTimeout(() => void resync().catch((error: unknown) => options.onError?.(error)), refreshMs);
    timer.unref();
  };
  const resync = async () => {
    try {
      const sent = base.now();
      const databaseNow = await database.now();
      const received = base.now();
      offset = databaseNow - (sent + received) / 2;
    } finally {
      scheduleNext();
    }
  };
  scheduleNext();
  return {
    now: () => Math.round(base.now() + offset),
    resync,
    get offsetMs() {
      return offset;
    },
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
