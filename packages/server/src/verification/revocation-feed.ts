/**
 * The revocation feed behind `GET /api/v1/revocations` (docs/forward-auth.md): every token that
 * stops working and every account disabled or deleted, from every instance, pushed to the
 * streams of this instance as soon as it is seen.
 *
 * The database writes the events (triggers, in the transaction of the change). This instance
 * reads what is new when it is woken — by a local write that can change authentication, by a
 * PostgreSQL notification from another instance — and at least once a second besides.
 *
 * Sequence numbers are handed out before commit, so on PostgreSQL a lower one can become
 * visible after a higher one (two revokes committing in the other order). The feed therefore
 * keeps a floor below which everything was delivered, re-reads from it, and steps over a
 * missing number only once it has stayed missing for a while (a rolled-back transaction leaves
 * a gap for good). An event is never skipped because it committed late; one may be delivered to
 * a resuming client twice, which is harmless: a revocation is idempotent.
 */
import type { Clock } from '../kernel/clock.js';
import type { RevocationEvent, RevocationStore } from './revocation-store.js';

export type { RevocationEvent };

/** How long revocation events are kept: a stream client away longer resumes with a reset. */
export const REVOCATION_FEED_RETENTION_MS = 24 * 60 * 60 * 1000;
/** A missing sequence number is waited for this long before the floor steps over it. */
export const GAP_PATIENCE_MS = 5_000;
/** Without any wake-up, the feed reads at least this often. */
export const FEED_POLL_MS = 1_000;
const READ_BATCH = 1_000;

export type FeedListener = (events: RevocationEvent[], floor: number) => void;

export interface RevocationFeed {
  /** Reads where the feed stands and starts following it (done by the first `follow` too). */
  start(): Promise<void>;
  /** Reads what is new now (wake-ups call this; serialized). */
  poll(): Promise<void>;
  /**
   * Everything after `after` that was already delivered, and future events as they come: the
   * replay is read, then the listener is added, with nothing lost between (events delivered
   * meanwhile reach the listener; a few may come twice). `reset`: `after` is older than what
   * is kept, so the client's view cannot be brought up to date event by event.
   */
  follow(after: number | undefined, listener: FeedListener): Promise<{ replay: RevocationEvent[]; reset: boolean; floor: number; stop(): void }>;
  /** Where a client may resume from, having seen everything delivered so far. */
  floor(): number;
  stop(): Promise<void>;
}

export function createRevocationFeed(deps: {
  store: RevocationStore;
  clock: Clock;
  /** Subscribes to wake-ups (local writes, notifications); returns the unsubscribe. */
  wake?: (poll: () => void) => () => Promise<void> | void;
  pollIntervalMs?: number;
  onError?: (error: unknown) => void;
}): RevocationFeed {
  const { store, clock } = deps;
  const listeners = new Set<FeedListener>();
  /** Every event with seq ≤ floor has been delivered (or its number was given up on). */
  let floor = 0;
  /** Delivered events above the floor (a lower one is still missing). */
  const deliveredAbove = new Set<number>();
  /** Missing numbers above the floor, with when they were first seen missing. */
  const missingSince = new Map<number, number>();
  let reading: Promise<void> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let unwake: (() => Promise<void> | void) | undefined;
  let starting: Promise<void> | undefined;

  async function readOnce(): Promise<void> {
    for (;;) {
      const events = await store.eventsAfter(floor, READ_BATCH);
      const fresh = events.filter((event) => !deliveredAbove.has(event.seq));
      for (const event of fresh) deliveredAbove.add(event.seq);
      advance(events);
      if (fresh.length > 0) for (const listener of listeners) listener(fresh, floor);
      if (events.length < READ_BATCH) return;
    }
  }

  /** Moves the floor over delivered numbers, and over numbers missing for too long. */
  function advance(read: RevocationEvent[]): void {
    const highest = read.length > 0 ? read[read.length - 1]!.seq : floor;
    const now = clock.now();
    for (let seq = floor + 1; seq < highest; seq++) {
      if (!deliveredAbove.has(seq) && !missingSince.has(seq)) missingSince.set(seq, now);
    }
    for (;;) {
      const next = floor + 1;
      if (deliveredAbove.delete(next)) {
        floor = next;
        continue;
      }
      const since = missingSince.get(next);
      if (since !== undefined && now - since >= GAP_PATIENCE_MS) {
        missingSince.delete(next);
        floor = next;
        continue;
      }
      break;
    }
    for (const seq of missingSince.keys()) if (seq <= floor) missingSince.delete(seq);
  }

  async function poll(): Promise<void> {
    if (reading) {
      again = true;
      return reading;
    }
    reading = (async () => {
      try {
        do {
          again = false;
          await readOnce();
        } while (again);
      } catch (error) {
        deps.onError?.(error);
      } finally {
        reading = undefined;
      }
    })();
    return reading;
  }

  function start(): Promise<void> {
    starting ??= (async () => {
      floor = (await store.bounds())?.newest ?? 0;
      unwake = deps.wake?.(() => void poll());
      timer = setInterval(() => void poll(), deps.pollIntervalMs ?? FEED_POLL_MS);
      timer.unref();
    })();
    return starting;
  }

  return {
    start,
    poll,
    async follow(after, listener) {
      await start();
      listeners.add(listener);
      const stop = () => listeners.delete(listener);
      if (after === undefined || after >= floor) return { replay: [], reset: false, floor, stop };
      const bounds = await store.bounds();
      // Events after `after` were pruned: the client cannot catch up one event at a time.
      if (bounds && after < bounds.oldest - 1) return { replay: [], reset: true, floor, stop };
      const replay: RevocationEvent[] = [];
      for (let from = after; ; ) {
        const events = await store.eventsAfter(from, READ_BATCH);
        replay.push(...events);
        if (events.length < READ_BATCH) break;
        from = events[events.length - 1]!.seq;
      }
      return { replay, reset: false, floor, stop };
    },
    floor: () => floor,
    async stop() {
      if (timer) clearInterval(timer);
      listeners.clear();
      await unwake?.();
    },
  };
}
