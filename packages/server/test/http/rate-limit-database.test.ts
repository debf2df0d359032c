/**
 * Failed-authentication throttling shared through the database (docs/security.md, item 39; the
 * PostgreSQL deployment without Redis): two instances on one real PostgreSQL database count
 * together, neither ever refuses a token that verifies for long, a token failing its checksum
 * costs no database query (docs/performance.md, P4), and a valid token from an address in good
 * standing costs the one lookup it costs without the throttle.
 */
import { generateToken } from '@latchkey/contract/token';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { createDatabaseFailureLimiter } from '../../src/auth-failures/database-failure-limiter.js';
import { FAILURE_THRESHOLD } from '../../src/auth-failures/failure-limiter.js';
import { createKyselyAuthFailureStore } from '../../src/auth-failures/kysely-auth-failure-store.js';
import type { Database } from '../../src/database/database.js';
import { openDatabase } from '../../src/database/open-database.js';
import { createManualClock } from '../../src/kernel/clock.js';
import { bearer, createTestApp } from '../support/app.js';
import { createTestPostgresDatabase, postgresAvailable, postgresRequired } from '../support/databases.js';
import { spendFailureBudgetAcross, untilNotThrottled } from '../support/failure-budget.js';

const available = postgresRequired || (await postgresAvailable());

describe.skipIf(!available)('failed-authentication throttling through the database (two instances, PostgreSQL)', () => {
  let postgres: { url: string; drop(): Promise<void> };
  const databases: Database[] = [];
  const queries: string[] = [];
  const clock = createManualClock(Date.now());
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
      clock,
      failureLimiter: createDatabaseFailureLimiter({
        store: createKyselyAuthFailureStore(database),
        clock,
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

  // docs/security.md, item 39
  it('15 + 15 failures across the two instances throttle the address on both, without lookups once each knows', async () => {
    await spendFailureBudgetAcross([a, b], me); // the 30th failure went through b
    expect((await me(b, unknownToken())).statusCode).toBe(429);
    expect((await me(a, unknownToken())).statusCode).toBe(401); // a learns it from its own next failure
    queries.length = 0;
    for (const app of [a, b]) {
      const limited = await me(app, unknownToken());
      expect(limited.statusCode).toBe(429);
      expect(limited.json()).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
      expect(limited.headers['retry-after']).toBe('1');
    }
    expect(queries).toEqual([]);
    // Another address is unaffected.
    ip = '198.51.100.77';
    expect((await me(b, unknownToken())).statusCode).toBe(401);
  });

  // docs/security.md, item 39
  it('1,000 unknown tokens through the two instances, then a valid token → 200 on each (retrying as Retry-After says)', async () => {
    for (let i = 0; i < 1_000; i++) expect([401, 429]).toContain((await me(i % 2 ? a : b, unknownToken())).statusCode);
    for (const app of [a, b]) {
      const answer = await untilNotThrottled(() => me(app, bearer(secret)), (seconds) => clock.advance(seconds * 1000));
      expect(answer.statusCode).toBe(200);
    }
  });

  // docs/security.md, item 39
  it('a success through either instance does not reset the shared count; requests without credentials do not count', async () => {
    for (let i = 0; i < 100; i++) expect((await me(a, {})).statusCode).toBe(401);
    for (let i = 0; i < FAILURE_THRESHOLD - 1; i++) expect((await me(i % 2 ? a : b, unknownToken())).statusCode).toBe(401);
    expect((await me(b, bearer(secret))).statusCode).toBe(200);
    expect((await me(a, unknownToken())).statusCode).toBe(401);
    expect((await me(a, unknownToken())).statusCode).toBe(429);
  });

  // docs/security.md, item 39; docs/performance.md, P4
  it('never sends a checksum failure to the database, nor counts it', async () => {
    queries.length = 0;
    for (let i = 0; i < 3 * FAILURE_THRESHOLD; i++) expect((await me(i % 2 ? a : b, badChecksum())).statusCode).toBe(401);
    expect(queries).toEqual([]);
    expect((await me(a, unknownToken())).statusCode).toBe(401);
  });

  it('a valid token from an address in good standing costs one query, the same lookup as without the throttle', async () => {
    await me(a, bearer(secret)); // last_used_at may be written once
    queries.length = 0;
    for (let i = 0; i < 10; i++) expect((await me(a, bearer(secret))).statusCode).toBe(200);
    // The first use's bookkeeping (its address among the token's recent ones) runs in the
    // background and may land here; it is written at most once a minute, never per request.
    const bookkeeping = queries.filter((text) => /token_addresses/.test(text));
    expect(bookkeeping.length).toBeLessThanOrEqual(2);
    expect(queries.filter((text) => !/token_addresses/.test(text))).toHaveLength(10);
    expect(queries.every((text) => !/auth_failures/.test(text))).toBe(true);
  });
});
