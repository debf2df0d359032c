/** An audit event written on its own, for administrator actions that change no row of this database (lifting a throttle held in Redis). */
import type { AuditEventInput } from '../audit/audit-event.js';
import { writeWithAudit } from '../audit/kysely-audit-store.js';
import type { Database } from '../database/database.js';

export function createAuditWriter(database: Database): (event: AuditEventInput) => Promise<void> {
  return (event) => writeWithAudit(database, async () => ({ result: undefined, audit: event }));
}
