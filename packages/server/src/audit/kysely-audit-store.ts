/**
 * The audit trail in the `audit_events` table, and `writeWithAudit`: the one way a store writes
 * a change together with the events that record it.
 */
import type { ExpressionBuilder, Transaction } from 'kysely';
import { chunks } from '../database/chunks.js';
import type { Database } from '../database/database.js';
import { AUDIT_EVENT_COLUMNS, type Tables } from '../database/schema.js';
import { auditEventJob } from '../jobs/events.js';
import { enqueueJobsIn } from '../jobs/kysely-job-store.js';
import type { AuditEventInput, AuditEventRecord, SequencedAuditEvent } from './audit-event.js';
import type { AuditStore } from './audit-store.js';

/**
 * Runs `write` in a transaction and records the audit events it returns in the same
 * transaction: the change and its record are committed together or not at all. `write`
 * answers its result and the events (none, e.g. when it found nothing to change).
 */
export function writeWithAudit<T>(
  database: Database,
  write: (trx: Transaction<Tables>) => Promise<{ result: T; audit: AuditEventInput | readonly AuditEventInput[] | null }>,
): Promise<T> {
  let enqueued = false;
  const committed = database.kysely.transaction().execute(async (trx) => {
    const { result, audit } = await write(trx);
    if (audit) enqueued = await insertAuditEvents(trx, Array.isArray(audit) ? audit : [audit as AuditEventInput]);
    return result;
  });
  return committed.then((result) => {
    if (enqueued) database.committedJobs.announce();
    return result;
  });
}

/**
 * Multi-row inserts: a report revoking 1,000 tokens is two statements, not 1,000. Events whose
 * action is a lifecycle event (jobs/events.ts) are enqueued for the notification channels in
 * the same transaction: committed with the change, or not at all. Answers whether any was.
 */
async function insertAuditEvents(trx: Transaction<Tables>, events: readonly AuditEventInput[]): Promise<boolean> {
  for (const chunk of chunks(events)) await trx.insertInto('audit_events').values(chunk.map(auditRow)).execute();
  const jobs = events.map(auditEventJob).filter((job) => job !== undefined);
  if (jobs.length === 0) return false;
  await enqueueJobsIn(trx, jobs, jobs[0]!.runAt);
  return true;
}

function auditRow(event: AuditEventInput) {
  return {
    id: event.id,
    occurred_at: event.occurredAt,
    action: event.action,
    actor_account_id: event.actor.accountId,
    actor_token_id: event.actor.tokenId,
    actor_ip: event.actor.ip,
    target_id: event.targetId,
    detail: JSON.stringify(event.detail ?? {}),
  };
}

export function createKyselyAuditStore(database: Database): AuditStore {
  const { kysely } = database;
  return {
    async listAuditEvents(filter) {
      let query = kysely.selectFrom('audit_events').select(AUDIT_EVENT_COLUMNS);
      if (filter.accountId) query = query.where('actor_account_id', '=', filter.accountId);
      if (filter.tokenId) query = query.where(byOrAboutToken(filter.tokenId));
      const rows = await query.orderBy('seq', 'desc').limit(filter.limit).execute();
      return rows.map(toAuditEvent);
    },

    async listAuditPage(filter) {
      let query = kysely.selectFrom('audit_events').select(AUDIT_EVENT_COLUMNS).select('seq');
      if (filter.actorAccountId !== undefined) query = query.where('actor_account_id', '=', filter.actorAccountId);
      if (filter.tokenId !== undefined) query = query.where(byOrAboutToken(filter.tokenId));
      if (filter.action !== undefined) query = query.where('action', '=', filter.action);
      if (filter.since !== undefined) query = query.where('occurred_at', '>=', filter.since);
      if (filter.until !== undefined) query = query.where('occurred_at', '<', filter.until);
      if (filter.beforeSeq !== undefined) query = query.where('seq', '<', filter.beforeSeq);
      const rows = await query.orderBy('seq', 'desc').limit(filter.limit).execute();
      return rows.map((row): SequencedAuditEvent => ({ ...toAuditEvent(row), seq: Number(row.seq) }));
    },
  };
}

/** A token's trail: what was done with it, and what was done to it (its creation, rotation, revoke). */
function byOrAboutToken(tokenId: string) {
  return (eb: ExpressionBuilder<Tables, 'audit_events'>) => eb.or([eb('actor_token_id', '=', tokenId), eb('target_id', '=', tokenId)]);
}

function toAuditEvent(row: {
  id: string;
  occurred_at: number;
  action: string;
  actor_account_id: string | null;
  actor_token_id: string | null;
  actor_ip: string | null;
  target_id: string;
  detail: string;
}): AuditEventRecord {
  return {
    id: row.id,
    occurredAt: Number(row.occurred_at),
    action: row.action as AuditEventRecord['action'],
    actor: { accountId: row.actor_account_id, tokenId: row.actor_token_id, ip: row.actor_ip },
    targetId: row.target_id,
    detail: JSON.parse(row.detail) as Record<string, unknown>,
  };
}
