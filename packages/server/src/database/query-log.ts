import type { KyselyConfig } from 'kysely';
import type { QueryObserver } from './hot-query.js';

/** Kysely's log hook, feeding every statement to an observer (tests count queries and scan for secrets). */
export function queryLog(onQuery: QueryObserver | undefined): KyselyConfig['log'] {
  if (!onQuery) return undefined;
  return (event) => onQuery(event.query.sql, event.query.parameters);
}
