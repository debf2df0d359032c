import { writeWithAudit } from '../audit/kysely-audit-store.js';
import type { Database } from '../database/database.js';
import { NAMESPACE_COLUMNS } from '../database/schema.js';
import type { NamespaceStore } from './namespace-store.js';

export function createKyselyNamespaceStore(database: Database): NamespaceStore {
  return {
    insertNamespace(namespace, audit) {
      return writeWithAudit(database, async (trx) => {
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
