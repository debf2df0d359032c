/**
 * A list hook with a query key: pages read through `useQuery(key, load)`, and mutations call
 * `invalidate(prefix)` so every list under that key reloads (the banner and the tokens page
 * share `tokens`).
 */
import { useCallback, useEffect, useState, useSyncExternalStore } from 'react';

type Entry = { version: number };
const versions = new Map<string, Entry>();
const listeners = new Set<() => void>();
let generation = 0;
/** Requests in flight, shared by components asking for the same key at once (banner + page). */
const inflight = new Map<string, { version: number; promise: Promise<unknown> }>();

function shared<T>(key: string, version: number, load: () => Promise<T>): Promise<T> {
  const running = inflight.get(key);
  if (running && running.version === version) return running.promise as Promise<T>;
  const promise = load().finally(() => {
    if (inflight.get(key)?.promise === promise) inflight.delete(key);
  });
  inflight.set(key, { version, promise });
  return promise;
}

function subscribe(listener: () => void) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Marks every query whose key starts with `prefix` as stale; mounted ones reload. */
export function invalidate(prefix: string): void {
  generation++;
  for (const key of versions.keys()) if (key.startsWith(prefix)) versions.set(key, { version: generation });
  listeners.forEach((listener) => listener());
}

export type QueryState<T> =
  | { status: 'loading'; data?: T; error?: undefined }
  | { status: 'success'; data: T; error?: undefined }
  | { status: 'error'; data?: T; error: unknown };

export function useQuery<T>(key: string, load: () => Promise<T>): QueryState<T> & { reload: () => void } {
  if (!versions.has(key)) versions.set(key, { version: 0 });
  const version = useSyncExternalStore(subscribe, () => versions.get(key)?.version ?? 0, () => 0);
  const [attempt, setAttempt] = useState(0);
  const [state, setState] = useState<QueryState<T>>({ status: 'loading' });

  useEffect(() => {
    let current = true;
    setState((previous) => ({ status: 'loading', data: previous.data }));
    (attempt === 0 ? shared(key, version, load) : load()).then(
      (data) => current && setState({ status: 'success', data }),
      (error: unknown) => current && setState((previous) => ({ status: 'error', error, data: previous.data })),
    );
    return () => {
      current = false;
    };
    // `load` is keyed by `key`: a new key means a new request; a new closure alone does not.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, version, attempt]);

  const reload = useCallback(() => setAttempt((value) => value + 1), []);
  return { ...state, reload };
}
