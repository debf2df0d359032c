import type { AuditEventFilter, AuditEventRecord, SequencedAuditEvent } from './audit-event.js';

/** Reading the audit trail. Events are written only with the change they record. */
export interface AuditStore {
  /** The most recent events first, optionally only those by one account or made with one token. */
  listAuditEvents(filter: { accountId?: string; tokenId?: string; limit: number }): Promise<AuditEventRecord[]>;
  /** A page of events matching every filter given, newest first (seq descending), before `beforeSeq`. */
  listAuditPage(filter: AuditEventFilter): Promise<SequencedAuditEvent[]>;
}
