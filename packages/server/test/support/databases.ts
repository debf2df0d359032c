/**
 * The databases tests run on: SQLite (in memory, fresh per test) and a real PostgreSQL.
 *
 * PostgreSQL comes from LATCHKEY_TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres
 * when it answers. Each test file gets its own throw-away database (created here, dropped after
 * the file), and each test starts from empty tables. With LATCHKEY_REQUIRE_POSTGRES=1 a missing
 * server fails the run; otherwise its tests are skipped with a loud line.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe } from 'vitest';
import { rawKysely, type Database, type Dialect, type OpenDatabaseOptions } from '../../src/database/database.js';
import { openDatabase } from '../../src/database/open-database.js';
import { createStores, type Stores } from './stores.js';

const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
/**
 * In this order: a background write of the previous test (a token's address, which never delays
 * a request) may still hold token_addresses and want tokens; taking token_addresses first makes
 * the truncate wait for it instead of deadlocking with it.
 */
const TABLES = ['token_addresses', 'audit_events', 'sessions', 'namespaces', 'tokens', 'signin_links', 'login_flows', 'cli_grants', 'notices', 'auth_failures', 'pending_credential_reports', 'accounts', 'policy', 'jobs', 'webhook_attempts', 'webhook_deliveries', 'webhooks', 'notification_preferences', 'email_notifications'];

export const postgresRequired = process.env.LATCHKEY_REQUIRE_POSTGRES === '1';

function adminUrl(): string {
  return process.env.LATCHKEY_TEST_DATABASE_URL || DEFAULT_ADMIN_URL;
}

let availability: Promise<boolean> | undefined;

/** Whether the test PostgreSQL answers; asked once per test file. */
export function postgresAvailable(): Promise<boolean> {
  availability ??= (async () => {
    const client = new pg.Client({ connectionString: adminUrl(), connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('select 1');
      return true;
    } catch (error) {
      if (postgresRequired) {
        throw new Error(
          `LATCHKEY_REQUIRE_POSTGRES=1 but PostgreSQL at ${redactPassword(adminUrl())} does not answer: ${(error as Error).message}`,
        );
      }
      process.stderr.write(
        `\n!!! PostgreSQL at ${redactPassword(adminUrl())} does not answer: SKIPPING the PostgreSQL tests. ` +
          'Set LATCHKEY_TEST_DATABASE_URL or start PostgreSQL; CI sets LATCHKEY_REQUIRE_POSTGRES=1.\n\n',
      );
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return availability;
}

/** A throw-away PostgreSQL database; `drop()` removes it. */
export async function createTestPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `latchkey_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl() });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

export interface BackendContext {
  readonly dialect: Dialect;
  /** The database for the current test: empty tables, migrated. */
  readonly database: Database;
  /** Every capability's Kysely store, on that database. */
  readonly stores: Stores;
  /** Every SQL statement the store sent, in order, since the test began. */
  readonly queries: Array<{ sql: string; parameters: readonly unknown[] }>;
  /** Raw SQL against the current database, for arranging what the API cannot. */
  exec(query: ReturnType<typeof sql>): Promise<unknown[]>;
}

/**
 * Runs `body` once per backend: `describe('<title> [sqlite]')` and `describe('<title> [postgres]')`.
 * The context's fields refer to the current test's database inside `it`/`beforeEach`.
 */
export function describeEachBackend(title: string, body: (ctx: BackendContext) => void): void {
  for (const dialect of ['sqlite', 'postgres'] as const) {
    describe(`${title} [${dialect}]`, () => {
      const state: { database?: Database; stores?: Stores; postgres?: { url: string; drop(): Promise<void> }; skip?: boolean } = {};
      const queries: BackendContext['queries'] = [];
      const options: OpenDatabaseOptions = {
        onQuery: (text, parameters) => queries.push({ sql: text, parameters }),
      };

      beforeAll(async () => {
        if (dialect === 'sqlite') return;
        if (!(await postgresAvailable())) {
          state.skip = true;
          return;
        }
        state.postgres = await createTestPostgresDatabase();
        state.database = openDatabase(state.postgres.url, options);
        state.stores = createStores(state.database);
        await state.database.migrate();
      });

      beforeEach(async (testContext) => {
        if (state.skip) {
          testContext.skip('PostgreSQL is not available');
          return;
        }
        if (dialect === 'sqlite') {
          await state.database?.close();
          state.database = openDatabase('sqlite::memory:', options);
          state.stores = createStores(state.database);
          await state.database.migrate();
        } else {
          await sql.raw(`truncate ${TABLES.join(', ')} restart identity cascade`).execute(rawKysely(state.database!));
        }
        queries.length = 0;
      });

      afterAll(async () => {
        await state.database?.close();
        await state.postgres?.drop();
      });

      body({
        dialect,
        get database() {
          if (!state.database) throw new Error('no database: used outside a test?');
          return state.database;
        },
        get stores() {
          if (!state.stores) throw new Error('no stores: used outside a test?');
          return state.stores;
        },
        queries,
        async exec(query) {
          const result = await query.execute(rawKysely(this.database));
          return result.rows as unknown[];
        },
      });
    });
  }
}

function redactPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

