/**
 * Opens the Store named by a DATABASE_URL: `sqlite:<path>` (the embedded default),
 * `sqlite::memory:` (tests) or `postgres://…`. SQLite durability settings are applied and then
 * read back: a database that would silently lose committed revokes is refused.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, type KyselyConfig } from 'kysely';
import pg from 'pg';
import { KyselyStore, translateError, type HotQueryRunner } from './kysely-store.js';
import { DEFAULT_TOKEN_CACHE_ENTRIES, VerifiedTokenCache } from './verified-token-cache.js';
import type { Database } from './schema.js';
import { StoreUnavailableError, type Store } from './store.js';

export const SQLITE_BUSY_TIMEOUT_MS = 5000;
export const POSTGRES_POOL_SIZE = 10;

export interface OpenStoreOptions {
  /** Called for errors no request is waiting on (an idle pool client losing its server). */
  onBackgroundError?: (error: Error) => void;
  /** Sees every statement and its parameters: tests count queries and scan for secrets. */
  onQuery?: (sql: string, parameters: readonly unknown[]) => void;
  /**
   * SQLite only: keep verified-token lookups in memory (verified-token-cache.ts). Ignored on
   * PostgreSQL, where every lookup reads the database so a revoke is seen by every instance.
   */
  tokenCache?: boolean | { maxEntries: number };
}

export type DatabaseLocation =
  | { dialect: 'sqlite'; path: string }
  | { dialect: 'postgres'; url: string };

/** Parses a DATABASE_URL; throws with a readable message for anything else. */
export function parseDatabaseUrl(url: string): DatabaseLocation {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (!path) throw new Error('a sqlite: URL needs a file path, e.g. sqlite:./data/latchkey.db');
    return { dialect: 'sqlite', path };
  }
  if (/^postgres(ql)?:\/\//.test(url)) return { dialect: 'postgres', url };
  throw new Error('must start with sqlite: or postgres://');
}

export function openStore(databaseUrl: string, options: OpenStoreOptions = {}): Store {
  const location = parseDatabaseUrl(databaseUrl);
  return location.dialect === 'sqlite'
    ? openSqliteStore(location.path, options)
    : openPostgresStore(location.url, options);
}

function openSqliteStore(path: string, options: OpenStoreOptions): Store {
  const inMemory = path === ':memory:';
  if (!inMemory) {
    const absolute = resolve(path);
    refuseNetworkFileSystem(absolute);
    mkdirSync(dirname(absolute), { recursive: true });
  }
  const database = new SQLite(path, { timeout: SQLITE_BUSY_TIMEOUT_MS });
  try {
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = FULL');
    database.pragma('foreign_keys = ON');
    database.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    checkSqliteDurability(database, inMemory);
  } catch (error) {
    database.close();
    throw error;
  }
  // The token lookup reads through its own read-only connection: it then sees only committed
  // rows (never the inside of a write transaction Kysely holds open on the main connection
  // across awaits), and a committed revoke is visible to the very next lookup (WAL readers
  // take a fresh snapshot per statement). An in-memory database cannot be shared between
  // connections, so there (tests only) the lookup runs on the main one.
  const reader = inMemory ? database : openSqliteReader(path);
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: withStatementCache(database, reader) }),
    log: queryObserver(options),
  });
  return new KyselyStore(db, 'sqlite', {
    runHotQuery: sqliteHotQueryRunner(reader, options),
    tokenCache: options.tokenCache ? sqliteTokenCache(database, options.tokenCache) : undefined,
  });
}

const STATEMENT_CACHE_SIZE = 256;

/**
 * SQLite rolls a transaction back by itself when a statement in it fails with SQLITE_FULL,
 * SQLITE_IOERR, SQLITE_NOMEM or SQLITE_BUSY. Kysely then still sends ROLLBACK, which fails with
 * "cannot rollback - no transaction is active" and replaces the real error: a full disk became
 * a 500 instead of R-UNAVAIL (SECURITY.md item 17). That ROLLBACK is answered as done.
 */
const ROLLBACK_ALREADY_DONE = {
  reader: false,
  run: () => ({ changes: 0, lastInsertRowid: 0 }),
} as unknown as SQLite.Statement;

/**
 * Kysely's SQLite driver prepares every statement anew, which costs about a tenth of an
 * authenticated request. The app's SQL texts are a small fixed set (values are always bound
 * parameters), so their prepared statements are kept and reused. Reuse is safe: the driver runs
 * one statement at a time on its single connection, and SQLite re-prepares a statement itself
 * if the schema changes.
 */
function withStatementCache(
  database: SQLite.Database,
  reader: SQLite.Database,
): { prepare: SQLite.Database['prepare']; close(): void } {
  const statements = new Map<string, SQLite.Statement>();
  return {
    prepare: ((text: string) => {
      // Every transaction this app opens writes. Begun IMMEDIATE, it takes the write lock up
      // front and so waits out another writer (busy_timeout); a deferred one that reads first
      // would fail at once with SQLITE_BUSY when it tries to write.
      const source = text === 'begin' ? 'begin immediate' : text;
      if (source === 'rollback' && !database.inTransaction) return ROLLBACK_ALREADY_DONE;
      let statement = statements.get(source);
      if (!statement) {
        if (statements.size >= STATEMENT_CACHE_SIZE) statements.clear();
        statement = database.prepare(source);
        statements.set(source, statement);
      }
      return statement;
    }) as SQLite.Database['prepare'],
    close: () => {
      if (reader !== database) reader.close();
      database.close();
    },
  };
}

function sqliteTokenCache(database: SQLite.Database, setting: true | { maxEntries: number }): VerifiedTokenCache {
  // data_version changes when another connection (another process included) commits; our own
  // writes through this connection leave it alone (they clear the cache themselves).
  const dataVersion = database.prepare('pragma data_version').pluck();
  return new VerifiedTokenCache({
    maxEntries: setting === true ? DEFAULT_TOKEN_CACHE_ENTRIES : setting.maxEntries,
    foreignCommitVersion: () => dataVersion.get() as number,
  });
}

function openSqliteReader(path: string): SQLite.Database {
  const reader = new SQLite(path, { readonly: true, timeout: SQLITE_BUSY_TIMEOUT_MS });
  reader.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  return reader;
}

/** The hot lookup as one synchronous `get` on a statement prepared once (on first use, after migrations). */
function sqliteHotQueryRunner(reader: SQLite.Database, options: OpenStoreOptions): HotQueryRunner {
  const statements = new Map<string, SQLite.Statement>();
  return (source, parameters) => {
    options.onQuery?.(source, parameters);
    let statement = statements.get(source);
    if (!statement) {
      statement = reader.prepare(source);
      statements.set(source, statement);
    }
    return statement.get(...parameters);
  };
}

/**
 * The hot lookup as a named prepared statement: each pooled connection parses and plans it
 * once, then only binds the digest.
 */
function postgresHotQueryRunner(pool: pg.Pool, options: OpenStoreOptions): HotQueryRunner {
  const names = new Map<string, string>();
  return async (text, parameters) => {
    options.onQuery?.(text, parameters);
    let name = names.get(text);
    if (!name) {
      name = `latchkey_hot_${names.size + 1}`;
      names.set(text, name);
    }
    const query = { name, text, values: parameters as unknown[] };
    try {
      return (await pool.query(query)).rows[0];
    } catch (error) {
      // A pooled connection the server dropped (a restart, pg_terminate_backend) fails the
      // first query sent on it; the pool has now discarded it. The lookup only reads, so one
      // retry on a fresh connection is safe and turns that 503 into an answer.
      if (!(translateError(error) instanceof StoreUnavailableError)) throw error;
      return (await pool.query(query)).rows[0];
    }
  };
}

/** Reads the settings back; refuses to run on anything weaker (SECURITY.md item 16). */
export function checkSqliteDurability(database: SQLite.Database, inMemory = false): void {
  const read = (name: string) => database.pragma(name, { simple: true });
  const actual = {
    journal_mode: String(read('journal_mode')).toLowerCase(),
    synchronous: Number(read('synchronous')),
    foreign_keys: Number(read('foreign_keys')),
    busy_timeout: Number(read('busy_timeout')),
  };
  const problems: string[] = [];
  if (actual.journal_mode !== 'wal' && !(inMemory && actual.journal_mode === 'memory')) {
    problems.push(`journal_mode is ${actual.journal_mode}, expected wal`);
  }
  if (actual.synchronous !== 2) problems.push(`synchronous is ${actual.synchronous}, expected 2 (FULL)`);
  if (actual.foreign_keys !== 1) problems.push(`foreign_keys is ${actual.foreign_keys}, expected 1`);
  if (actual.busy_timeout < SQLITE_BUSY_TIMEOUT_MS) {
    problems.push(`busy_timeout is ${actual.busy_timeout}, expected ≥ ${SQLITE_BUSY_TIMEOUT_MS}`);
  }
  if (problems.length > 0) {
    throw new Error(`SQLite database refused: ${problems.join('; ')}`);
  }
}

const NETWORK_FILE_SYSTEMS = new Set(['nfs', 'nfs4', 'cifs', 'smb3', 'smbfs', 'sshfs', 'fuse.sshfs', '9p', 'afs', 'glusterfs', 'ceph', 'fuse.glusterfs', 'lustre']);

/**
 * SQLite's WAL needs shared memory and working locks, which network file systems do not give:
 * refuse a database whose directory is mounted from one.
 */
function refuseNetworkFileSystem(path: string): void {
  let mounts: string;
  try {
    mounts = readFileSync('/proc/mounts', 'utf8');
  } catch {
    return; // not Linux: nothing to read
  }
  let best = { mountPoint: '', type: '' };
  for (const line of mounts.split('\n')) {
    const [, mountPoint, type] = line.split(' ');
    if (!mountPoint || !type) continue;
    const point = mountPoint.replace(/\\040/g, ' ');
    const within = path === point || path.startsWith(point.endsWith('/') ? point : `${point}/`);
    if (within && point.length > best.mountPoint.length) best = { mountPoint: point, type };
  }
  if (NETWORK_FILE_SYSTEMS.has(best.type)) {
    throw new Error(
      `SQLite database refused: ${path} is on a network file system (${best.type} at ${best.mountPoint}); use a local disk or PostgreSQL`,
    );
  }
}

function openPostgresStore(url: string, options: OpenStoreOptions): Store {
  const pool = new pg.Pool({
    connectionString: url,
    max: POSTGRES_POOL_SIZE,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    // int8 columns hold epoch milliseconds and counts: both fit a JS number exactly.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === pg.types.builtins.INT8
          ? (value: string) => Number(value)
          : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client whose server went away emits 'error' on the pool; unhandled, it would take
  // the process down (node-postgres #2762). The next query reconnects.
  pool.on('error', (error) => options.onBackgroundError?.(error));
  // The pool listens only while a client is idle. A client checked out when its server goes
  // away (a transaction in flight during a restart) emits 'error' with no listener, which also
  // kills the process (SECURITY.md item 14). Its query already fails with that error and the
  // pool discards the broken client on release, so here the event only needs a listener.
  pool.on('connect', (client) => client.on('error', ignoreCheckedOutClientError));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log: queryObserver(options) });
  return new KyselyStore(db, 'postgres', { runHotQuery: postgresHotQueryRunner(pool, options) });
}

function ignoreCheckedOutClientError(): void {}

function queryObserver(options: OpenStoreOptions): KyselyConfig['log'] {
  const { onQuery } = options;
  if (!onQuery) return undefined;
  return (event) => onQuery(event.query.sql, event.query.parameters);
}
