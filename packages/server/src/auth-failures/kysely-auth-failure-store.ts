/** The `auth_failures` table: failures per client key and 30-second bucket. */
import { sql } from 'kysely';
import type { Database } from '../database/database.js';
import type { AuthFailureStore } from './auth-failure-store.js';

/** Aged-out buckets are pruned on every this-many-th recorded failure. */
const PRUNE_EVERY = 64;

export function createKyselyAuthFailureStore(database: Database): AuthFailureStore {
  const { kysely } = database;
  let failuresRecorded = 0;

  return {
    async recordAuthFailure(clientKey, { bucket, oldestBucket }) {
      // An atomic upsert, so concurrent failures on several instances all count.
      await kysely
        .insertInto('auth_failures')
        .values({ client_key: clientKey, bucket, failures: 1 })
        .onConflict((conflict) =>
          conflict.columns(['client_key', 'bucket']).doUpdateSet({ failures: sql<number>`auth_failures.failures + 1` }),
        )
        .execute();
      const { failures } = await kysely
        .selectFrom('auth_failures')
        .select((eb) => eb.fn.coalesce(eb.fn.sum<number | string>('failures'), sql<number>`0`).as('failures'))
        .where('client_key', '=', clientKey)
        .where('bucket', '>=', oldestBucket)
        .executeTakeFirstOrThrow();
      if (++failuresRecorded % PRUNE_EVERY === 0) {
        await kysely.deleteFrom('auth_failures').where('bucket', '<', oldestBucket).execute();
      }
      return Number(failures);
    },

    async countAuthFailures(clientKey, oldestBucket) {
      const { failures } = await kysely
        .selectFrom('auth_failures')
        .select((eb) => eb.fn.coalesce(eb.fn.sum<number | string>('failures'), sql<number>`0`).as('failures'))
        .where('client_key', '=', clientKey)
        .where('bucket', '>=', oldestBucket)
        .executeTakeFirstOrThrow();
      return Number(failures);
    },

    async listAuthFailures(oldestBucket, threshold, limit) {
      const rows = await kysely
        .selectFrom('auth_failures')
        .select((eb) => [
          'client_key',
          eb.fn.sum<number | string>('failures').as('failures'),
          eb.fn.min<number | string>('bucket').as('oldest'),
          eb.fn.max<number | string>('bucket').as('newest'),
        ])
        .where('bucket', '>=', oldestBucket)
        .groupBy('client_key')
        .having((eb) => eb.fn.sum('failures'), '>=', threshold)
        .orderBy('failures', 'desc')
        .orderBy('client_key')
        .limit(limit)
        .execute();
      return rows.map((row) => ({
        clientKey: row.client_key,
        failures: Number(row.failures),
        oldestBucket: Number(row.oldest),
        newestBucket: Number(row.newest),
      }));
    },

    async deleteAuthFailures(clientKey) {
      const result = await kysely.deleteFrom('auth_failures').where('client_key', '=', clientKey).executeTakeFirst();
      return result.numDeletedRows > 0n;
    },
  };
}
