/**
 * Admin › Accounts (/admin/accounts): every account, newest first, searchable by email or name
 * and filtered by state, a page at a time ("Load more"). An administrator disables, enables or
 * deletes an account; the confirmation names it and says how many of its tokens stop working.
 */
import { ADMIN_ACCOUNT_STATES, type AdminAccountView, type AdminAccountsQuery } from '@latchkey/contract';
import { useState, type FormEvent } from 'react';
import { api } from '../../api.js';
import { ConfirmDialog } from '../../components/confirm-dialog.js';
import { invalidate } from '../../query.js';
import { Link } from '../../router.js';
import { formatDate, formatDateTime } from '../../time.js';
import { usePaged } from '../../use-paged.js';
import { ADMIN_KEY, ADMIN_PATHS, PagedTable, activeTokensSentence, adminKey } from './admin-common.js';

type AccountState = (typeof ADMIN_ACCOUNT_STATES)[number];
type Change = 'disable' | 'enable' | 'delete';

const STATE_OPTIONS: Record<AccountState, string> = { all: 'All accounts', active: 'Active', disabled: 'Disabled' };

export interface AdminAccountsClient {
  listAccounts: typeof api.admin.listAccounts;
  disableAccount: (id: string) => Promise<unknown>;
  enableAccount: (id: string) => Promise<unknown>;
  deleteAccount: (id: string) => Promise<unknown>;
}

/** How an account is named to a person: its email, else its name, else its id. */
export const accountLabel = (account: Pick<AdminAccountView, 'id' | 'email' | 'name'>) => account.email ?? account.name ?? account.id;

export function AdminAccountsPage({ selfId, client = api.admin }: { selfId: string; client?: AdminAccountsClient }) {
  const [search, setSearch] = useState('');
  const [state, setState] = useState<AccountState>('all');
  const [filters, setFilters] = useState<AdminAccountsQuery>({});
  const accounts = usePaged(adminKey('accounts', filters), (cursor) =>
    client.listAccounts({ ...filters, cursor }).then((page) => ({ items: page.accounts, nextCursor: page.nextCursor })),
  );
  const [changing, setChanging] = useState<{ account: AdminAccountView; change: Change }>();

  const apply = (event?: FormEvent) => {
    event?.preventDefault();
    setFilters({ search: search.trim() || undefined, state: state === 'all' ? undefined : state });
  };

  return (
    <>
      <h1>Accounts</h1>
      <p className="lead">Every account on this server. Disabling an account signs it out and stops its tokens at once; enabling it lets it sign in again.</p>
      <form className="filters" role="search" aria-label="Filter accounts" onSubmit={apply}>
        <div className="field">
          <label htmlFor="admin-account-search">Search</label>
          <input id="admin-account-search" type="search" value={search} placeholder="Email or name" onChange={(event) => setSearch(event.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="admin-account-state">State</label>
          <select id="admin-account-state" value={state} onChange={(event) => setState(event.target.value as AccountState)}>
            {ADMIN_ACCOUNT_STATES.map((value) => (
              <option key={value} value={value}>
                {STATE_OPTIONS[value]}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className="secondary">
          Apply filters
        </button>
      </form>

      <PagedTable
        what="accounts"
        caption="Accounts"
        columns={['Account', 'Role', 'State', 'Active tokens', 'Created', 'Last sign-in']}
        list={accounts}
        empty="No account matches these filters."
        row={(account) => (
          <tr key={account.id} data-account-id={account.id}>
            <th scope="row" data-label="Account">
              {accountLabel(account)}
              {account.email && account.name && <span className="muted token-note">{account.name}</span>}
            </th>
            <td data-label="Role">{account.isAdmin ? 'Administrator' : 'Member'}</td>
            <td data-label="State">
              {account.disabledAt ? (
                <span className="badge badge-revoked" title={`Disabled ${formatDateTime(account.disabledAt)}`}>
                  Disabled
                </span>
              ) : (
                <span className="badge badge-active">Active</span>
              )}
            </td>
            <td data-label="Active tokens">
              <Link href={`${ADMIN_PATHS.tokens}?owner=${encodeURIComponent(account.id)}`} aria-label={`Tokens of ${accountLabel(account)}`}>
                {account.activeTokens}
              </Link>
            </td>
            <td data-label="Created">
              <time dateTime={account.createdAt}>{formatDate(account.createdAt)}</time>
            </td>
            <td data-label="Last sign-in">
              {account.lastSignInAt ? (
                <time dateTime={account.lastSignInAt}>{formatDateTime(account.lastSignInAt)}</time>
              ) : (
                <span className="muted">Never</span>
              )}
            </td>
            <td className="actions" data-label="">
              {account.id === selfId ? (
                <span className="muted">You</span>
              ) : (
                <>
                  {account.disabledAt ? (
                    <button type="button" className="secondary small" onClick={() => setChanging({ account, change: 'enable' })} aria-label={`Enable ${accountLabel(account)}`}>
                      Enable
                    </button>
                  ) : (
                    <button type="button" className="danger secondary small" onClick={() => setChanging({ account, change: 'disable' })} aria-label={`Disable ${accountLabel(account)}`}>
                      Disable
                    </button>
                  )}{' '}
                  <button type="button" className="danger secondary small" onClick={() => setChanging({ account, change: 'delete' })} aria-label={`Delete ${accountLabel(account)}`}>
                    Delete
                  </button>
                </>
              )}
            </td>
          </tr>
        )}
      />

      {changing && <AccountChangeDialog {...changing} client={client} onClose={() => setChanging(undefined)} />}
    </>
  );
}

const DIALOGS: Record<Change, { title: string; label: string }> = {
  disable: { title: 'Disable account?', label: 'Disable Account' },
  enable: { title: 'Enable account?', label: 'Enable Account' },
  delete: { title: 'Delete account?', label: 'Delete Account' },
};

/** The confirmation of one change: names the account and what happens to its tokens. */
export function AccountChangeDialog({
  account,
  change,
  client,
  onClose,
}: {
  account: AdminAccountView;
  change: Change;
  client: AdminAccountsClient;
  onClose: () => void;
}) {
  const name = <strong className="token-name-text">{accountLabel(account)}</strong>;
  const count = account.activeTokens;
  return (
    <ConfirmDialog
      title={DIALOGS[change].title}
      confirmLabel={DIALOGS[change].label}
      onClose={onClose}
      onConfirm={async () => {
        if (change === 'disable') await client.disableAccount(account.id);
        else if (change === 'enable') await client.enableAccount(account.id);
        else await client.deleteAccount(account.id);
        onClose();
        invalidate(ADMIN_KEY);
      }}
    >
      {change === 'disable' && (
        <p>
          {name} is signed out and cannot sign in until enabled again. {activeTokensSentence(count, 'at once')}
          {count > 0 && ` Scripts using ${count === 1 ? 'it' : 'them'} fail.`}
        </p>
      )}
      {change === 'enable' && (
        <p>
          {name} may sign in again, and its tokens that are neither revoked nor expired work again.
        </p>
      )}
      {change === 'delete' && (
        <p>
          {name} and everything it owns are deleted. {activeTokensSentence(count, 'for good')} This cannot be undone.
        </p>
      )}
    </ConfirmDialog>
  );
}
