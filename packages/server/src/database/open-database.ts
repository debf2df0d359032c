/**
 * Opens the database a DATABASE_URL names: `sqlite:<path>` (the embedded default),
 * `sqlite::memory:` (tests) or `postgres://…`.
 */
import type { Database, OpenDatabaseOptions } from './database.js';
export type { OpenDatabaseOptions } from './database.js';
import { openPostgresDatabase } from './postgres.js';
import { openSqliteDatabase } from './sqlite.js';

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

export function openDatabase(databaseUrl: string, options: OpenDatabaseOptions = {}): Database {
  const location = parseDatabaseUrl(databaseUrl);
  return location.dialect === 'sqlite'
    ? openSqliteDatabase(location.path, options)
    : openPostgresDatabase(location.url, options);
}
