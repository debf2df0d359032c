/**
 * Opening SQLite: durability settings applied and then read back (a database that would
 * silently lose committed revokes is refused), a local disk required, the files private to the
 * server's user, a statement cache, and a read-only connection of its own for the hot lookups.
 */
import { chmodSync, closeSync, fchmodSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { createDatabase, type Database, type OpenDatabaseOptions } from './database.js';
import { withErrorTranslation } from './driver-errors.js';
import { sqliteHotQueryRunner } from './hot-query.js';
import { queryLog } from './query-log.js';
import type { Tables } from './schema.js';

export const SQLITE_BUSY_TIMEOUT_MS = 5000;

export function openSqliteDatabase(path: string, options: OpenDatabaseOptions): Database {
  const inMemory = path === ':memory:';
  if (!inMemory) {
    const absolute = resolve(path);
    refuseNetworkFileSystem(absolute);
    createPrivateFiles(absolute, options.onWarning);
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
  // The hot lookups read through their own read-only connection: they then see only committed
  // rows (never the inside of a write transaction Kysely holds open on the main connection
  // across awaits), and a committed revoke is visible to the very next lookup (WAL readers
  // take a fresh snapshot per statement). An in-memory database cannot be shared between
  // connections, so there (tests only) the lookups run on the main one.
  const reader = inMemory ? database : openSqliteReader(path);
  const dialect = withErrorTranslation(new SqliteDialect({ database: withStatementCache(database, reader) }));
  const kysely = new Kysely<Tables>({ dialect, log: queryLog(options.onQuery) });
  // data_version changes when another connection (another process included) commits; our own
  // writes through this connection leave it alone (they announce themselves instead).
  const dataVersion = database.prepare('pragma data_version').pluck();
  return createDatabase({
    dialect: 'sqlite',
    kysely,
    nowSql: sql<number>`cast(unixepoch('subsec') * 1000 as integer)`,
    runHotQuery: sqliteHotQueryRunner(reader, options.onQuery),
    foreignCommitVersion: () => dataVersion.get() as number,
    close: () => dialect.close(),
  });
}

const STATEMENT_CACHE_SIZE = 256;

/**
 * SQLite rolls a transaction back by itself when a statement in it fails with SQLITE_FULL,
 * SQLITE_IOERR, SQLITE_NOMEM or SQLITE_BUSY. Kysely then still sends ROLLBACK, which fails with
 * "cannot rollback - no transaction is active" and replaces the real error: a full disk became
 * a 500 instead of R-UNAVAIL (docs/security.md, item 17). That ROLLBACK is answered as done.
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

function openSqliteReader(path: string): SQLite.Database {
  const reader = new SQLite(path, { readonly: true, timeout: SQLITE_BUSY_TIMEOUT_MS });
  reader.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  return reader;
}

/** Reads the settings back; refuses to run on anything weaker (docs/security.md, item 16). */
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

/**
 * The database holds token digests and sessions: its directory is made 0700 and the file 0600
 * whatever the umask (docs/security.md, item 60). The file is created here, before SQLite opens
 * it, because SQLite creates a new database with 0644 minus the umask; its `-wal` and `-shm` it
 * creates with exactly the main file's mode, so they come out 0600 too. A directory or database
 * that already exists is the operator's choice and is left alone; if others can read it, that is
 * said once in the log.
 */
function createPrivateFiles(path: string, onWarning: ((message: string) => void) | undefined): void {
  const directory = dirname(path);
  const firstCreated = mkdirSync(directory, { recursive: true, mode: 0o700 });
  if (firstCreated !== undefined) {
    // Every directory this call made, down to the database's own (the umask may have narrowed them).
    for (let dir = directory; dir.length >= firstCreated.length; dir = dirname(dir)) chmodSync(dir, 0o700);
  } else {
    const mode = statSync(directory).mode & 0o777;
    if (mode & 0o077) {
      onWarning?.(
        `the database directory ${directory} is accessible to other users (mode ${mode.toString(8).padStart(4, '0')}); ` +
          'it is left as it is: make it 0700 unless others must reach it',
      );
    }
  }
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) {
      onWarning?.(
        `the database ${path} is readable by other users (mode ${mode.toString(8).padStart(4, '0')}), and so are its -wal and -shm; ` +
          'it is left as it is: make it 0600 unless others must read it',
      );
    }
    return;
  }
  try {
    fchmodSync(fd, 0o600);
  } finally {
    closeSync(fd);
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
