/**
 * Token creation with group commit (database/group-commit.ts): the creates that arrive while
 * a batch is committing form the next batch, committed in one transaction — one fsync on
 * SQLite, one commit on PostgreSQL — instead of one each, which is what keeps a burst of creates
 * (a CI fleet minting tokens at once) fast. Every create is answered only after the commit that
 * holds it, and is refused alone when its name is taken or its account is full.
 *
 * A batch costs the same few statements however many creates it holds, on both dialects: the
 * owners' rows locked (PostgreSQL), their live-token counts, one multi-row insert that skips a
 * taken name, one multi-row audit insert. The lock is taken in id order, so the per-account
 * limit holds across instances (the statements after it take fresh snapshots and see every
 * create committed before it) and concurrent batches never deadlock; SQLite's
 * `BEGIN IMMEDIATE` already makes the batch the only writer.
 */
import type { Transaction } from 'kysely';
import type { AuditEventInput } from '../audit/audit-event.js';
import { writeWithAudit } from '../audit/kysely-audit-store.js';
import { chunks } from '../database/chunks.js';
import type { Database } from '../database/database.js';
import { BatchQueue } from '../database/group-commit.js';
import type { Tables } from '../database/schema.js';
import { StoreConflictError, type ConflictReason } from '../kernel/store-errors.js';
import type { NewToken } from './token.js';
import { tokenRow } from './kysely-token-rows.js';

interface PendingInsert {
  token: NewToken;
  limits: { maxActive: number };
  audit: AuditEventInput;
  resolve(): void;
  reject(error: unknown): void;
}

export type InsertToken = (token: NewToken, limits: { maxActive: number }, audit: AuditEventInput) => Promise<void>;

export function createTokenInserts(database: Database): InsertToken {
  const queue = new BatchQueue<PendingInsert>(commit);

  async function commit(batch: readonly PendingInsert[]): Promise<void> {
    let refusals: Map<PendingInsert, ConflictReason>;
    try {
      refusals = await writeWithAudit(database, async (trx) => {
        if (database.dialect === 'postgres') await lockOwners(trx, batch);
        const refused = await insertBatch(trx, batch);
        return { result: refused, audit: batch.filter((insert) => !refused.has(insert)).map((insert) => insert.audit) };
      });
    } catch (error) {
      // Anything but a per-create refusal (disk full, a lost connection) fails the whole batch.
      for (const insert of batch) insert.reject(error);
      return;
    }
    for (const insert of batch) {
      const refusal = refusals.get(insert);
      if (refusal) insert.reject(new StoreConflictError(refusal));
      else insert.resolve();
    }
  }

  return (token, limits, audit) => new Promise((resolve, reject) => queue.add({ token, limits, audit, resolve, reject }));
}

async function lockOwners(trx: Transaction<Tables>, batch: readonly PendingInsert[]): Promise<void> {
  const owners = [...new Set(batch.map((insert) => insert.token.accountId))];
  await trx.selectFrom('accounts').select('id').where('id', 'in', owners).orderBy('id').forUpdate().execute();
}

/**
 * The batch's creates, in arrival order, as if made one after another: each account's live
 * tokens are counted once, a create that would pass its account's limit is refused, and the rest
 * go in one insert that skips a taken name. A create refused for its name took no slot, so if
 * that happened to an account that also had a create refused for the limit, those are tried
 * again against a fresh count (rare: the account must be at its limit with a name clash).
 */
async function insertBatch(trx: Transaction<Tables>, batch: readonly PendingInsert[]): Promise<Map<PendingInsert, ConflictReason>> {
  const refused = new Map<PendingInsert, ConflictReason>();
  let pending = batch;
  while (pending.length > 0) {
    const live = await liveTokenCounts(trx, [...new Set(pending.map((insert) => insert.token.accountId))]);
    const candidates: PendingInsert[] = [];
    const overLimit: PendingInsert[] = [];
    for (const insert of pending) {
      const account = insert.token.accountId;
      const count = live.get(account) ?? 0;
      if (count >= insert.limits.maxActive) {
        overLimit.push(insert);
      } else {
        candidates.push(insert);
        live.set(account, count + 1);
      }
    }
    const inserted = await insertSkippingTakenNames(trx, candidates);
    const nameTaken = candidates.filter((insert) => !inserted.has(insert.token.id));
    for (const insert of nameTaken) refused.set(insert, 'token_name_taken');
    const freedAccounts = new Set(nameTaken.map((insert) => insert.token.accountId));
    pending = overLimit.filter((insert) => freedAccounts.has(insert.token.accountId));
    for (const insert of overLimit) if (!freedAccounts.has(insert.token.accountId)) refused.set(insert, 'token_limit_reached');
  }
  return refused;
}

async function liveTokenCounts(trx: Transaction<Tables>, accountIds: readonly string[]): Promise<Map<string, number>> {
  const rows = await trx
    .selectFrom('tokens')
    .select((eb) => ['account_id', eb.fn.countAll<number>().as('count')])
    .where('account_id', 'in', accountIds)
    .where('revoked_at', 'is', null)
    .where('replaced_by', 'is', null)
    .groupBy('account_id')
    .execute();
  return new Map(rows.map((row) => [row.account_id, Number(row.count)]));
}

/** The ids inserted; a row whose name its account already uses (unrevoked) is skipped. */
async function insertSkippingTakenNames(trx: Transaction<Tables>, inserts: readonly PendingInsert[]): Promise<Set<string>> {
  const inserted = new Set<string>();
  for (const chunk of chunks(inserts)) {
    const rows = await trx
      .insertInto('tokens')
      .values(chunk.map((insert) => tokenRow(insert.token)))
      // The unique index on (account_id, name) among current tokens (neither revoked nor replaced
      // by rotation, 0015), also between rows of this insert.
      .onConflict((conflict) =>
        conflict.columns(['account_id', 'name']).where('revoked_at', 'is', null).where('replaced_by', 'is', null).doNothing(),
      )
      .returning('id')
      .execute();
    for (const row of rows) inserted.add(row.id);
  }
  return inserted;
}
