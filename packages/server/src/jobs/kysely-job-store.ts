/**
 * The job queue in the `jobs` table. `enqueueJobsIn` is how another capability's Kysely store
 * enqueues inside its own transaction, so a job is committed with the change that causes it
 * (or not at all): see docs/jobs.md.
 */
import type { Kysely, Transaction, Updateable } from 'kysely';
import { chunks } from '../database/chunks.js';
import type { Database } from '../database/database.js';
import { JOB_COLUMNS, type JobsTable, type Tables } from '../database/schema.js';
import { newId } from '../kernel/ids.js';
import type { JobRecord, JobState, NewJob } from './job.js';
import type { JobStore } from './job-store.js';

/** A stored error is for the operator's eye, not a log dump. */
const LAST_ERROR_MAX = 500;

/**
 * Inserts the jobs in the caller's transaction (or on the connection), leaving out any whose
 * dedupe key is taken; answers, per job, whether it was new. On PostgreSQL, a concurrent
 * transaction inserting the same key makes this one wait for it and then leave the job out.
 */
export async function enqueueJobsIn(db: Kysely<Tables> | Transaction<Tables>, jobs: readonly NewJob[], now: number): Promise<boolean[]> {
  const rows = jobs.map((job) => ({
    id: newId(),
    kind: job.kind,
    payload: JSON.stringify(job.payload ?? null),
    dedupe_key: job.dedupeKey ?? null,
    state: 'pending' satisfies JobState,
    run_at: job.runAt,
    attempts: 0,
    created_at: now,
  }));
  const inserted = new Set<string>();
  for (const chunk of chunks(rows)) {
    const returned = await db
      .insertInto('jobs')
      .values(chunk)
      .onConflict((conflict) => conflict.column('dedupe_key').doNothing())
      .returning('id')
      .execute();
    for (const { id } of returned) inserted.add(id);
  }
  return rows.map((row) => inserted.has(row.id));
}

export function createKyselyJobStore(database: Database): JobStore {
  const { kysely } = database;

  const due = (db: Kysely<Tables>, kinds: readonly string[], now: number, limit: number) =>
    db
      .selectFrom('jobs')
      .select('id')
      .where('kind', 'in', kinds)
      .where((eb) =>
        eb.or([
          eb.and([eb('state', '=', 'pending'), eb('run_at', '<=', now)]),
          // A lease that ran out: its runner died or stalled; the job is anyone's again.
          eb.and([eb('state', '=', 'running'), eb('locked_until', '<=', now)]),
        ]),
      )
      .orderBy('run_at')
      .limit(limit);

  /** Updates the job only while `owner` holds its lease; answers whether it did. */
  async function updateHeld(id: string, owner: string, changes: Updateable<JobsTable>): Promise<boolean> {
    const row = await kysely
      .updateTable('jobs')
      .set(changes)
      .where('id', '=', id)
      .where('locked_by', '=', owner)
      .where('state', '=', 'running')
      .returning('id')
      .executeTakeFirst();
    return row !== undefined;
  }

  return {
    enqueue: (jobs, now) => enqueueJobsIn(kysely, jobs, now),

    async claim(owner, kinds, now, leaseUntil, limit) {
      if (kinds.length === 0 || limit <= 0) return [];
      // Read first, outside a transaction: an idle poll takes no lock (on SQLite, no write lock).
      if (!(await due(kysely, kinds, now, 1).executeTakeFirst())) return [];
      return kysely.transaction().execute(async (trx) => {
        const ids = await due(trx, kinds, now, limit)
          // SQLite runs one write transaction at a time (begun IMMEDIATE), so this one is the only claimer.
          .$if(database.dialect === 'postgres', (query) => query.forUpdate().skipLocked())
          .execute();
        if (ids.length === 0) return [];
        const rows = await trx
          .updateTable('jobs')
          .set((eb) => ({ state: 'running', locked_by: owner, locked_until: leaseUntil, attempts: eb('attempts', '+', 1) }))
          .where(
            'id',
            'in',
            ids.map((row) => row.id),
          )
          .returning(JOB_COLUMNS)
          .execute();
        return rows.map(toJob).sort((a, b) => a.runAt - b.runAt);
      });
    },

    async nextDueAt(kinds) {
      if (kinds.length === 0) return undefined;
      // Two minimums in one statement, each over its own index (state, run_at) and (state, locked_until).
      const row = await kysely
        .selectNoFrom((eb) => [
          eb.selectFrom('jobs').select((inner) => inner.fn.min('run_at').as('at')).where('state', '=', 'pending').where('kind', 'in', kinds).as('pending'),
          eb.selectFrom('jobs').select((inner) => inner.fn.min('locked_until').as('at')).where('state', '=', 'running').where('kind', 'in', kinds).as('leased'),
        ])
        .executeTakeFirstOrThrow();
      const times = [row.pending, row.leased].filter((at) => at !== null && at !== undefined).map(Number);
      return times.length === 0 ? undefined : Math.min(...times);
    },

    complete: (id, owner, now) => updateHeld(id, owner, { state: 'done', finished_at: now, locked_by: null, locked_until: null }),

    fail(id, owner, error, retryAt, now) {
      const lastError = error.slice(0, LAST_ERROR_MAX);
      return updateHeld(
        id,
        owner,
        retryAt === null
          ? { state: 'failed', finished_at: now, locked_by: null, locked_until: null, last_error: lastError }
          : { state: 'pending', run_at: retryAt, locked_by: null, locked_until: null, last_error: lastError },
      );
    },

    async pruneFinished(before, limit) {
      const batch = kysely
        .selectFrom('jobs')
        .select('id')
        .where('state', 'in', ['done', 'failed'])
        .where('finished_at', '<', before)
        .limit(limit);
      const result = await kysely.deleteFrom('jobs').where('id', 'in', batch).executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    async findJob(id) {
      const row = await kysely.selectFrom('jobs').select(JOB_COLUMNS).where('id', '=', id).executeTakeFirst();
      return row && toJob(row);
    },
  };
}

function toJob(row: Pick<JobsTable, (typeof JOB_COLUMNS)[number]>): JobRecord {
  return {
    id: row.id,
    kind: row.kind,
    payload: JSON.parse(row.payload) as unknown,
    dedupeKey: row.dedupe_key,
    state: row.state as JobState,
    runAt: Number(row.run_at),
    attempts: Number(row.attempts),
    lockedBy: row.locked_by,
    lockedUntil: row.locked_until === null ? null : Number(row.locked_until),
    lastError: row.last_error,
    createdAt: Number(row.created_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
  };
}
