/**
 * The prepared hot lookups: the statements every authenticated request makes (the token lookup,
 * the session lookup) run straight on the driver, past Kysely's executor, whose connection mutex
 * and promise chain cost more than the indexed lookup itself. Each is compiled once by its
 * capability (a fixed SQL text; only the bound parameters change) and prepared once per
 * connection here. Errors are translated as Kysely's path translates them.
 */
import type SQLite from 'better-sqlite3';
import type pg from 'pg';
import { StoreUnavailableError } from '../kernel/store-errors.js';
import { translateDriverError } from './driver-errors.js';

/** Runs one compiled single-row statement; answers its first row (undefined when none). */
export type HotQueryRunner = (sql: string, parameters: readonly unknown[]) => unknown | Promise<unknown>;

export type QueryObserver = (sql: string, parameters: readonly unknown[]) => void;

/**
 * SQLite: one synchronous `get` on a statement prepared once (on first use, after migrations),
 * on the read-only connection, which sees only committed rows.
 */
export function sqliteHotQueryRunner(reader: SQLite.Database, onQuery?: QueryObserver): HotQueryRunner {
  const statements = new Map<string, SQLite.Statement>();
  return (source, parameters) => {
    onQuery?.(source, parameters);
    try {
      let statement = statements.get(source);
      if (!statement) {
        statement = reader.prepare(source);
        statements.set(source, statement);
      }
      return statement.get(...parameters);
    } catch (error) {
      throw translateDriverError(error);
    }
  };
}

/**
 * PostgreSQL: a named prepared statement, so each pooled connection parses and plans it once,
 * then only binds the parameters. Answers every row (the batched token lookup reads several).
 */
export function postgresHotRowsRunner(pool: pg.Pool, onQuery?: QueryObserver): (text: string, parameters: readonly unknown[]) => Promise<unknown[]> {
  const names = new Map<string, string>();
  return async (text, parameters) => {
    onQuery?.(text, parameters);
    let name = names.get(text);
    if (!name) {
      name = `latchkey_hot_${names.size + 1}`;
      names.set(text, name);
    }
    const query = { name, text, values: parameters as unknown[] };
    try {
      return (await pool.query(query)).rows;
    } catch (error) {
      // A pooled connection the server dropped (a restart, pg_terminate_backend) fails the
      // first query sent on it; the pool has now discarded it. These lookups only read, so one
      // retry on a fresh connection is safe and turns that 503 into an answer.
      const translated = translateDriverError(error);
      if (!(translated instanceof StoreUnavailableError)) throw translated;
      try {
        return (await pool.query(query)).rows;
      } catch (retryError) {
        throw translateDriverError(retryError);
      }
    }
  };
}

/** PostgreSQL: the first row of a hot statement (see postgresHotRowsRunner). */
export function postgresHotQueryRunner(rows: (text: string, parameters: readonly unknown[]) => Promise<unknown[]>): HotQueryRunner {
  return async (text, parameters) => (await rows(text, parameters))[0];
}
