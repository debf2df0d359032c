/**
 * Failed-authentication limiting shared through the database (docs/security.md, item 39; the
 * PostgreSQL deployment without Redis): two instances on one real PostgreSQL database count
 * together, a ban set through either is enforced by both (valid tokens included), and a token
 * failing its checksum still costs no database query (docs/performance.md, P4).
 */
import { generateToken } from '@latchkey/contract/token';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { createDatabaseFailureLimiter } from '../../src/auth-failures/database-failure-limiter.js';
import { BAN_MS, FAILURE_THRESHOLD } from '../../src/auth-failures/failure-limiter.js';
import { createKyselyAuthFailureStore } from '../../src/auth-failures/kysely-auth-failure-store.js';
import type { Database } from '../../src/database/database.js';
import { openDatabase } from '../../src/database/open-database.js';
import { systemClock } from '../../src/kernel/clock.js';
import { bearer, createTestApp } from '../support/app.js';
import { createTestPostgresDatabase, postgresAvailable, postgresRequired } from '../support/databases.js';
import { spendFailureBudgetAcross } from '../support/failure-budget.js';

const available = postgresRequired || (await postgresAvailable());

describe.skipIf(!available)('failed-authentication limiting through the database (two instances, PostgreSQL)', () => {
  let postgres: { url: string; drop(): Promise<void> };
  const databases: Database[] = [];
  const queries: string[] = [];
  let a: App;
  let b: App;
  let secret: string;
  let address = 0;
  /** Each test its own client address, so the shared table needs no clean-up between tests. */
  let ip: string;

  async function instance(): Promise<App> {
    const database = openDatabase(postgres.url, { onQuery: (text) => queries.push(text) });
    databases.push(database);
    return createTestApp(database, {
      failureLimiter: createDatabaseFailureLimiter({
        store: createKyselyAuthFailureStore(database),
        clock: systemClock,
        onError: (error) => {
          throw error;
        },
      }),
    });
  }

  beforeAll(async () => {
    postgres = await createTestPostgresDatabase();
    const setupDatabase = openDatabase(postgres.url);
    await setupDatabase.migrate();
    const setup = await createTestApp(setupDatabase);
    ({ secret } = await setup.createToken(await setup.signIn(), 'valid'));
    await setup.close();
    await setupDatabase.close();
    a = await instance();
    b = await instance();
  });

  afterAll(async () => {
    await a?.http.close();
    await b?.http.close();
    for (const database of databases) await database.close();
    await postgres?.drop();
  });

  beforeEach(() => {
    address += 1;
    ip = `203.0.113.${address}`;
  });

  const me = (app: App, headers: Record<string, string>) => app.http.inject({ url: '/api/v1/me', headers, remoteAddress: ip });
  const unknownToken = () => bearer(generateToken().token);
  const badChecksum = () => {
    const token = generateToken().token;
    return bearer(token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'));
  };

  it('bans after 15 + 15 failures across the two instances; both then refuse, valid tokens included', async () => {
    await spendFailureBudgetAcross([a, b], me);
    for (const app of [a, b]) {
      const limited = await me(app, bearer(secret));
      expect(limited.statusCode).toBe(429);
      expect(limited.json()).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
      const retryAfter = Number(limited.headers['retry-after']);
      expect(Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= BAN_MS / 1000).toBe(true);
      expect((await me(app, unknownToken())).statusCode).toBe(429);
    }
    // Another address is unaffected.
    ip = '198.51.100.77';
    expect((await me(b, bearer(secret))).statusCode).toBe(200);
  });

  it('resets the shared count on a success through either instance; requests without credentials do not count', async () => {
    for (let i = 0; i < 100; i++) expect((await me(a, {})).statusCode).toBe(401);
    for (let i = 0; i < FAILURE_THRESHOLD - 1; i++) await me(i % 2 ? a : b, unknownToken());
    expect((await me(b, bearer(secret))).statusCode).toBe(200);
    for (let i = 0; i < FAILURE_THRESHOLD - 1; i++) expect((await me(i % 2 ? a : b, unknownToken())).statusCode).toBe(401);
    expect((await me(a, bearer(secret))).statusCode).toBe(200);
  });

  it('never sends a checksum failure to the database, yet counts it on the instance that saw it', async () => {
    queries.length = 0;
    for (let i = 0; i < FAILURE_THRESHOLD; i++) expect((await me(a, badChecksum())).statusCode).toBe(401);
    expect(queries).toEqual([]);
    expect((await me(a, badChecksum())).statusCode).toBe(429);
    expect(queries).toEqual([]);
  });

  it('a successful request costs one query, the same lookup as without the limiter', async () => {
    await me(a, bearer(secret)); // last_used_at may be written once
    queries.length = 0;
    for (let i = 0; i < 10; i++) expect((await me(a, bearer(secret))).statusCode).toBe(200);
    expect(queries).toHaveLength(10);
  });
});
