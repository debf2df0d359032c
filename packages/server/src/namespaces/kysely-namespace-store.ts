import { writeWithAudit } from '../audit/kysely-audit-store.js';
import type { Database } from '../database/database.js';
import { NAMESPACE_COLUMNS } from '../database/schema.js';
import { StoreConflictError } from '../kernel/store-errors.js';
import type { NamespaceStore } from './namespace-store.js';

export function createKyselyNamespaceStore(database: Database): NamespaceStore {
  return {
    insertNamespace(namespace, limits, audit) {
      return writeWithAudit(database, async (trx) => {
        // PostgreSQL: the owner's row lock makes concurrent creates for one account take turns,
        // and each count below then sees every create committed before it. SQLite's
        // BEGIN IMMEDIATE already makes this transaction the only writer.
        if (database.dialect === 'postgres') {
          await trx.selectFrom('accounts').select('id').where('id', '=', namespace.accountId).forUpdate().execute();
        }
        const { held } = await trx
          .selectFrom('namespaces')
          .select((eb) => eb.fn.countAll<number>().as('held'))
          .where('account_id', '=', namespace.accountId)
          .executeTakeFirstOrThrow();
        if (Number(held) >= limits.maxPerAccount) throw new StoreConflictError('namespace_limit_reached');
        await trx
          .insertInto('namespaces')
          .values({ id: namespace.id, name: namespace.name, account_id: namespace.accountId, created_at: namespace.createdAt })
          .execute();
        return { result: undefined, audit };
      });
    },

    async listNamespaces(accountId) {
      const rows = await database.kysely
        .selectFrom('namespaces')
        .select(NAMESPACE_COLUMNS)
        .where('account_id', '=', accountId)
        .orderBy('name')
        .execute();
      return rows.map((row) => ({ id: row.id, name: row.name, accountId: row.account_id, createdAt: Number(row.created_at) }));
    },

    deleteNamespace(accountId, name, audit) {
      return writeWithAudit(database, async (trx) => {
        const deleted = await trx
          .deleteFrom('namespaces')
          .where('account_id', '=', accountId)
          .where('name', '=', name)
          .returning('id')
          .executeTakeFirst();
        return { result: deleted !== undefined, audit: deleted ? { ...audit, targetId: deleted.id } : null };
      });
    },
  };
}
