/**
 * Failed-authentication limiting per client address (docs/security.md, item 39), in memory for one
 * instance and through a real Redis shared by two instances.
 */
import { randomBytes } from 'node:crypto';
import { generateToken } from '@latchkey/contract/token';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { BAN_MS, FAILURE_THRESHOLD, FAILURE_WINDOW_MS, type FailureLimiter } from '../../src/auth-failures/failure-limiter.js';
import { createMemoryFailureLimiter } from '../../src/auth-failures/memory-failure-limiter.js';
import { createRedisFailureLimiter } from '../../src/auth-failures/redis-failure-limiter.js';
import type { Database } from '../../src/database/database.js';
import { openDatabase } from '../../src/database/open-database.js';
import { createManualClock } from '../../src/kernel/clock.js';
import { bearer, createTestApp } from '../support/app.js';
import { spendFailureBudgetAcross } from '../support/failure-budget.js';
import { REDIS_URL, testRedisUp } from '../support/redis.js';

function limitedApp(database: Database, failureLimiter: FailureLimiter, trustProxy?: string[]): Promise<App> {
  return createTestApp(database, { failureLimiter, trustProxy });
}

/** A fresh database with one account and one valid token, minted through the real API. */
async function databaseWithToken(): Promise<{ database: Database; secret: string }> {
  const database = openDatabase('sqlite::memory:');
  await database.migrate();
  const setup = await createTestApp(database);
  const { secret } = await setup.createToken(await setup.signIn(), 'valid');
  await setup.close();
  return { database, secret };
}

const unknownToken = () => bearer(generateToken().token);

describe('failed-authentication limiting in memory (one instance)', () => {
  let database: Database;
  let secret: string;
  let app: App;
  const clock = createManualClock(Date.now());

  beforeEach(async () => {
    ({ database, secret } = await databaseWithToken());
    app = await limitedApp(database, createMemoryFailureLimiter({ clock }));
  });
  afterEach(async () => {
    await app.http.close();
    await database.close();
  });

  const me = (headers: Record<string, string>, remoteAddress = '203.0.113.7') =>
    app.http.inject({ url: '/api/v1/me', headers, remoteAddress });

  it('refuses attempt 31 after 30 failures, with an integer Retry-After, even for a valid token', async () => {
    for (let i = 0; i < FAILURE_THRESHOLD; i++) expect((await me(unknownToken())).statusCode).toBe(401);
    const limited = await me(unknownToken());
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toMatch(/^[1-9]\d*$/);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(BAN_MS / 1000);
    expect(limited.json()).toMatchObject({ code: 'RATE_LIMITED', status: 429, type: '/docs/errors/rate-limited' });
    expect((await me(bearer(secret))).statusCode).toBe(429);
    // Other addresses are unaffected.
    expect((await me(bearer(secret), '198.51.100.1')).statusCode).toBe(200);
    // The ban lasts the hour, then lifts.
    clock.advance(BAN_MS - 1000);
    expect((await me(bearer(secret))).statusCode).toBe(429);
    clock.advance(2000);
    expect((await me(bearer(secret))).statusCode).toBe(200);
  });

  it('does not count requests without credentials; a success before the 30th failure resets the count', async () => {
    for (let i = 0; i < 100; i++) expect((await me({})).statusCode).toBe(401);
    for (let i = 0; i < FAILURE_THRESHOLD - 1; i++) await me(unknownToken());
    expect((await me(bearer(secret))).statusCode).toBe(200);
    for (let i = 0; i < FAILURE_THRESHOLD - 1; i++) expect((await me(unknownToken())).statusCode).toBe(401);
    expect((await me(bearer(secret))).statusCode).toBe(200);
  });

  it('forgets failures older than the 3-minute window', async () => {
    for (let i = 0; i < FAILURE_THRESHOLD - 1; i++) await me(unknownToken());
    clock.advance(FAILURE_WINDOW_MS);
    expect((await me(unknownToken())).statusCode).toBe(401);
    expect((await me(bearer(secret))).statusCode).toBe(200);
  });

  it('ignores X-Forwarded-For from an untrusted peer, and honours it from the configured proxy', async () => {
    for (let i = 0; i < FAILURE_THRESHOLD; i++) {
      await me({ ...unknownToken(), 'x-forwarded-for': `192.0.2.${i}` }, '203.0.113.9');
    }
    // The socket address is banned, whatever the header claims.
    expect((await me({ ...bearer(secret), 'x-forwarded-for': '192.0.2.200' }, '203.0.113.9')).statusCode).toBe(429);

    await app.http.close();
    app = await limitedApp(database, createMemoryFailureLimiter({ clock }), ['10.0.0.1']);
    for (let i = 0; i < FAILURE_THRESHOLD; i++) {
      await me({ ...unknownToken(), 'x-forwarded-for': '192.0.2.50' }, '10.0.0.1');
    }
    expect((await me({ ...bearer(secret), 'x-forwarded-for': '192.0.2.50' }, '10.0.0.1')).statusCode).toBe(429);
    expect((await me({ ...bearer(secret), 'x-forwarded-for': '192.0.2.51' }, '10.0.0.1')).statusCode).toBe(200);
  });

  it('keeps its memory bounded: the least recently seen addresses are dropped past the cap', async () => {
    const limiter = createMemoryFailureLimiter({ clock, maxTrackedAddresses: 1000 });
    for (let i = 0; i < 5000; i++) await limiter.recordFailure(`10.1.${i >> 8}.${i & 255}`);
    expect(limiter.size).toBe(1000);
  });
});

describe('failed-authentication limiting through Redis (shared by two instances)', () => {
  let redisUp = false;
  beforeAll(async () => {
    redisUp = await testRedisUp('the shared-limiter tests');
  });

  let database: Database;
  let secret: string;
  let instances: App[] = [];
  let limiters: FailureLimiter[] = [];
  afterAll(async () => {
    for (const instance of instances) await instance.http.close();
    await database?.close();
  });

  it('bans after 15 + 15 failures spread over two instances, on both', async (context) => {
    if (!redisUp) context.skip();
    ({ database, secret } = await databaseWithToken());
    const prefix = `latchkey-test:${randomBytes(6).toString('hex')}:`;
    const errors: unknown[] = [];
    limiters = [0, 1].map(() => createRedisFailureLimiter({ url: REDIS_URL, prefix, onError: (error: unknown) => errors.push(error) }));
    instances = await Promise.all(limiters.map((limiter) => limitedApp(database, limiter)));
    const [a, b] = instances as [App, App];
    const me = (app: App, headers: Record<string, string>) =>
      app.http.inject({ url: '/api/v1/me', headers, remoteAddress: '203.0.113.77' });

    await spendFailureBudgetAcross([a, b], me);
    for (const app of [a, b]) {
      const limited = await me(app, bearer(secret));
      expect(limited.statusCode).toBe(429);
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(BAN_MS / 1000 - 60);
    }
    expect(errors).toEqual([]);
  });

  it('steps aside, reporting the error, when Redis cannot be reached', async () => {
    const errors: unknown[] = [];
    const limiter = createRedisFailureLimiter({ url: 'redis://127.0.0.1:1', onError: (error: unknown) => errors.push(error) });
    try {
      expect(await limiter.check('203.0.113.1')).toEqual({ retryAfterSeconds: 0, hasFailures: false });
      await limiter.recordFailure('203.0.113.1');
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      await limiter.close();
    }
  });
});
