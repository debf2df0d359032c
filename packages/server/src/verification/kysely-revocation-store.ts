import type { Database } from '../database/database.js';
import type { RevocationEvent, RevocationStore } from './revocation-store.js';

export function createKyselyRevocationStore(database: Database): RevocationStore {
  const { kysely } = database;
  return {
    async eventsAfter(after, limit) {
      const rows = await kysely
        .selectFrom('revocation_events')
        .select(['seq', 'kind', 'subject_id', 'occurred_at'])
        .where('seq', '>', after)
        .orderBy('seq')
        .limit(limit)
        .execute();
      return rows.map(
        (row): RevocationEvent => ({
          seq: Number(row.seq),
          kind: row.kind as RevocationEvent['kind'],
          subjectId: row.subject_id,
          occurredAt: Number(row.occurred_at),
        }),
      );
    },

    async bounds() {
      const row = await kysely
        .selectFrom('revocation_events')
        .select((eb) => [eb.fn.min('seq').as('oldest'), eb.fn.max('seq').as('newest')])
        .executeTakeFirst();
      if (!row || row.oldest === null || row.newest === null) return undefined;
      return { oldest: Number(row.oldest), newest: Number(row.newest) };
    },

    async pruneBefore(occurredBefore, limit) {
      const result = await kysely
        .deleteFrom('revocation_events')
        .where(
          'seq',
          'in',
          kysely
            .selectFrom('revocation_events')
            .select('seq')
            .where('occurred_at', '<', occurredBefore)
            .orderBy('seq')
            .limit(limit)
            // Concurrent pruners (every instance runs one) skip each other's rows instead of waiting.
            .$if(database.dialect === 'postgres', (query) => query.forUpdate().skipLocked()),
        )
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
