/**
 * The database handle's written guarantees (database.ts), on SQLite and on a real PostgreSQL:
 * migrations, the database clock, and unavailability as StoreUnavailableError.
 */
import { randomUUID } from 'node:crypto';
import { Migrator, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createTestPostgresDatabase, describeEachBackend } from '../../test/support/databases.js';
import { rejection, storeFixtures } from '../../test/support/store-fixtures.js';
import { createKyselyAccountStore } from '../accounts/kysely-account-store.js';
import { StoreUnavailableError } from '../kernel/store-errors.js';
import { rawKysely, type Database } from './database.js';
import { createMigrationProvider } from './migrations.js';
import { openDatabase } from './open-database.js';

describeEachBackend('Database contract', (ctx) => {
  const { account, audit, givenAccount, count } = storeFixtures(ctx);

  describe('migrations and clock', () => {
    it('migrating again changes nothing', async () => {
      await ctx.database.migrate();
      await ctx.database.migrate();
      await givenAccount();
      expect(await count('accounts')).toBe(1);
    });

    if (ctx.dialect === 'postgres') {
      it('several instances can migrate one fresh database at the same time', async () => {
        const fresh = await createTestPostgresDatabase();
        const databases = [0, 1, 2, 3].map(() => openDatabase(fresh.url));
        try {
          await Promise.all(databases.map((database) => database.migrate()));
          await createKyselyAccountStore(databases[0]!).insertAccount(account(), audit('account.created', 'x'));
          expect(await createKyselyAccountStore(databases[3]!).findAccountByEmail('nobody@example.test')).toBeUndefined();
        } finally {
          await Promise.all(databases.map((database) => database.close()));
          await fresh.drop();
        }
      });

      it('a new database has no token-insert function, and 0006 drops the one an earlier 0005 created', async () => {
        const functions = async (database: Database) => {
          const { rows } = await sql<{ n: unknown }>`select count(*) as n from pg_proc where proname = 'latchkey_insert_tokens'`.execute(
            rawKysely(database),
          );
          return Number(rows[0]!.n);
        };
        expect(await functions(ctx.database)).toBe(0);

        const fresh = await createTestPostgresDatabase();
        const database = openDatabase(fresh.url);
        try {
          // A database migrated by the release whose 0005 created the function.
          const migrator = new Migrator({ db: rawKysely(database), provider: createMigrationProvider('postgres') });
          expect((await migrator.migrateTo('0005_create_tokens_function')).error).toBeUndefined();
          await sql`create function latchkey_insert_tokens(batch jsonb) returns void language sql as 'select 1'`.execute(rawKysely(database));
          expect(await functions(database)).toBe(1);
          await database.migrate();
          expect(await functions(database)).toBe(0);
        } finally {
          await database.close();
          await fresh.drop();
        }
      });
    }

    it('the database answers a ping and tells its clock in epoch milliseconds', async () => {
      await ctx.database.ping();
      const before = Date.now();
      const now = await ctx.database.now();
      const after = Date.now();
      expect(Number.isInteger(now)).toBe(true);
      expect(now).toBeGreaterThanOrEqual(before - 2000);
      expect(now).toBeLessThanOrEqual(after + 2000);
    });
  });

  describe('unavailability', () => {
    if (ctx.dialect === 'sqlite') {
      it('a closed database refuses every call with StoreUnavailableError', async () => {
        const database = openDatabase('sqlite::memory:');
        const accounts = createKyselyAccountStore(database);
        await database.migrate();
        await database.close();
        expect(await rejection(database.ping())).toBeInstanceOf(StoreUnavailableError);
        expect(await rejection(accounts.findAccountById(randomUUID()))).toBeInstanceOf(StoreUnavailableError);
        const record = account();
        expect(await rejection(accounts.insertAccount(record, audit('account.created', record.id)))).toBeInstanceOf(StoreUnavailableError);
      });
    } else {
      it('a server that does not answer → StoreUnavailableError from ping and from writes', async () => {
        const database = openDatabase('postgres://postgres@127.0.0.1:1/x');
        try {
          expect(await rejection(database.ping())).toBeInstanceOf(StoreUnavailableError);
          const record = account();
          expect(await rejection(createKyselyAccountStore(database).insertAccount(record, audit('account.created', record.id)))).toBeInstanceOf(
            StoreUnavailableError,
          );
        } finally {
          await database.close();
        }
      });

      it('a closed database refuses calls with StoreUnavailableError', async () => {
        const fresh = await createTestPostgresDatabase();
        const database = openDatabase(fresh.url);
        try {
          await database.migrate();
          await database.close();
          expect(await rejection(database.ping())).toBeInstanceOf(StoreUnavailableError);
          expect(await rejection(createKyselyAccountStore(database).findAccountById(randomUUID()))).toBeInstanceOf(StoreUnavailableError);
        } finally {
          await fresh.drop();
        }
      });
    }
  });
});
