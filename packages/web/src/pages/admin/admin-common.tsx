/** What the three Admin pages share: their query key, the list states with "Load more", and dates. */
import type { ReactNode } from 'react';
import { Empty, ListTable, LoadError, Loading } from '../../components/list-states.js';
import type { PagedList } from '../../use-paged.js';

/** Every admin list is under this key: a change on one page reloads them all. */
export const ADMIN_KEY = 'admin';

export const ADMIN_PATHS = {
  accounts: '/admin/accounts',
  tokens: '/admin/tokens',
  audit: '/admin/audit',
  serviceAccounts: '/admin/service-accounts',
  policy: '/admin/policy',
  throttles: '/admin/throttles',
} as const;

/** The key of one filtered list (the filters, in a stable order). */
export function adminKey(list: string, filters: object): string {
  return `${ADMIN_KEY}/${list}:${JSON.stringify(Object.entries(filters).sort(([a], [b]) => a.localeCompare(b)))}`;
}

export interface PagedTableProps<T> {
  /** "accounts": the list's name in its messages ("Loading accounts…"). */
  what: string;
  caption: string;
  columns: string[];
  list: PagedList<T>;
  empty: string;
  row: (item: T) => ReactNode;
}

/** A paged list: loading, failure, empty, or the table with "Load more" under it while there is more. */
export function PagedTable<T>({ what, caption, columns, list, empty, row }: PagedTableProps<T>) {
  if (!list.items) {
    return list.status === 'error' ? <LoadError what={what} error={list.error} onRetry={list.reload} /> : <Loading what={what} />;
  }
  if (list.items.length === 0) {
    return (
      <Empty>
        <p>{empty}</p>
      </Empty>
    );
  }
  return (
    <>
      {list.status === 'error' && <LoadError what={what} error={list.error} onRetry={list.reload} />}
      <ListTable caption={caption} columns={columns} busy={list.status === 'loading'}>
        {list.items.map(row)}
      </ListTable>
      {list.moreError && (
        <p role="alert" className="form-error">
          Could not load more {what}. {list.moreError}
        </p>
      )}
      {list.hasMore && (
        <p className="load-more">
          <button type="button" className="secondary" onClick={list.loadMore} disabled={list.loadingMore} aria-busy={list.loadingMore || undefined}>
            {list.loadingMore ? 'Loading…' : 'Load more'}
          </button>
        </p>
      )}
    </>
  );
}

/** "Its 3 active tokens stop working at once." / "Its 1 active token stops …" / "It has no active tokens." */
export function activeTokensSentence(count: number, when: string): string {
  if (count === 0) return 'It has no active tokens.';
  return count === 1 ? `Its 1 active token stops working ${when}.` : `Its ${count} active tokens stop working ${when}.`;
}
