/**
 * The database handle every Kysely store of every capability is built on: the query builder,
 * the database clock as SQL, the hot-query runner, and the authentication-change announcements.
 * Opened by open-database.ts; what differs between the dialects is in sqlite.ts, postgres.ts
 * and migrations.ts.
 */
import { Kysely, Migrator, sql, type RawBuilder } from 'kysely';
import { AuthenticationChanges } from './authentication-changes.js';
import { CommittedJobs } from './committed-jobs.js';
import type { HotQueryRunner, QueryObserver } from './hot-query.js';
import type { Dialect } from './dialect.js';
import { createMigrationProvider } from './migrations.js';
import type { Tables } from './schema.js';

export type { Dialect } from './dialect.js';

export interface OpenDatabaseOptions {
  /** Called for errors no request is waiting on (an idle pool client losing its server). */
  onBackgroundError?: (error: Error) => void;
  /** Sees every statement and its parameters: tests count queries and scan for secrets. */
  onQuery?: QueryObserver;
  /** Told, once at opening, about something the operator should fix (a database others can read). */
  onWarning?: (message: string) => void;
}

export interface Database {
  readonly dialect: Dialect;
  /** The query builder, for the capabilities' Kysely stores (driver errors already translated). */
  readonly kysely: Kysely<Tables>;
  /** The database clock in epoch milliseconds, as a SQL expression: expiry is decided by it. */
  readonly nowSql: RawBuilder<number>;
  /** See hot-query.ts. */
  readonly runHotQuery: HotQueryRunner;
  /**
   * PostgreSQL only: a hot statement's every row (the batched token lookup, which answers
   * several requests with one round trip). Undefined on SQLite, where a lookup is a local read.
   */
  readonly runHotQueryRows: ((sql: string, parameters: readonly unknown[]) => Promise<unknown[]>) | undefined;
  /** PostgreSQL only: connections in the pool (how many batched lookups may be out at once). */
  readonly poolSize: number | undefined;
  /**
   * SQLite only: `PRAGMA data_version` of the writing connection, which changes when another
   * connection (another process included) commits. Undefined on PostgreSQL.
   */
  readonly foreignCommitVersion: (() => number) | undefined;
  readonly authenticationChanges: AuthenticationChanges;
  /** Jobs enqueued in a store's transaction, announced after its commit (committed-jobs.ts). */
  readonly committedJobs: CommittedJobs;
  /**
   * PostgreSQL only: calls `onNotify` for every NOTIFY on `channel` (from any instance), on a
   * connection of its own that reconnects by itself — and calls it once after each reconnect, as
   * notifications sent meanwhile are lost. Resolves to the function that stops listening.
   * Undefined on SQLite, where every writer is in this process or seen by polling.
   */
  readonly listen: ((channel: string, onNotify: () => void) => Promise<() => Promise<void>>) | undefined;
  /** Applies every pending migration. Idempotent; safe to run from several instances. */
  migrate(): Promise<void>;
  /** Resolves when the database answers a trivial query; rejects with StoreUnavailableError. */
  ping(): Promise<void>;
  /** The database clock, in epoch milliseconds. */
  now(): Promise<number>;
  /** Closes every connection. Further calls fail. */
  close(): Promise<void>;
}

/** Assembles the handle from what sqlite.ts or postgres.ts opened. */
export function createDatabase(parts: {
  dialect: Dialect;
  kysely: Kysely<Tables>;
  nowSql: RawBuilder<number>;
  runHotQuery: HotQueryRunner;
  runHotQueryRows?: (sql: string, parameters: readonly unknown[]) => Promise<unknown[]>;
  poolSize?: number;
  foreignCommitVersion?: () => number;
  listen?: (channel: string, onNotify: () => void) => Promise<() => Promise<void>>;
  /** Closes the connections (see withErrorTranslation). */
  close(): Promise<void>;
}): Database {
  const { dialect, kysely, nowSql } = parts;
  const now = async () => {
    const { rows } = await sql<{ now: number }>`select ${nowSql} as now`.execute(kysely);
    return Number(rows[0]!.now);
  };
  return {
    dialect,
    kysely,
    nowSql,
    runHotQuery: parts.runHotQuery,
    runHotQueryRows: parts.runHotQueryRows,
    poolSize: parts.poolSize,
    foreignCommitVersion: parts.foreignCommitVersion,
    listen: parts.listen,
    authenticationChanges: new AuthenticationChanges(),
    committedJobs: new CommittedJobs(),
    async migrate() {
      const migrator = new Migrator({ db: kysely, provider: createMigrationProvider(dialect) });
      const { error, results } = await migrator.migrateToLatest();
      const failed = results?.find((result) => result.status === 'Error');
      if (error || failed) throw error ?? new Error(`migration ${failed?.migrationName} failed`);
    },
    async ping() {
      await now();
    },
    now,
    close: parts.close,
  };
}

/**
 * The query builder, for tests and tools that need raw SQL; the app never does. Raw writes
 * would bypass the announcements above, so caches are told to stop for good.
 */
export function rawKysely(database: Database): Kysely<Tables> {
  database.authenticationChanges.announce('bypassed');
  return database.kysely;
}
