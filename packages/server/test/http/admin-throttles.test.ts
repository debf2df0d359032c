/**
 * Throttled addresses over HTTP (docs/api.md, "Administration API"; the throttle is
 * docs/security.md, item 39): GET /api/v1/admin/throttles lists the client keys with at least
 * 30 refused tokens in the window, with their counts and since when; DELETE lifts one, audited,
 * at once on the instance that answers and, with the database limiter, on every other instance at
 * its next lookup from that address — shown on two instances over one PostgreSQL. With the
 * memory limiter a lift reaches only the instance that answered it (each counts alone).
 */
import { randomUUID } from 'node:crypto';
import type { AdminAuditList, AdminThrottleList } from '@latchkey/contract';
import { generateToken } from '@latchkey/contract/token';
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { createDatabaseFailureLimiter } from '../../src/auth-failures/database-failure-limiter.js';
import { FAILURE_THRESHOLD, THROTTLED_LOOKUP_INTERVAL_MS, type FailureLimiter } from '../../src/auth-failures/failure-limiter.js';
import { createKyselyAuthFailureStore } from '../../src/auth-failures/kysely-auth-failure-store.js';
import { createMemoryFailureLimiter } from '../../src/auth-failures/memory-failure-limiter.js';
import { createRedisFailureLimiter } from '../../src/auth-failures/redis-failure-limiter.js';
import type { Database } from '../../src/database/database.js';
import { openDatabase } from '../../src/database/open-database.js';
import { createManualClock, type Clock } from '../../src/kernel/clock.js';
import { bearer, createTestApp, type TestApp, type TestSession } from '../support/app.js';
import { createTestPostgresDatabase, describeEachBackend, postgresAvailable } from '../support/databases.js';
import { expectResponseCode } from '../support/protected-route.js';
import { REDIS_URL, testRedisUp } from '../support/redis.js';

const redisUp = await testRedisUp('admin-throttles.test.ts: the Redis limiter case');

function databaseLimiter(database: Database, clock: Clock): FailureLimiter {
  return createDatabaseFailureLimiter({
    store: createKyselyAuthFailureStore(database),
    clock,
    onError: (error) => {
      throw error;
    },
  });
}

const me = (app: App, ip: string, headers: Record<string, string>) => app.http.inject({ url: '/api/v1/me', headers, remoteAddress: ip });

/** Thirty refused well-formed tokens from `ip`: the address is throttled. */
async function throttle(app: App, ip: string): Promise<void> {
  for (let i = 0; i < FAILURE_THRESHOLD; i++) expect((await me(app, ip, bearer(generateToken().token))).statusCode).toBe(401);
}

/** R-LIMIT: 429 with a short Retry-After. */
function expectLimited(response: { statusCode: number; headers: Record<string, unknown>; body: string }): void {
  expect(response.statusCode, response.body).toBe(429);
  expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
}

async function adminOf(app: TestApp): Promise<TestSession> {
  return app.signIn({ isAdmin: true, email: `admin-${randomUUID().slice(0, 8)}@example.test` });
}

describeEachBackend('throttled addresses (database limiter)', (ctx) => {
  const clock = createManualClock(Date.now());

  async function appWithLimiter(): Promise<TestApp> {
    return createTestApp(ctx.database, { clock, failureLimiter: databaseLimiter(ctx.database, clock) });
  }

  it('lists throttled addresses with failures and since when; lifting one answers its valid tokens at once, audited', async () => {
    const app = await appWithLimiter();
    try {
      const admin = await adminOf(app);
      const owner = await app.signIn();
      const fresh = [await app.createToken(owner, 'one'), await app.createToken(owner, 'two')];
      await throttle(app, '198.51.100.7');
      // Below the threshold: counted, not listed.
      await me(app, '198.51.100.8', bearer(generateToken().token));

      const list = await app.http.inject({ url: '/api/v1/admin/throttles', headers: admin.headers });
      expect(list.statusCode, list.body).toBe(200);
      const { throttles } = list.json<AdminThrottleList>();
      expect(throttles).toHaveLength(1);
      expect(throttles[0]).toMatchObject({ address: '198.51.100.7', failures: FAILURE_THRESHOLD });
      expect(Date.parse(throttles[0]!.since)).toBeLessThanOrEqual(clock.now());
      expect(Date.parse(throttles[0]!.until)).toBeGreaterThan(clock.now());

      // Throttled: a valid token not verified here yet waits for the once-a-second lookup.
      expectLimited(await me(app, '198.51.100.7', bearer(fresh[0]!.secret)));

      const lifted = await app.http.inject({ method: 'DELETE', url: '/api/v1/admin/throttles/198.51.100.7', headers: admin.headers });
      expect(lifted.statusCode, lifted.body).toBe(204);
      for (const token of fresh) expect((await me(app, '198.51.100.7', bearer(token.secret))).statusCode).toBe(200);
      expect((await app.http.inject({ url: '/api/v1/admin/throttles', headers: admin.headers })).json<AdminThrottleList>().throttles).toEqual([]);

      const audit = await app.http.inject({ url: '/api/v1/admin/audit?action=throttle.lifted', headers: admin.headers });
      expect(audit.json<AdminAuditList>().events[0]).toMatchObject({
        targetId: '198.51.100.7',
        actor: { accountId: admin.account.id },
        detail: { address: '198.51.100.7' },
      });

      // Nothing counted against it any more: R-404, as for an address never seen.
      expectResponseCode(
        await app.http.inject({ method: 'DELETE', url: '/api/v1/admin/throttles/198.51.100.7', headers: admin.headers }),
        'R-404',
      );
      expectResponseCode(await app.http.inject({ method: 'DELETE', url: '/api/v1/admin/throttles/192.0.2.1', headers: admin.headers }), 'R-404');
    } finally {
      await app.close();
    }
  });

  it('lists an IPv6 client by its /64 and lifts it by that key (the slash percent-encoded) or by any address in it', async () => {
    const app = await appWithLimiter();
    try {
      const admin = await adminOf(app);
      await throttle(app, '2001:db8:1:2::5');
      const { throttles } = (await app.http.inject({ url: '/api/v1/admin/throttles', headers: admin.headers })).json<AdminThrottleList>();
      expect(throttles.map((entry) => entry.address)).toEqual(['2001:db8:1:2::/64']);
      const lifted = await app.http.inject({
        method: 'DELETE',
        url: `/api/v1/admin/throttles/${encodeURIComponent('2001:db8:1:2::/64')}`,
        headers: admin.headers,
      });
      expect(lifted.statusCode, lifted.body).toBe(204);
      await throttle(app, '2001:db8:1:2::6');
      const byMember = await app.http.inject({
        method: 'DELETE',
        url: `/api/v1/admin/throttles/${encodeURIComponent('2001:db8:1:2::ffff')}`,
        headers: admin.headers,
      });
      expect(byMember.statusCode, byMember.body).toBe(204);
    } finally {
      await app.close();
    }
  });
});

describe('lifting a throttle on two instances over one PostgreSQL (database limiter)', () => {
  it('an instance that holds the address as throttled lets it through at its next lookup after the other lifted it', async (context) => {
    if (!(await postgresAvailable())) return context.skip('PostgreSQL is not available');
    const fresh = await createTestPostgresDatabase();
    const databases: Database[] = [openDatabase(fresh.url), openDatabase(fresh.url)];
    const apps: TestApp[] = [];
    const clock = createManualClock(Date.now());
    try {
      await databases[0]!.migrate();
      for (const database of databases) apps.push(await createTestApp(database, { clock, failureLimiter: databaseLimiter(database, clock) }));
      const [a, b] = apps as [TestApp, TestApp];
      const admin = await adminOf(a);
      const owner = await a.signIn();
      const tokens = [await a.createToken(owner, 'one'), await a.createToken(owner, 'two'), await a.createToken(owner, 'three')];
      const ip = '203.0.113.50';
      await throttle(b, ip);
      // B holds it throttled: its one lookup this second is spent by the 30th failure's neighbour.
      expectLimited(await me(b, ip, bearer(tokens[0]!.secret)));

      expect((await a.http.inject({ method: 'DELETE', url: `/api/v1/admin/throttles/${ip}`, headers: admin.headers })).statusCode).toBe(204);

      // B's next lookup (a second on) verifies the token, re-reads the count and forgets the throttle …
      clock.advance(THROTTLED_LOOKUP_INTERVAL_MS);
      expect((await me(b, ip, bearer(tokens[1]!.secret))).statusCode).toBe(200);
      // … so another token it never verified is answered at once, without waiting for a lookup.
      let answer = await me(b, ip, bearer(tokens[2]!.secret));
      for (let tries = 0; answer.statusCode === 429 && tries < 50; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 20)); // the re-read runs in the background
        answer = await me(b, ip, bearer(tokens[2]!.secret));
      }
      expect(answer.statusCode).toBe(200);
      expect((await me(b, ip, bearer(tokens[0]!.secret))).statusCode).toBe(200);
    } finally {
      for (const instance of apps) await instance.close();
      for (const database of databases) await database.close();
      await fresh.drop();
    }
  });

  it('without the lift, the same instance keeps refusing a token it never verified until its next lookup (control)', async () => {
    const database = openDatabase('sqlite::memory:');
    await database.migrate();
    const clock = createManualClock(Date.now());
    const app = await createTestApp(database, { clock, failureLimiter: databaseLimiter(database, clock) });
    try {
      const owner = await app.signIn();
      const tokens = [await app.createToken(owner, 'one'), await app.createToken(owner, 'two')];
      await throttle(app, '203.0.113.60');
      expectLimited(await me(app, '203.0.113.60', bearer(tokens[0]!.secret)));
      clock.advance(THROTTLED_LOOKUP_INTERVAL_MS);
      expect((await me(app, '203.0.113.60', bearer(tokens[0]!.secret))).statusCode).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expectLimited(await me(app, '203.0.113.60', bearer(tokens[1]!.secret)));
    } finally {
      await app.close();
      await database.close();
    }
  });
});

describe('lifting a throttle on two instances sharing Redis', () => {
  it('lists from Redis and lifts on every instance', async (context) => {
    if (!redisUp) return context.skip();
    const database = openDatabase('sqlite::memory:');
    await database.migrate();
    const clock = createManualClock(Date.now());
    const prefix = `latchkey-test:${randomUUID().slice(0, 12)}:`;
    const errors: unknown[] = [];
    const apps: TestApp[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        apps.push(
          await createTestApp(database, {
            clock,
            failureLimiter: createRedisFailureLimiter({ url: REDIS_URL, prefix, clock, onError: (error: unknown) => errors.push(error) }),
          }),
        );
      }
      const [a, b] = apps as [TestApp, TestApp];
      const admin = await adminOf(a);
      const owner = await a.signIn();
      const tokens = [await a.createToken(owner, 'one'), await a.createToken(owner, 'two')];
      await throttle(b, '203.0.113.70');
      const { throttles } = (await a.http.inject({ url: '/api/v1/admin/throttles', headers: admin.headers })).json<AdminThrottleList>();
      expect(throttles).toMatchObject([{ address: '203.0.113.70', failures: FAILURE_THRESHOLD }]);
      expectLimited(await me(b, '203.0.113.70', bearer(tokens[0]!.secret)));
      expect((await a.http.inject({ method: 'DELETE', url: '/api/v1/admin/throttles/203.0.113.70', headers: admin.headers })).statusCode).toBe(204);
      clock.advance(THROTTLED_LOOKUP_INTERVAL_MS);
      expect((await me(b, '203.0.113.70', bearer(tokens[0]!.secret))).statusCode).toBe(200);
      let answer = await me(b, '203.0.113.70', bearer(tokens[1]!.secret));
      for (let tries = 0; answer.statusCode === 429 && tries < 50; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        answer = await me(b, '203.0.113.70', bearer(tokens[1]!.secret));
      }
      expect(answer.statusCode).toBe(200);
      expect(errors).toEqual([]);
    } finally {
      for (const instance of apps) await instance.close();
      await database.close();
    }
  });
});

describe('throttled addresses with the memory limiter (one instance)', () => {
  it('lists and lifts on the instance that counts', async () => {
    const database = openDatabase('sqlite::memory:');
    await database.migrate();
    const clock = createManualClock(Date.now());
    const app = await createTestApp(database, { clock, failureLimiter: createMemoryFailureLimiter({ clock }) });
    try {
      const admin = await adminOf(app);
      const owner = await app.signIn();
      const { secret } = await app.createToken(owner, 'one');
      await throttle(app, '198.51.100.9');
      const { throttles } = (await app.http.inject({ url: '/api/v1/admin/throttles', headers: admin.headers })).json<AdminThrottleList>();
      expect(throttles).toMatchObject([{ address: '198.51.100.9', failures: FAILURE_THRESHOLD }]);
      expectLimited(await me(app, '198.51.100.9', bearer(secret)));
      expect((await app.http.inject({ method: 'DELETE', url: '/api/v1/admin/throttles/198.51.100.9', headers: admin.headers })).statusCode).toBe(204);
      expect((await me(app, '198.51.100.9', bearer(secret))).statusCode).toBe(200);
    } finally {
      await app.close();
      await database.close();
    }
  });

  it('answers an empty list without a limiter', async () => {
    const database = openDatabase('sqlite::memory:');
    await database.migrate();
    const app = await createTestApp(database);
    try {
      const admin = await adminOf(app);
      expect((await app.http.inject({ url: '/api/v1/admin/throttles', headers: admin.headers })).json()).toEqual({ throttles: [] });
    } finally {
      await app.close();
      await database.close();
    }
  });
});
