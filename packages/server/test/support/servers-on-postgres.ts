/**
 * Real `latchkey-server` processes on one throw-away PostgreSQL database, for the tests of a
 * file: the database is created before them and dropped after, and every process started through
 * it is stopped, also when setting up fails half-way. Without PostgreSQL the tests are skipped.
 */
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { createTestPostgresDatabase, postgresAvailable } from './databases.js';
import { ensureServerBuilt, startServer, type ServerProcess, type StartServerOptions } from './server-process.mjs';

export interface ServersOnPostgres {
  /** The throw-away database. */
  readonly url: string;
  /** A client of the test's own on that database, connected. */
  readonly db: pg.Client;
  /** Starts a server process, stopped after the file's tests. */
  start(options: StartServerOptions): Promise<ServerProcess>;
}

export type Skippable = { skip(note?: string): void };

/** What the file's beforeAll set up; the test is skipped (with `reason`) when there is none. */
export function readyOrSkip<T>(context: Skippable, value: T | undefined, reason: string): T {
  if (value === undefined) {
    context.skip(reason);
    throw new Error('unreachable');
  }
  return value;
}

/**
 * Registers the file's beforeAll and afterAll. Once PostgreSQL answers (and `precondition`, if
 * given, names no reason to skip), `setUp` starts what the tests need and returns it; each test
 * gets that from the returned function, called with its context.
 */
export function serversOnPostgres<T>(
  setUp: (servers: ServersOnPostgres) => Promise<T>,
  options: { precondition?: () => Promise<string | undefined> } = {},
): (context: Skippable) => T {
  let value: T | undefined;
  let skipReason: string | undefined;
  let database: { url: string; drop(): Promise<void> } | undefined;
  let db: pg.Client | undefined;
  const started: ServerProcess[] = [];

  async function tearDown(): Promise<void> {
    await Promise.all(started.map((instance) => instance.stop()));
    await db?.end().catch(() => undefined);
    await database?.drop();
    db = undefined;
    database = undefined;
  }

  beforeAll(async () => {
    ensureServerBuilt();
    if (!(await postgresAvailable())) {
      skipReason = 'PostgreSQL is not available';
      return;
    }
    skipReason = await options.precondition?.();
    if (skipReason) return;
    database = await createTestPostgresDatabase();
    db = new pg.Client({ connectionString: database.url });
    try {
      await db.connect();
      value = await setUp({
        url: database.url,
        db,
        async start(startOptions) {
          const instance = await startServer(startOptions);
          started.push(instance);
          return instance;
        },
      });
    } catch (error) {
      await tearDown();
      throw error;
    }
  }, 90_000);

  afterAll(tearDown, 30_000);

  return (context) => readyOrSkip(context, value, skipReason ?? 'the servers did not start');
}
