/**
 * Failed-authentication throttling per client address (docs/security.md, item 39) through the
 * HTTP API: on SQLite with the in-memory count and the verified-token cache (one instance, as
 * deployed), on PostgreSQL with the count in the database, and through Redis shared by two
 * instances. The clock is injected: ageing and the one-lookup-per-second allowance are driven by
 * moving it, never by waiting.
 */
import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { generateToken } from '@latchkey/contract/token';
import { sql } from 'kysely';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { createDatabaseFailureLimiter } from '../../src/auth-failures/database-failure-limiter.js';
import {
  FAILURE_BUCKET_MS,
  FAILURE_THRESHOLD,
  FAILURE_WINDOW_MS,
  THROTTLED_LOOKUP_INTERVAL_MS,
  type FailureLimiter,
} from '../../src/auth-failures/failure-limiter.js';
import { createMemoryFailureLimiter } from '../../src/auth-failures/memory-failure-limiter.js';
import { createRedisFailureLimiter } from '../../src/auth-failures/redis-failure-limiter.js';
import type { Database } from '../../src/database/database.js';
import { openDatabase } from '../../src/database/open-database.js';
import { createManualClock } from '../../src/kernel/clock.js';
import { bearer, createTestApp, type TestApp, type TestSession } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { untilNotThrottled, spendFailureBudgetAcross } from '../support/failure-budget.js';
import { REDIS_URL, testRedisUp } from '../support/redis.js';

const ATTACKER = '203.0.113.7';
const unknownToken = () => bearer(generateToken().token);
const badChecksum = () => {
  const token = generateToken().token;
  return bearer(token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'));
};
const countOf = (statuses: number[], status: number) => statuses.filter((each) => each === status).length;

/** R-LIMIT, with the short Retry-After of a throttled address (never the old hour). */
function expectThrottled(response: LightMyRequestResponse): void {
  expect(response.statusCode).toBe(429);
  expect(response.json()).toMatchObject({ code: 'RATE_LIMITED', status: 429, type: '/docs/errors/rate-limited' });
  expect(response.headers['retry-after']).toMatch(/^[1-9]\d*$/);
  expect(Number(response.headers['retry-after'])).toBeLessThanOrEqual(THROTTLED_LOOKUP_INTERVAL_MS / 1000);
}

describeEachBackend('failed-authentication throttling through the HTTP API', (ctx) => {
  let clock: ReturnType<typeof createManualClock>;
  let app: TestApp;
  let session: TestSession;
  let secret: string;
  let limiterErrors: unknown[];

  /** As deployed: in memory on single-instance SQLite (with its token cache), in the database on PostgreSQL. */
  function limiter(): FailureLimiter {
    return ctx.dialect === 'sqlite'
      ? createMemoryFailureLimiter({ clock })
      : createDatabaseFailureLimiter({ store: ctx.stores.authFailures, clock, onError: (error) => limiterErrors.push(error) });
  }

  async function appOn(trustProxy?: string[]): Promise<TestApp> {
    return createTestApp(ctx.database, {
      clock,
      failureLimiter: limiter(),
      tokenCache: ctx.dialect === 'sqlite',
      trustProxy,
    });
  }

  beforeEach(async () => {
    clock = createManualClock(Date.now());
    limiterErrors = [];
    app = await appOn();
    session = await app.signIn();
    ({ secret } = await app.createToken(session, 'valid'));
  });
  afterEach(async () => {
    await app.close();
    expect(limiterErrors).toEqual([]);
  });

  const me = (headers: Record<string, string>, remoteAddress = ATTACKER) => app.http.inject({ url: '/api/v1/me', headers, remoteAddress });
  const statusesOf = async (count: number, headers: () => Record<string, string>, remoteAddress = ATTACKER) => {
    const statuses: number[] = [];
    for (let i = 0; i < count; i++) statuses.push((await me(headers(), remoteAddress)).statusCode);
    return statuses;
  };
  /** Token lookups sent to the database since `ctx.queries` was last emptied. */
  const lookups = () => ctx.queries.filter((query) => /^select/i.test(query.sql) && /"tokens"/.test(query.sql)).length;
  const spendBudget = async (remoteAddress = ATTACKER) =>
    expect(await statusesOf(FAILURE_THRESHOLD, unknownToken, remoteAddress)).toEqual(Array(FAILURE_THRESHOLD).fill(401));

  // docs/security.md, item 39
  it('from one address, 1,000 unknown well-formed tokens, then a valid token → 200 (retrying as Retry-After says)', async () => {
    const statuses = await statusesOf(1_000, unknownToken);
    expect(countOf(statuses, 401)).toBe(FAILURE_THRESHOLD);
    expect(countOf(statuses, 429)).toBe(1_000 - FAILURE_THRESHOLD);
    const answer = await untilNotThrottled(() => me(bearer(secret)), (seconds) => clock.advance(seconds * 1000));
    expect(answer.statusCode).toBe(200);
  });

  // docs/security.md, item 39
  it('a token verified before the flood keeps working at once from the throttled address', async () => {
    expect((await me(bearer(secret))).statusCode).toBe(200);
    await statusesOf(1_000, unknownToken);
    ctx.queries.length = 0;
    for (let i = 0; i < 5; i++) expect((await me(bearer(secret))).statusCode).toBe(200);
    // On SQLite the verified-token cache answers it; PostgreSQL caches nothing and reads it again.
    expect(lookups()).toBe(ctx.dialect === 'sqlite' ? 0 : 5);
  });

  // docs/security.md, item 39
  it('tokens failing the checksum never count and never reach the database', async () => {
    ctx.queries.length = 0;
    expect(await statusesOf(200, badChecksum)).toEqual(Array(200).fill(401));
    expect(ctx.queries).toEqual([]);
    await spendBudget();
    expectThrottled(await me(unknownToken()));
  });

  // docs/security.md, item 39
  it('revoked and expired well-formed tokens count against the address', async () => {
    const revoked = await app.createToken(session, 'revoked');
    const expired = await app.createToken(session, 'expired');
    expect((await app.http.inject({ method: 'DELETE', url: `/api/v1/tokens/${revoked.token.id}`, headers: session.headers })).statusCode).toBe(204);
    await ctx.exec(sql`update tokens set expires_at = ${Date.now() - 60_000} where id = ${expired.token.id}`);
    const half = FAILURE_THRESHOLD / 2;
    expect(await statusesOf(half, () => bearer(revoked.secret))).toEqual(Array(half).fill(401));
    const expiredAnswers = [];
    for (let i = 0; i < half; i++) expiredAnswers.push(await me(bearer(expired.secret)));
    expect(expiredAnswers.map((answer) => answer.json().code)).toEqual(Array(half).fill('TOKEN_EXPIRED'));
    expectThrottled(await me(unknownToken()));
  });

  // docs/security.md, item 39
  it('past 30 failures in the window, unknown tokens are answered R-LIMIT with a short Retry-After and no lookup', async () => {
    await spendBudget();
    ctx.queries.length = 0;
    for (let i = 0; i < 50; i++) expectThrottled(await me(unknownToken()));
    expect(ctx.queries).toEqual([]);
    // Another address is unaffected.
    expect((await me(unknownToken(), '198.51.100.1')).statusCode).toBe(401);
    expect((await me(bearer(secret), '198.51.100.1')).statusCode).toBe(200);
  });

  // docs/security.md, item 39: the lookup allowance of a throttled address
  it('a throttled address gets at most one token lookup per second on an instance', async () => {
    await spendBudget();
    for (let second = 0; second < 5; second++) {
      clock.advance(THROTTLED_LOOKUP_INTERVAL_MS);
      ctx.queries.length = 0;
      const statuses = await statusesOf(20, unknownToken);
      expect(countOf(statuses, 401)).toBe(1);
      expect(countOf(statuses, 429)).toBe(19);
      expect(lookups()).toBe(1);
    }
  });

  // docs/security.md, item 39
  it('failures age out of the window: they count for 3 minutes, and are gone 30 s after', async () => {
    expect(await statusesOf(FAILURE_THRESHOLD - 1, unknownToken)).toEqual(Array(FAILURE_THRESHOLD - 1).fill(401));
    clock.advance(FAILURE_WINDOW_MS);
    expect((await me(unknownToken())).statusCode).toBe(401); // the 30th within 3 minutes
    expectThrottled(await me(unknownToken()));

    clock.advance(FAILURE_WINDOW_MS + FAILURE_BUCKET_MS);
    await spendBudget(); // the earlier failures no longer count
    expectThrottled(await me(unknownToken()));
  });

  // docs/security.md, item 39
  it('a success does not reset the count', async () => {
    expect(await statusesOf(FAILURE_THRESHOLD - 1, unknownToken)).toEqual(Array(FAILURE_THRESHOLD - 1).fill(401));
    expect((await me(bearer(secret))).statusCode).toBe(200);
    expect((await me(unknownToken())).statusCode).toBe(401);
    expectThrottled(await me(unknownToken()));
    expect((await me(bearer(secret))).statusCode).toBe(200);
  });

  // docs/security.md, item 39
  it('requests without Authorization do not count', async () => {
    expect(await statusesOf(100, () => ({}))).toEqual(Array(100).fill(401));
    await spendBudget();
    expectThrottled(await me(unknownToken()));
  });

  // docs/security.md, item 39
  it('IPv6 addresses count together by their /64', async () => {
    const half = FAILURE_THRESHOLD / 2;
    expect(await statusesOf(half, unknownToken, '2001:db8:a:b::1')).toEqual(Array(half).fill(401));
    expect(await statusesOf(half, unknownToken, '2001:db8:a:b:ffff:ffff:ffff:2')).toEqual(Array(half).fill(401));
    expectThrottled(await me(unknownToken(), '2001:db8:a:b::3'));
    expect((await me(unknownToken(), '2001:db8:a:c::1')).statusCode).toBe(401);
  });

  // docs/security.md, item 39
  it('an IPv4-mapped IPv6 address counts as its IPv4 address', async () => {
    const half = FAILURE_THRESHOLD / 2;
    expect(await statusesOf(half, unknownToken, '::ffff:203.0.113.9')).toEqual(Array(half).fill(401));
    expect(await statusesOf(half, unknownToken, '203.0.113.9')).toEqual(Array(half).fill(401));
    expectThrottled(await me(unknownToken(), '203.0.113.9'));
    expectThrottled(await me(unknownToken(), '::ffff:203.0.113.9'));
  });

  // docs/security.md, item 39
  it('ignores X-Forwarded-For from an untrusted peer, and honours it from the configured proxy', async () => {
    for (let i = 0; i < FAILURE_THRESHOLD; i++) {
      expect((await me({ ...unknownToken(), 'x-forwarded-for': `192.0.2.${i}` }, '203.0.113.9')).statusCode).toBe(401);
    }
    // The socket address is counted, whatever the header claims.
    expectThrottled(await me({ ...unknownToken(), 'x-forwarded-for': '192.0.2.200' }, '203.0.113.9'));

    await app.close();
    app = await appOn(['10.0.0.1']);
    for (let i = 0; i < FAILURE_THRESHOLD; i++) {
      expect((await me({ ...unknownToken(), 'x-forwarded-for': '192.0.2.50' }, '10.0.0.1')).statusCode).toBe(401);
    }
    expectThrottled(await me({ ...unknownToken(), 'x-forwarded-for': '192.0.2.50' }, '10.0.0.1'));
    expect((await me({ ...unknownToken(), 'x-forwarded-for': '192.0.2.51' }, '10.0.0.1')).statusCode).toBe(401);
  });
});

describe('the in-memory failure count', () => {
  it('keeps its memory bounded: the least recently seen addresses are dropped past the cap', async () => {
    const limiter = createMemoryFailureLimiter({ clock: createManualClock(), maxTrackedAddresses: 1000 });
    for (let i = 0; i < 5000; i++) await limiter.recordFailure(`10.1.${i >> 8}.${i & 255}`);
    expect(limiter.size).toBe(1000);
  });
});

describe('failed-authentication throttling through Redis (shared by two instances)', () => {
  let redisUp = false;
  beforeAll(async () => {
    redisUp = await testRedisUp('the shared-limiter tests');
  });

  let database: Database;
  let secret: string;
  let instances: App[] = [];
  let errors: unknown[] = [];
  const clock = createManualClock(Date.now());

  beforeEach(async (context) => {
    if (!redisUp) return context.skip();
    database = openDatabase('sqlite::memory:');
    await database.migrate();
    const setup = await createTestApp(database);
    ({ secret } = await setup.createToken(await setup.signIn(), 'valid'));
    await setup.close();
    const prefix = `latchkey-test:${randomBytes(6).toString('hex')}:`;
    errors = [];
    instances = await Promise.all(
      [0, 1].map(() =>
        createTestApp(database, {
          clock,
          failureLimiter: createRedisFailureLimiter({ url: REDIS_URL, prefix, clock, onError: (error: unknown) => errors.push(error) }),
        }),
      ),
    );
  });
  afterEach(async () => {
    for (const instance of instances) await instance.http.close();
    instances = [];
    await database?.close();
    expect(errors).toEqual([]);
  });

  const me = (app: App, headers: Record<string, string>) =>
    app.http.inject({ url: '/api/v1/me', headers, remoteAddress: '203.0.113.77' });

  // docs/security.md, item 39
  it('15 + 15 failures over two instances throttle the address on both; each learns it at its own next failure', async () => {
    const [a, b] = instances as [App, App];
    await spendFailureBudgetAcross([a, b], me); // the 30th failure went through b
    expectThrottled(await me(b, unknownToken()));
    expect((await me(a, unknownToken())).statusCode).toBe(401); // a's one lookup past the threshold
    for (const app of [a, b]) for (let i = 0; i < 5; i++) expectThrottled(await me(app, unknownToken()));
  });

  // docs/security.md, item 39
  it('1,000 unknown tokens through two instances, then a valid token → 200 on each', async () => {
    const [a, b] = instances as [App, App];
    for (let i = 0; i < 1_000; i++) expect([401, 429]).toContain((await me(i % 2 ? a : b, unknownToken())).statusCode);
    for (const app of [a, b]) {
      const answer = await untilNotThrottled(() => me(app, bearer(secret)), (seconds) => clock.advance(seconds * 1000));
      expect(answer.statusCode).toBe(200);
    }
  });

  // docs/security.md, item 39
  it('failures age out of the shared window', async () => {
    const [a, b] = instances as [App, App];
    for (let i = 0; i < FAILURE_THRESHOLD - 1; i++) expect((await me(i % 2 ? a : b, unknownToken())).statusCode).toBe(401);
    clock.advance(FAILURE_WINDOW_MS + FAILURE_BUCKET_MS);
    for (let i = 0; i < FAILURE_THRESHOLD; i++) expect((await me(i % 2 ? a : b, unknownToken())).statusCode).toBe(401);
  });

  it('steps aside, reporting the error, when Redis cannot be reached', async () => {
    const unreachable: unknown[] = [];
    const limiter = createRedisFailureLimiter({ url: 'redis://127.0.0.1:1', onError: (error: unknown) => unreachable.push(error) });
    try {
      expect(await limiter.recordFailure('203.0.113.1')).toBeUndefined();
      expect(unreachable.length).toBeGreaterThan(0);
    } finally {
      await limiter.close();
    }
  });
});
