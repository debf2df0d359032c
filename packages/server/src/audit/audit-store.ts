import type { AuditEventRecord } from './audit-event.js';

/** Reading the audit trail. Events are written only with the change they record. */
export interface AuditStore {
  /** The most recent events first, optionally only those by one account or made with one token. */
  listAuditEvents(filter: { accountId?: string; tokenId?: string; limit: number }): Promise<AuditEventRecord[]>;
}
