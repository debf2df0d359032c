/**
 * Group commit: writes that arrive while the previous batch is committing are handed over
 * together, so a burst shares one transaction (one fsync on SQLite, one commit on PostgreSQL)
 * instead of paying one each. Each item is still answered only after the commit that holds it.
 * Used by token creation (tokens/kysely-kysely-token-inserts.ts), the write that comes in bursts (a CI fleet
 * minting tokens at once).
 */
export class BatchQueue<T> {
  private waiting: T[] = [];
  private committing = false;

  /** `commit` receives each batch; it must settle every item of it. */
  constructor(private readonly commit: (batch: readonly T[]) => Promise<void>) {}

  /** The first item starts a batch on the next turn of the event loop. */
  add(item: T): void {
    this.waiting.push(item);
    if (!this.committing && this.waiting.length === 1) setImmediate(() => void this.drain());
  }

  private async drain(): Promise<void> {
    if (this.committing) return;
    this.committing = true;
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting;
        this.waiting = [];
        await this.commit(batch);
      }
    } finally {
      this.committing = false;
    }
  }
}
