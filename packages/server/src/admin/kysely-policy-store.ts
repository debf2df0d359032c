/** The `policy` table (0012): one row, id 1. */
import { isTokenScope, type TokenScope } from '@latchkey/contract/scopes';
import { writeWithAudit } from '../audit/kysely-audit-store.js';
import type { Database } from '../database/database.js';
import { nullableNumber } from '../database/schema.js';
import type { PolicyStore } from './policy-service.js';

const POLICY_ID = 1;

export function createKyselyPolicyStore(database: Database): PolicyStore {
  const { kysely } = database;
  return {
    async readPolicy() {
      const row = await kysely.selectFrom('policy').selectAll().where('id', '=', POLICY_ID).executeTakeFirst();
      if (!row) return undefined;
      return {
        maxLifetimeDays: Number(row.max_lifetime_days),
        serviceMaxLifetimeDays: nullableNumber(row.service_max_lifetime_days),
        personalScopes: row.personal_scopes.split(' ').filter(isTokenScope) as TokenScope[],
        idleRevokeDays: nullableNumber(row.idle_revoke_days),
        updatedAt: Number(row.updated_at),
      };
    },

    writePolicy(policy, audit) {
      return writeWithAudit(database, async (trx) => {
        const values = {
          max_lifetime_days: policy.maxLifetimeDays,
          service_max_lifetime_days: policy.serviceMaxLifetimeDays,
          personal_scopes: policy.personalScopes.join(' '),
          idle_revoke_days: policy.idleRevokeDays,
          updated_at: policy.updatedAt,
        };
        await trx
          .insertInto('policy')
          .values({ id: POLICY_ID, ...values })
          .onConflict((conflict) => conflict.column('id').doUpdateSet(values))
          .execute();
        return { result: undefined, audit };
      });
    },
  };
}
