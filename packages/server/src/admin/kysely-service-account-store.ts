/** Service accounts: `accounts` rows with kind 'service' (0012), their creator joined. */
import { writeWithAudit } from '../audit/kysely-audit-store.js';
import type { Database } from '../database/database.js';
import type { ServiceAccountRecord, ServiceAccountStore } from './service-account-store.js';

export function createKyselyServiceAccountStore(database: Database): ServiceAccountStore {
  const { kysely } = database;

  const rows = (now: number) =>
    kysely
      .selectFrom('accounts as s')
      .leftJoin('accounts as c', 'c.id', 's.created_by')
      .select(['s.id', 's.name', 's.description', 's.created_at', 'c.id as creator_id', 'c.email as creator_email', 'c.name as creator_name'])
      .select((eb) =>
        eb
          .selectFrom('tokens')
          .select((inner) => inner.fn.countAll<number>().as('count'))
          .whereRef('tokens.account_id', '=', 's.id')
          .where('tokens.revoked_at', 'is', null)
          .where('tokens.expires_at', '>', now)
          .as('active_tokens'),
      )
      .where('s.kind', '=', 'service');

  type Row = Awaited<ReturnType<ReturnType<typeof rows>['executeTakeFirstOrThrow']>>;
  const toRecord = (row: Row): ServiceAccountRecord => ({
    id: row.id,
    name: row.name ?? '',
    description: row.description ?? null,
    createdAt: Number(row.created_at),
    createdBy: row.creator_id ? { id: row.creator_id, email: row.creator_email ?? null, name: row.creator_name ?? null } : null,
    activeTokens: Number(row.active_tokens ?? 0),
  });

  return {
    insertServiceAccount(account, audit) {
      return writeWithAudit(database, async (trx) => {
        await trx
          .insertInto('accounts')
          .values({
            id: account.id,
            email: null,
            name: account.name,
            is_admin: 0,
            created_at: account.createdAt,
            disabled_at: null,
            kind: 'service',
            description: account.description,
            created_by: account.createdBy,
          })
          .execute();
        return { result: undefined, audit };
      });
    },

    async listServiceAccounts({ after, limit, now }) {
      let query = rows(now);
      if (after) {
        const { createdAt, id } = after;
        query = query.where((eb) =>
          eb.or([eb('s.created_at', '<', createdAt), eb.and([eb('s.created_at', '=', createdAt), eb('s.id', '>', id)])]),
        );
      }
      const found = await query.orderBy('s.created_at', 'desc').orderBy('s.id').limit(limit).execute();
      return found.map(toRecord);
    },

    async findServiceAccount(id, now) {
      const row = await rows(now).where('s.id', '=', id).executeTakeFirst();
      return row && toRecord(row);
    },
  };
}
