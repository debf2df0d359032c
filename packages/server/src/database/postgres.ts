/** Opening PostgreSQL: one pool per instance, with the listeners that keep an outage survivable. */
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { createDatabase, type Database, type OpenDatabaseOptions } from './database.js';
import { withErrorTranslation } from './driver-errors.js';
import { postgresHotQueryRunner, postgresHotRowsRunner } from './hot-query.js';
import { queryLog } from './query-log.js';
import type { Tables } from './schema.js';

export const POSTGRES_POOL_SIZE = 10;

export function openPostgresDatabase(url: string, options: OpenDatabaseOptions): Database {
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
  // kills the process (docs/security.md, item 14). Its query already fails with that error and
  // the pool discards the broken client on release, so here the event only needs a listener.
  pool.on('connect', (client) => client.on('error', ignoreCheckedOutClientError));
  const dialect = withErrorTranslation(new PostgresDialect({ pool }));
  const kysely = new Kysely<Tables>({ dialect, log: queryLog(options.onQuery) });
  const runHotQueryRows = postgresHotRowsRunner(pool, options.onQuery);
  return createDatabase({
    dialect: 'postgres',
    kysely,
    // clock_timestamp(), not now(): the time of the statement, not of its transaction's start.
    nowSql: sql<number>`(extract(epoch from clock_timestamp()) * 1000)::bigint`,
    runHotQuery: postgresHotQueryRunner(runHotQueryRows),
    runHotQueryRows,
    poolSize: POSTGRES_POOL_SIZE,
    listen: (channel, onNotify) => listenOn(url, channel, onNotify, options),
    close: () => dialect.close(),
  });
}

function ignoreCheckedOutClientError(): void {}

/** The channels notified by the database's own triggers, and the statement listening to each. */
const LISTEN_STATEMENTS = {
  latchkey_revocations: 'listen latchkey_revocations',
  latchkey_jobs: 'listen latchkey_jobs',
  latchkey_credential_reports: 'listen latchkey_credential_reports',
} as const;

/** Milliseconds between attempts to get the listening connection back. */
const RELISTEN_DELAY_MS = 1_000;

/**
 * LISTEN on a connection of its own (a pooled one would be handed to queries). When it breaks
 * (PostgreSQL restarted), it is opened again until it works, and `onNotify` is called then:
 * notifications sent while it was down are lost, so the listener reads what it missed.
 */
async function listenOn(url: string, channel: string, onNotify: () => void, options: OpenDatabaseOptions): Promise<() => Promise<void>> {
  const listenStatement = LISTEN_STATEMENTS[channel as keyof typeof LISTEN_STATEMENTS];
  if (!listenStatement) throw new Error(`not a channel this server listens on: ${channel}`);
  let client: pg.Client | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    const fresh = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
    fresh.on('notification', () => onNotify());
    fresh.on('error', (error) => {
      options.onBackgroundError?.(error);
      reconnectLater(fresh);
    });
    fresh.on('end', () => reconnectLater(fresh));
    try {
      await fresh.connect();
      await fresh.query(listenStatement);
    } catch (error) {
      fresh.removeAllListeners('end');
      await fresh.end().catch(() => undefined);
      throw error;
    }
    if (stopped) {
      await fresh.end().catch(() => undefined);
      return;
    }
    client = fresh;
  };

  const reconnectLater = (broken: pg.Client) => {
    if (stopped || client !== broken) return;
    client = undefined;
    broken.removeAllListeners('end');
    void broken.end().catch(() => undefined);
    const attempt = () => {
      retry = undefined;
      if (stopped) return;
      connect().then(
        () => onNotify(),
        () => (retry = setTimeout(attempt, RELISTEN_DELAY_MS)),
      );
    };
    retry = setTimeout(attempt, RELISTEN_DELAY_MS);
  };

  await connect();
  return async () => {
    stopped = true;
    if (retry) clearTimeout(retry);
    const open = client;
    client = undefined;
    if (open) {
      open.removeAllListeners('end');
      await open.end().catch(() => undefined);
    }
  };
}
