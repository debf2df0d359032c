/** The revocation feed as stored (written by database triggers; see 0013_revocation_events). */
export interface RevocationEvent {
  seq: number;
  /** `token`: revoked, or deleted with its account; `account`: disabled or deleted. */
  kind: 'token' | 'account';
  subjectId: string;
  occurredAt: number;
}

export interface RevocationStore {
  /** Events with `seq` above `after`, in `seq` order, at most `limit`. */
  eventsAfter(after: number, limit: number): Promise<RevocationEvent[]>;
  /** The lowest and highest `seq` kept, or undefined while the feed is empty. */
  bounds(): Promise<{ oldest: number; newest: number } | undefined>;
  /** Deletes up to `limit` events older than `occurredBefore`; returns how many. */
  pruneBefore(occurredBefore: number, limit: number): Promise<number>;
}
