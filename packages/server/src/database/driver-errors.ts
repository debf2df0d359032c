/**
 * Driver errors become the store errors a service can act on, once, where the driver answers:
 * `withErrorTranslation` wraps a Kysely dialect so every statement, transaction step and
 * connection checkout of every store goes through `translateDriverError`. No store method
 * needs a wrapper of its own; the two fast paths that run past Kysely (hot-query.ts) call
 * `translateDriverError` themselves.
 */
import type { CompiledQuery, DatabaseConnection, Dialect, Driver, QueryResult, TransactionSettings } from 'kysely';
import { StoreConflictError, StoreUnavailableError, type ConflictReason } from '../kernel/store-errors.js';

/**
 * The schema's unique rules, by PostgreSQL constraint name or SQLite's "UNIQUE constraint failed:
 * table.column" message, and what breaking each one means.
 */
const UNIQUE_VIOLATIONS: Array<[pattern: RegExp, reason: ConflictReason]> = [
  [/tokens_account_id_name_unrevoked|tokens\.account_id, tokens\.name/, 'token_name_taken'],
  [/namespaces_name|namespaces\.name/, 'namespace_name_taken'],
  [/accounts_email|accounts\.email/, 'email_taken'],
  [/accounts_oidc_identity|accounts\.oidc_issuer/, 'oidc_identity_taken'],
];

/** PostgreSQL SQLSTATE classes and Node socket errors that mean "not now", not "bug". */
const PG_UNAVAILABLE = /^(08|53|57P)/;
const NODE_NETWORK_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|FULL|READONLY|IOERR|CANTOPEN|PROTOCOL|NOMEM)/;
const POOL_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|not queryable|Cannot use a pool after calling end|database connection is not open|driver has already been destroyed/i;

/** A driver error as a StoreConflictError or StoreUnavailableError when it is one; else as is. */
export function translateDriverError(error: unknown): unknown {
  if (error instanceof StoreConflictError || error instanceof StoreUnavailableError) return error;
  const code = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : '';
  const message = error instanceof Error ? error.message : String(error);
  const constraint = String((error as { constraint?: unknown })?.constraint ?? '');

  if (code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE') {
    const found = UNIQUE_VIOLATIONS.find(([pattern]) => pattern.test(`${constraint} ${message}`));
    if (found) return new StoreConflictError(found[1]);
  }
  if (
    PG_UNAVAILABLE.test(code) ||
    NODE_NETWORK_ERRORS.has(code) ||
    SQLITE_UNAVAILABLE.test(code) ||
    POOL_MESSAGES.test(message)
  ) {
    return new StoreUnavailableError(`database unavailable: ${code || message}`, { cause: error });
  }
  return error;
}

/** Runs a driver call; a failure, thrown or rejected (SQLite's driver throws synchronously), is translated. */
async function translated<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw translateDriverError(error);
  }
}

/**
 * The dialect, with every driver error translated as it surfaces. Close the database with
 * `close()`, not `Kysely.destroy()`: calls that still arrive afterwards (a request in flight at
 * shutdown) are then answered StoreUnavailableError, where a destroyed Kysely throws its own
 * error before any driver sees the call.
 */
export function withErrorTranslation(dialect: Dialect): Dialect & { close(): Promise<void> } {
  let driver: TranslatingDriver | undefined;
  return {
    createAdapter: () => dialect.createAdapter(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createDriver: () => (driver = new TranslatingDriver(dialect.createDriver())),
    close: async () => driver?.destroy(),
  };
}

/** Hands out wrapped connections and gives the driver back its own when it is handed one. */
class TranslatingDriver implements Driver {
  private readonly inner = new WeakMap<DatabaseConnection, DatabaseConnection>();
  private destroyed: Promise<void> | undefined;

  constructor(private readonly driver: Driver) {}

  init(): Promise<void> {
    return translated(() => this.driver.init());
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    if (this.destroyed) throw new StoreUnavailableError('database unavailable: closed');
    const connection = await translated(() => this.driver.acquireConnection());
    const wrapped: DatabaseConnection = {
      executeQuery: <R>(query: CompiledQuery) => translated(() => connection.executeQuery<R>(query)),
      streamQuery: <R>(query: CompiledQuery, chunkSize?: number) => translatedStream(connection.streamQuery<R>(query, chunkSize)),
    };
    this.inner.set(wrapped, connection);
    return wrapped;
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return translated(() => this.driver.beginTransaction(this.unwrap(connection), settings));
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return translated(() => this.driver.commitTransaction(this.unwrap(connection)));
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return translated(() => this.driver.rollbackTransaction(this.unwrap(connection)));
  }

  savepoint(connection: DatabaseConnection, name: string, compile: Parameters<NonNullable<Driver['savepoint']>>[2]): Promise<void> {
    return translated(() => this.driver.savepoint!(this.unwrap(connection), name, compile));
  }

  rollbackToSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: Parameters<NonNullable<Driver['rollbackToSavepoint']>>[2],
  ): Promise<void> {
    return translated(() => this.driver.rollbackToSavepoint!(this.unwrap(connection), name, compile));
  }

  releaseSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: Parameters<NonNullable<Driver['releaseSavepoint']>>[2],
  ): Promise<void> {
    return translated(() => this.driver.releaseSavepoint!(this.unwrap(connection), name, compile));
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    const original = this.unwrap(connection);
    this.inner.delete(connection);
    return this.driver.releaseConnection(original);
  }

  destroy(): Promise<void> {
    // Once only: a PostgreSQL pool refuses a second end().
    this.destroyed ??= this.driver.destroy();
    return this.destroyed;
  }

  private unwrap(connection: DatabaseConnection): DatabaseConnection {
    return this.inner.get(connection) ?? connection;
  }
}

async function* translatedStream<R>(stream: AsyncIterableIterator<QueryResult<R>>): AsyncIterableIterator<QueryResult<R>> {
  try {
    yield* stream;
  } catch (error) {
    throw translateDriverError(error);
  }
}
