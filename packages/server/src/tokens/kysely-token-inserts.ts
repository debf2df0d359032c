/**
 * Token creation with group commit (database/group-commit.ts): the creates that arrive while
 * a batch is committing form the next batch, committed in one transaction — one fsync on
 * SQLite, one commit on PostgreSQL — instead of one each, which is what keeps a burst of creates
 * (a CI fleet minting tokens at once) fast. Every create is answered only after the commit that
 * holds it, and is refused alone when its name is taken or its account is full.
 *
 * The same statements run on both dialects. On PostgreSQL the owners' rows are locked first, in
 * id order, so the per-account limit holds across instances (each later statement takes a fresh
 * snapshot and sees every create committed before the lock) and concurrent batches never
 * deadlock; SQLite's `BEGIN IMMEDIATE` already makes the batch the only writer.
 */
import type { Transaction } from 'kysely';
import type { AuditEventInput } from '../audit/audit-event.js';
import { writeWithAudit } from '../audit/kysely-audit-store.js';
import type { Database } from '../database/database.js';
import { BatchQueue } from '../database/group-commit.js';
import type { Tables } from '../database/schema.js';
import { StoreConflictError, type ConflictReason } from '../shared/store-errors.js';
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
    let refusals: Array<ConflictReason | undefined>;
    try {
      refusals = await writeWithAudit(database, async (trx) => {
        if (database.dialect === 'postgres') await lockOwners(trx, batch);
        const result: Array<ConflictReason | undefined> = [];
        for (const insert of batch) result.push(await insertOne(trx, insert));
        return { result, audit: batch.filter((_, index) => result[index] === undefined).map((insert) => insert.audit) };
      });
    } catch (error) {
      // Anything but a per-create refusal (disk full, a lost connection) fails the whole batch.
      for (const insert of batch) insert.reject(error);
      return;
    }
    batch.forEach((insert, index) => {
      const refusal = refusals[index];
      if (refusal) insert.reject(new StoreConflictError(refusal));
      else insert.resolve();
    });
  }

  return (token, limits, audit) => new Promise((resolve, reject) => queue.add({ token, limits, audit, resolve, reject }));
}

async function lockOwners(trx: Transaction<Tables>, batch: readonly PendingInsert[]): Promise<void> {
  const owners = [...new Set(batch.map((insert) => insert.token.accountId))];
  await trx.selectFrom('accounts').select('id').where('id', 'in', owners).orderBy('id').forUpdate().execute();
}

/** One create inside the batch's transaction: the account's limit, then the insert unless the name is taken. */
async function insertOne(trx: Transaction<Tables>, { token, limits }: PendingInsert): Promise<ConflictReason | undefined> {
  const { count } = await trx
    .selectFrom('tokens')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('account_id', '=', token.accountId)
    .where('revoked_at', 'is', null)
    .executeTakeFirstOrThrow();
  if (Number(count) >= limits.maxActive) return 'token_limit_reached';
  const inserted = await trx
    .insertInto('tokens')
    .values(tokenRow(token))
    // The unique index on (account_id, name) among unrevoked tokens: a taken name inserts nothing.
    .onConflict((conflict) => conflict.columns(['account_id', 'name']).where('revoked_at', 'is', null).doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted ? undefined : 'token_name_taken';
}
