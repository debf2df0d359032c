import type { Selectable } from 'kysely';
import { writeWithAudit } from '../audit/kysely-audit-store.js';
import type { Database } from '../database/database.js';
import { noticeRow } from '../notices/kysely-notice-store.js';
import { ACCOUNT_COLUMNS, nullableNumber, type AccountsTable } from '../database/schema.js';
import type { AccountListFilter, AccountRecord, AccountSummary } from './account.js';
import type { AccountStore } from './account-store.js';

type AccountRow = Selectable<Pick<AccountsTable, (typeof ACCOUNT_COLUMNS)[number]>>;

export function createKyselyAccountStore(database: Database): AccountStore {
  const { kysely, authenticationChanges } = database;
  const findOne = () => kysely.selectFrom('accounts').select(ACCOUNT_COLUMNS);
  /** Accounts with what the administration API adds: last sign-in, tokens neither revoked nor expired. */
  const summaries = (now: number) =>
    kysely
      .selectFrom('accounts')
      .select(ACCOUNT_COLUMNS)
      .select('last_sign_in_at')
      .select((eb) =>
        eb
          .selectFrom('tokens')
          .select((inner) => inner.fn.countAll<number>().as('count'))
          .whereRef('tokens.account_id', '=', 'accounts.id')
          .where('tokens.revoked_at', 'is', null)
          .where('tokens.expires_at', '>', now)
          .as('active_tokens'),
      );

  async function listAccountPage(filter: AccountListFilter): Promise<AccountSummary[]> {
    const needle = filter.search?.toLowerCase();
    // Without a search a page is one query; with one, rows are read in batches until the page fills.
    const batch = needle ? Math.max(filter.limit, SEARCH_BATCH) : filter.limit;
    const found: AccountSummary[] = [];
    let after = filter.after;
    for (;;) {
      let query = summaries(filter.now);
      if (filter.state === 'active') query = query.where('disabled_at', 'is', null);
      if (filter.state === 'disabled') query = query.where('disabled_at', 'is not', null);
      if (after) {
        const { createdAt, id } = after;
        query = query.where((eb) => eb.or([eb('created_at', '<', createdAt), eb.and([eb('created_at', '=', createdAt), eb('id', '>', id)])]));
      }
      const rows = await query.orderBy('created_at', 'desc').orderBy('id').limit(batch).execute();
      for (const row of rows) {
        const account = toAccount(row);
        const matches =
          !needle || (account.email ?? '').toLowerCase().includes(needle) || (account.name ?? '').toLowerCase().includes(needle);
        if (matches) {
          found.push({ ...account, lastSignInAt: nullableNumber(row.last_sign_in_at ?? null), activeTokens: Number(row.active_tokens ?? 0) });
          if (found.length === filter.limit) return found;
        }
      }
      const last = rows.at(-1);
      if (rows.length < batch || !last) return found;
      after = { createdAt: Number(last.created_at), id: last.id };
    }
  }

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
            kind: account.kind ?? 'person',
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

    setAccountDisabled(id, disabledAt, audit, enabledNotice) {
      return authenticationChanges.around(() =>
        writeWithAudit(database, async (trx) => {
          // Only a re-enable after a disable tells the owner: the row as it was, read in this transaction.
          const before = enabledNotice
            ? await trx.selectFrom('accounts').select('disabled_at').where('id', '=', id).$if(database.dialect === 'postgres', (query) => query.forUpdate()).executeTakeFirst()
            : undefined;
          const result = await trx.updateTable('accounts').set({ disabled_at: disabledAt }).where('id', '=', id).executeTakeFirst();
          const changed = result.numUpdatedRows > 0n;
          if (changed && enabledNotice && disabledAt === null && before !== undefined && before.disabled_at !== null) {
            await trx.insertInto('notices').values(noticeRow(enabledNotice)).execute();
          }
          return { result: changed, audit: changed ? audit : null };
        }),
      );
    },

    listAccounts: listAccountPage,

    async findAccountSummary(id, now) {
      const row = await summaries(now).where('id', '=', id).executeTakeFirst();
      return row && { ...toAccount(row), lastSignInAt: nullableNumber(row.last_sign_in_at ?? null), activeTokens: Number(row.active_tokens ?? 0) };
    },

    updateAccount(id, changes, audit, notices = []) {
      return authenticationChanges.around(() =>
        writeWithAudit(database, async (trx) => {
          const set: { is_admin?: number; name?: string | null } = {};
          if (changes.isAdmin !== undefined) set.is_admin = changes.isAdmin ? 1 : 0;
          if (changes.name !== undefined) set.name = changes.name;
          const result =
            Object.keys(set).length > 0
              ? await trx.updateTable('accounts').set(set).where('id', '=', id).executeTakeFirst()
              : undefined;
          const changed =
            result !== undefined
              ? result.numUpdatedRows > 0n
              : (await trx.selectFrom('accounts').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
          if (changed && notices.length > 0) await trx.insertInto('notices').values(notices.map(noticeRow)).execute();
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

/** Rows read per query while a search fills a page. */
const SEARCH_BATCH = 500;

export function toAccount(row: AccountRow): AccountRecord {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    isAdmin: Number(row.is_admin) === 1,
    createdAt: Number(row.created_at),
    disabledAt: nullableNumber(row.disabled_at),
    // Only a service account says so: a person's record stays as it was before service accounts.
    ...(row.kind === 'service' ? { kind: 'service' as const } : {}),
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
    kind: row.owner_kind,
  });
}
