/**
 * Bounded growth from anonymous traffic (docs/security.md, item 57), on SQLite and PostgreSQL:
 * 10,000 requests from one client to each public route that writes add at most one budget's
 * worth of rows (60 per route) and a few pages; requests from many addresses are bounded in
 * time instead, by the pruner; every other public route writes nothing at all. Then the budget
 * itself: R-LIMIT with Retry-After past 60 a minute, per route and per address (IPv6 per /64),
 * and shared by two instances through Redis.
 */
import { randomBytes } from 'node:crypto';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rawKysely, type Database } from '../../src/database/database.js';
import { openDatabase } from '../../src/database/open-database.js';
import { createManualClock } from '../../src/kernel/clock.js';
import {
  ANONYMOUS_WRITES_PER_WINDOW,
  ANONYMOUS_WRITE_WINDOW_SECONDS,
  createRedisAnonymousWriteLimiter,
  type AnonymousWriteLimiter,
} from '../../src/retention/anonymous-write-limiter.js';
import { PRUNE_GRACE_MS } from '../../src/retention/retention-service.js';
import { LOGIN_FLOW_TTL_MS } from '../../src/sessions/oidc-sign-in.js';
import { TEST_ORIGIN, TEST_PUBLIC_URL, createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { TEST_CLIENT_ID, TEST_CLIENT_SECRET, startTestProvider, type TestProvider } from '../support/oidc-provider.js';
import { REDIS_URL, testRedisUp } from '../support/redis.js';

const CALLBACK = `${TEST_PUBLIC_URL}/auth/oidc/callback`;
const REQUESTS = 10_000;
const ATTACKER = '198.51.100.23';
/** Only an "eventually" bound for the many-request tests on a busy machine; no duration is asserted. */
const SLOW_MACHINE_BOUND_MS = 300_000;

/** An anonymous request to each public route that writes, as a client that holds nothing would send it. */
const WRITING_ROUTES = {
  'GET /auth/oidc/start': { method: 'GET', url: '/auth/oidc/start?return_to=/' },
  'GET /auth/oidc/callback': {
    method: 'GET',
    url: `/auth/oidc/callback?state=${'s'.repeat(43)}&code=stolen`,
    headers: { cookie: `__Host-latchkey_flow=${'b'.repeat(43)}` },
  },
  'POST /auth/link/:secret': {
    method: 'POST',
    url: `/auth/link/lk_link_${'0'.repeat(64)}`,
    headers: { origin: TEST_ORIGIN, 'sec-fetch-site': 'same-origin' },
  },
  'POST /auth/cli/token': {
    method: 'POST',
    url: '/auth/cli/token',
    payload: { code: 'x'.repeat(40), code_verifier: 'v'.repeat(43), redirect_uri: 'http://127.0.0.1:9/callback' },
  },
} as const;

describeEachBackend('10,000 anonymous requests to each public route', (ctx) => {
  let provider: TestProvider;
  let app: TestApp;
  const clock = createManualClock(Date.now());

  beforeAll(async () => {
    provider = await startTestProvider(CALLBACK);
  });
  afterAll(() => provider?.close());

  beforeEach(async () => {
    clock.set(Date.now());
    app = await createTestApp(ctx.database, {
      clock,
      oidc: { issuer: provider.issuer, clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET, redirectUri: CALLBACK, adminEmails: [] },
    });
  });
  afterEach(() => app?.close());

  /** Rows in every table, and the bytes the database holds (SQLite: its pages; PostgreSQL: its tables and indexes). */
  async function footprint(): Promise<{ rows: Record<string, number>; totalRows: number; bytes: number }> {
    const db = rawKysely(ctx.database);
    const tables =
      ctx.dialect === 'sqlite'
        ? ((await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(db)).rows)
        : ((await sql<{ name: string }>`select tablename as name from pg_tables where schemaname = 'public'`.execute(db)).rows);
    const rows: Record<string, number> = {};
    for (const { name } of tables) {
      if (name.startsWith('kysely_')) continue;
      const [row] = (await sql<{ n: unknown }>`select count(*) as n from ${sql.table(name)}`.execute(db)).rows;
      rows[name] = Number(row!.n);
    }
    let bytes: number;
    if (ctx.dialect === 'sqlite') {
      const [pages] = (await sql<{ page_count: number }>`pragma page_count`.execute(db)).rows;
      const [size] = (await sql<{ page_size: number }>`pragma page_size`.execute(db)).rows;
      bytes = Number(pages!.page_count) * Number(size!.page_size);
    } else {
      const [total] = (
        // Tables and indexes, main fork: the free-space and visibility maps appear whenever autovacuum runs.
        await sql<{ bytes: unknown }>`select sum(pg_relation_size(c.oid)) as bytes from pg_class c
          join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' and c.relkind in ('r', 'i')`.execute(db)
      ).rows;
      bytes = Number(total!.bytes);
    }
    return { rows, totalRows: Object.values(rows).reduce((sum, n) => sum + n, 0), bytes };
  }

  it('from one address grow the database by at most one budget (60 rows) per route, then nothing', async () => {
    const before = await footprint();
    const answers: Record<string, { first: number; refused: number; last: LightMyRequestResponse }> = {};
    for (const [route, request] of Object.entries(WRITING_ROUTES)) {
      const send = (): Promise<LightMyRequestResponse> => app.http.inject({ ...request, remoteAddress: ATTACKER } as InjectOptions);
      const first = await send();
      let refused = first.statusCode === 429 ? 1 : 0;
      let last = first;
      let sent = 1;
      // One at a time until the budget is spent (concurrent inserts would make PostgreSQL extend a
      // table by many pages at once), then in rounds of 100: the count refused is the same in any order.
      for (; sent < REQUESTS && last.statusCode !== 429; sent++) {
        last = await send();
        if (last.statusCode === 429) refused++;
        else expect(last.statusCode, route).toBeLessThan(500);
      }
      for (; sent < REQUESTS; sent += 100) {
        for (const answer of await Promise.all(Array.from({ length: Math.min(100, REQUESTS - sent) }, send))) {
          if (answer.statusCode === 429) refused++;
          else expect(answer.statusCode, route).toBeLessThan(500);
          last = answer;
        }
      }
      answers[route] = { first: first.statusCode, refused, last };
    }
    const after = await footprint();

    for (const [route, { first, refused, last }] of Object.entries(answers)) {
      expect(first, route).not.toBe(429);
      expect(refused, route).toBe(REQUESTS - ANONYMOUS_WRITES_PER_WINDOW);
      expect(last.json(), route).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
    }
    // Only the sign-in starts stored anything: one flow each, 60 in all.
    const grown = Object.fromEntries(Object.entries(after.rows).map(([table, n]) => [table, n - (before.rows[table] ?? 0)]).filter(([, n]) => n !== 0));
    expect(grown).toEqual({ login_flows: ANONYMOUS_WRITES_PER_WINDOW });
    expect(after.totalRows - before.totalRows).toBe(ANONYMOUS_WRITES_PER_WINDOW);
    // 60 flows of about 250 bytes: a few pages, far below the 11 MB 2,000 unlimited starts used to take.
    expect(after.bytes - before.bytes).toBeLessThanOrEqual(256 * 1024);
    process.stdout.write(
      `[item 57, ${ctx.dialect}] ${Object.keys(WRITING_ROUTES).length} routes × ${REQUESTS} requests from one address: ` +
        `+${after.totalRows - before.totalRows} rows, +${after.bytes - before.bytes} bytes (${before.bytes} → ${after.bytes})\n`,
    );
  }, SLOW_MACHINE_BOUND_MS);

  it('from many addresses are bounded in time: the pruner removes every flow once it has expired', async () => {
    const addresses = 2_000;
    const before = await footprint();
    for (let i = 0; i < addresses; i++) {
      const response = await app.http.inject({ ...WRITING_ROUTES['GET /auth/oidc/start'], remoteAddress: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` });
      expect(response.statusCode).toBe(302);
    }
    expect((await footprint()).rows.login_flows).toBe(before.rows.login_flows! + addresses);

    clock.advance(LOGIN_FLOW_TTL_MS + PRUNE_GRACE_MS);
    const pruned = await app.services.retention.pruneOnce();

    expect(pruned.login_flows).toBe(addresses);
    expect((await footprint()).rows.login_flows).toBe(0);
  }, SLOW_MACHINE_BOUND_MS);

  it('every other public route writes nothing at all', async () => {
    const writing = new Set(Object.keys(WRITING_ROUTES));
    const others = app.routes.filter(
      (route) => route.auth === undefined && route.method !== 'HEAD' && !writing.has(`${route.method} ${route.url}`),
    );
    expect(others.length).toBeGreaterThan(5);
    const before = await footprint();
    for (const route of others) {
      const url = route.url.replace(/:[a-z]+/gi, 'x').replace('*', 'x');
      for (let i = 0; i < 200; i++) {
        const response = await app.http.inject({
          method: route.method as 'GET',
          url,
          remoteAddress: ATTACKER,
          ...(route.method === 'POST' ? { payload: { credentials: [`not-a-token-${i}`] } } : {}),
        });
        expect(response.statusCode, `${route.method} ${route.url}`).toBeLessThan(500);
      }
    }
    await app.services.credentialReports.idle?.();
    const after = await footprint();
    // The leaked-token report endpoint keeps at most its own budget of reports (60 an hour).
    const grown = Object.entries(after.rows).filter(([table, n]) => n !== before.rows[table]);
    for (const [table, n] of grown) expect(n - (before.rows[table] ?? 0), table).toBeLessThanOrEqual(60);
  }, SLOW_MACHINE_BOUND_MS);
});

describe('the budget of the public routes that write', () => {
  let database: Database;
  let app: TestApp;

  beforeEach(async () => {
    database = openDatabase('sqlite::memory:');
    await database.migrate();
    app = await createTestApp(database);
  });
  afterEach(async () => {
    await app.close();
    await database.close();
  });

  const exchange = (remoteAddress: string) => app.http.inject({ ...WRITING_ROUTES['POST /auth/cli/token'], remoteAddress });
  const linkPost = (remoteAddress: string) => app.http.inject({ ...WRITING_ROUTES['POST /auth/link/:secret'], remoteAddress });

  it('request 61 in a minute from one address is R-LIMIT with Retry-After, as problem+json', async () => {
    for (let i = 0; i < ANONYMOUS_WRITES_PER_WINDOW; i++) expect((await exchange(ATTACKER)).statusCode).toBe(400);
    const limited = await exchange(ATTACKER);
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(limited.headers['retry-after']).toMatch(/^[1-9]\d*$/);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(ANONYMOUS_WRITE_WINDOW_SECONDS);
    expect(limited.headers['x-request-id']).toBeTruthy();
    expect(limited.json()).toMatchObject({ code: 'RATE_LIMITED', status: 429, type: '/docs/errors/rate-limited' });
  });

  it('each address and each route has a budget of its own; an IPv6 /64 is one address', async () => {
    for (let i = 0; i < ANONYMOUS_WRITES_PER_WINDOW; i++) await exchange(ATTACKER);
    expect((await exchange(ATTACKER)).statusCode).toBe(429);
    expect((await exchange('198.51.100.24')).statusCode).toBe(400);
    expect((await linkPost(ATTACKER)).statusCode).not.toBe(429);

    for (let i = 0; i < ANONYMOUS_WRITES_PER_WINDOW; i++) await exchange(`2001:db8:1:2::${(i + 1).toString(16)}`);
    expect((await exchange('2001:db8:1:2:ffff:ffff:ffff:fffe')).statusCode).toBe(429);
    expect((await exchange('2001:db8:1:3::1')).statusCode).toBe(400);
  });
});

describe('the budget of the public routes that write, shared through Redis', () => {
  let up = false;
  const databases: Database[] = [];
  const apps: TestApp[] = [];
  const limiters: AnonymousWriteLimiter[] = [];

  beforeAll(async () => {
    up = await testRedisUp('the shared anonymous-write budget tests');
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    for (const database of databases.splice(0)) await database.close();
  });

  it('two instances spend one budget per address', async (testContext) => {
    if (!up) testContext.skip();
    const prefix = `latchkey-test:${randomBytes(6).toString('hex')}:anonymous-writes`;
    for (let i = 0; i < 2; i++) {
      const database = openDatabase('sqlite::memory:');
      await database.migrate();
      databases.push(database);
      const limiter = createRedisAnonymousWriteLimiter({ url: REDIS_URL, prefix, onError: () => undefined });
      limiters.push(limiter);
      apps.push(await createTestApp(database, { anonymousWriteLimiter: limiter }));
    }
    const [first, second] = apps as [TestApp, TestApp];
    const exchange = (app: TestApp) => app.http.inject({ ...WRITING_ROUTES['POST /auth/cli/token'], remoteAddress: ATTACKER });
    for (let i = 0; i < ANONYMOUS_WRITES_PER_WINDOW; i++) expect((await exchange(i % 2 ? first : second)).statusCode).toBe(400);
    expect((await exchange(first)).statusCode).toBe(429);
    expect((await exchange(second)).statusCode).toBe(429);
  });
});
