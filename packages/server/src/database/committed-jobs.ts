/**
 * Jobs a store enqueued inside its own transaction (an audit event's lifecycle event, a webhook
 * delivery) are announced here once that transaction has committed, so this process's job
 * runner claims them at once. Other instances hear of them through PostgreSQL's NOTIFY; on
 * SQLite there is no such channel, and without this the runner would find them only at its idle
 * cap (jobs/job-runner.ts).
 */
export class CommittedJobs {
  private readonly listeners = new Set<() => void>();

  /** Returns the unsubscribe. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  announce(): void {
    for (const listener of this.listeners) listener();
  }
}
