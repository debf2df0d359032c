/**
 * A cursor-paged list (the administration API's `{…, nextCursor}` answers): the first page is a
 * query under `key` (see query.ts: invalidating the key reloads it, and drops the pages loaded
 * after it), "Load more" appends the next one.
 */
import { useEffect, useMemo, useState } from 'react';
import { errorMessage } from './api.js';
import { useQuery } from './query.js';

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface PagedList<T> {
  status: 'loading' | 'success' | 'error';
  /** Every row loaded so far; undefined before the first page. */
  items?: T[];
  error?: unknown;
  reload: () => void;
  /** Whether the server has more rows after these. */
  hasMore: boolean;
  loadingMore: boolean;
  /** Why the last "Load more" failed. */
  moreError?: string;
  loadMore: () => void;
}

export function usePaged<T>(key: string, load: (cursor?: string) => Promise<Page<T>>): PagedList<T> {
  const first = useQuery(key, () => load());
  const [more, setMore] = useState<{ base?: Page<T>; items: T[]; nextCursor: string | null }>({ items: [], nextCursor: null });
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<string>();

  // A new first page (other filters, or a reload after a change) starts the list again.
  useEffect(() => {
    setMore({ base: first.data, items: [], nextCursor: first.data?.nextCursor ?? null });
    setMoreError(undefined);
  }, [first.data]);

  const stale = more.base !== first.data;
  const nextCursor = stale ? (first.data?.nextCursor ?? null) : more.nextCursor;
  const extra = stale ? undefined : more.items;
  // One array per change (pages compare it: useNow re-reads the clock when it changes).
  const items = useMemo(() => (first.data ? [...first.data.items, ...(extra ?? [])] : undefined), [first.data, extra]);

  const loadMore = () => {
    if (!nextCursor || loadingMore) return;
    const base = first.data;
    setLoadingMore(true);
    setMoreError(undefined);
    load(nextCursor).then(
      (page) => {
        setMore((previous) => (previous.base === base ? { base, items: [...previous.items, ...page.items], nextCursor: page.nextCursor } : previous));
        setLoadingMore(false);
      },
      (error: unknown) => {
        setMoreError(errorMessage(error));
        setLoadingMore(false);
      },
    );
  };

  return {
    status: first.status,
    items,
    error: first.error,
    reload: first.reload,
    hasMore: nextCursor !== null,
    loadingMore,
    moreError,
    loadMore,
  };
}
