import { writeWithAudit } from '../audit/kysely-audit-store.js';
import type { Database } from '../database/database.js';
import { ACCOUNT_COLUMNS, nullableNumber, type AccountsTable } from '../database/schema.js';
import type { AccountRecord } from './account.js';
import type { AccountStore } from './account-store.js';

type AccountRow = Pick<AccountsTable, (typeof ACCOUNT_COLUMNS)[number]>;

export function createKyselyAccountStore(database: Database): AccountStore {
  const { kysely, authenticationChanges } = database;
  const findOne = () => kysely.selectFrom('accounts').select(ACCOUNT_COLUMNS);

  return {
    insertAccount(account, audit, identity) {
      return writeWithAudit(database, async (trx) => {
        await trx
          .insertInto('accounts')
          .values({
            id: account.id,
            email: account.email,
            name: account.name,
            is_admin: account.isAdmin ? 1 : 0,
            created_at: account.createdAt,
            disabled_at: account.disabledAt,
            oidc_issuer: identity?.issuer ?? null,
            oidc_subject: identity?.subject ?? null,
          })
          .execute();
        return { result: undefined, audit };
      });
    },

    async findAccountById(id) {
      const row = await findOne().where('id', '=', id).executeTakeFirst();
      return row && toAccount(row);
    },

    async findAccountByEmail(email) {
      const row = await findOne().where('email', '=', email).executeTakeFirst();
      return row && toAccount(row);
    },

    async findAccountByOidcIdentity(identity) {
      const row = await findOne()
        .where('oidc_issuer', '=', identity.issuer)
        .where('oidc_subject', '=', identity.subject)
        .executeTakeFirst();
      return row && toAccount(row);
    },

    bindOidcIdentity(accountId, identity, options = {}) {
      return authenticationChanges.around(async () => {
        const result = await kysely
          .updateTable('accounts')
          .set({ oidc_issuer: identity.issuer, oidc_subject: identity.subject })
          .where('id', '=', accountId)
          .where('oidc_issuer', 'is', null)
          .$if(options.onlyIfNeverSignedIn === true, (query) => query.where('last_sign_in_at', 'is', null))
          .executeTakeFirst();
        return result.numUpdatedRows > 0n;
      });
    },

    async findFirstAdmin() {
      const row = await findOne().where('is_admin', '=', 1).orderBy('created_at').orderBy('id').limit(1).executeTakeFirst();
      return row && toAccount(row);
    },

    async hasAdminSignedIn() {
      const row = await kysely
        .selectFrom('accounts')
        .select('id')
        .where('is_admin', '=', 1)
        .where('last_sign_in_at', 'is not', null)
        .limit(1)
        .executeTakeFirst();
      return row !== undefined;
    },

    setAccountDisabled(id, disabledAt, audit) {
      return authenticationChanges.around(() =>
        writeWithAudit(database, async (trx) => {
          const result = await trx.updateTable('accounts').set({ disabled_at: disabledAt }).where('id', '=', id).executeTakeFirst();
          const changed = result.numUpdatedRows > 0n;
          return { result: changed, audit: changed ? audit : null };
        }),
      );
    },

    deleteAccount(id, audit) {
      return authenticationChanges.around(() =>
        writeWithAudit(database, async (trx) => {
          const { count } = await trx
            .selectFrom('tokens')
            .select((eb) => eb.fn.countAll<number>().as('count'))
            .where('account_id', '=', id)
            .where('revoked_at', 'is', null)
            .executeTakeFirstOrThrow();
          const result = await trx.deleteFrom('accounts').where('id', '=', id).executeTakeFirst();
          if (result.numDeletedRows === 0n) return { result: false, audit: null };
          return { result: true, audit: { ...audit, detail: { ...audit.detail, tokensRevoked: Number(count) } } };
        }),
      );
    },
  };
}

export function toAccount(row: AccountRow): AccountRecord {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    isAdmin: Number(row.is_admin) === 1,
    createdAt: Number(row.created_at),
    disabledAt: nullableNumber(row.disabled_at),
  };
}

/** The owner's columns as a joined lookup selects them: `prefixed('a', ACCOUNT_COLUMNS, OWNER_PREFIX)`. */
export const OWNER_PREFIX = 'owner_';
export type OwnerRow = { [C in keyof AccountRow as `owner_${C}`]: AccountRow[C] };

export function toOwner(row: OwnerRow): AccountRecord {
  return toAccount({
    id: row.owner_id,
    email: row.owner_email,
    name: row.owner_name,
    is_admin: row.owner_is_admin,
    created_at: row.owner_created_at,
    disabled_at: row.owner_disabled_at,
  });
}
