/**
 * Lookups that arrive together share one query: each call joins the batch that has not been sent
 * yet, and a batch is sent once the current turn of the event loop is over (every request parsed
 * in it has asked by then) and fewer than `maxInFlight` batches are waiting on the database.
 * While that many are out, new calls gather in the next batch, so under load each round trip
 * answers many requests and at rest a lone call waits for nothing but one `setImmediate`.
 *
 * Still exact: a call never joins a batch already sent, so the query that answers it starts
 * after the call was made and sees every write committed before — a revoke that has returned is
 * refused by the next lookup on every instance, as with one query per lookup.
 */
export interface CoalescedLookupOptions<Key, Row> {
  /** Runs one batch: the rows found for these keys (in any order; keys without a row omitted). */
  loadMany(keys: readonly Key[]): Promise<readonly Row[]>;
  /** The key a row answers, as a string (rows and calls are matched by it). */
  keyOfRow(row: Row): string;
  /** The key of a call, as a string. */
  keyOf(key: Key): string;
  /** Batches that may wait on the database at once (at most the connection pool's size). */
  maxInFlight: number;
  /** Keys in one batch at most (one array parameter: the statement's plan does not change). */
  maxBatchSize: number;
}

interface Waiter<Row> {
  resolve(row: Row | undefined): void;
  reject(error: unknown): void;
}

export function createCoalescedLookup<Key, Row>(options: CoalescedLookupOptions<Key, Row>): (key: Key) => Promise<Row | undefined> {
  const { loadMany, keyOfRow, keyOf, maxInFlight, maxBatchSize } = options;
  let pending = new Map<string, { key: Key; waiters: Waiter<Row>[] }>();
  let flushScheduled = false;
  let inFlight = 0;

  const send = (batch: Map<string, { key: Key; waiters: Waiter<Row>[] }>): void => {
    inFlight += 1;
    const keys = [...batch.values()].map((entry) => entry.key);
    loadMany(keys).then(
      (rows) => {
        const found = new Map<string, Row>();
        for (const row of rows) found.set(keyOfRow(row), row);
        for (const [id, entry] of batch) for (const waiter of entry.waiters) waiter.resolve(found.get(id));
      },
      (error: unknown) => {
        for (const entry of batch.values()) for (const waiter of entry.waiters) waiter.reject(error);
      },
    ).finally(() => {
      inFlight -= 1;
      flush();
    });
  };

  // Sends what has gathered, as long as the database has room for another batch.
  const flush = (): void => {
    while (pending.size > 0 && inFlight < maxInFlight) {
      let batch = pending;
      if (batch.size > maxBatchSize) {
        batch = new Map([...pending].slice(0, maxBatchSize));
        for (const id of batch.keys()) pending.delete(id);
      } else {
        pending = new Map();
      }
      send(batch);
    }
  };

  const scheduleFlush = (): void => {
    if (flushScheduled) return;
    flushScheduled = true;
    setImmediate(() => {
      flushScheduled = false;
      flush();
    });
  };

  return (key) =>
    new Promise<Row | undefined>((resolve, reject) => {
      const id = keyOf(key);
      const entry = pending.get(id);
      if (entry) entry.waiters.push({ resolve, reject });
      else pending.set(id, { key, waiters: [{ resolve, reject }] });
      scheduleFlush();
    });
}
