/**
 * docs/security.md, item 21: steady authenticated traffic on two instances sharing one PostgreSQL —
 * every response 2xx, each instance's pool within its 10 connections, no pool-wait timeouts.
 *
 * The short version holds 400 req/s for 8 s; LATCHKEY_LONG=1 holds 1,500 req/s for 60 s after a
 * 10 s warm-up (the item's duration; throughput itself is measured by `npm run bench`, not
 * here). Each instance names itself to PostgreSQL with `application_name`, so its connections
 * can be counted in pg_stat_activity while the load runs.
 */
import { Agent, request } from 'node:http';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POSTGRES_POOL_SIZE } from '../../src/database/postgres.js';
import { createTestPostgresDatabase, postgresAvailable, postgresRequired } from '../support/databases.js';
import { createToken, issueSignInPath, signIn, sleep } from './support.js';
import { ensureServerBuilt, startServer, type ServerProcess } from '../support/server-process.mjs';

const LONG = process.env.LATCHKEY_LONG === '1';
const RATE_PER_SECOND = LONG ? 1_500 : 400;
const WARMUP_MS = LONG ? 10_000 : 1_000;
const MEASURE_MS = LONG ? 60_000 : 8_000;
const PUBLIC_URL = 'http://latchkey.test';
const TOKENS = 20;

const available = postgresRequired || (await postgresAvailable());

// docs/security.md, item 21
describe.skipIf(!available)('steady authenticated traffic, two instances on one PostgreSQL', () => {
  let database: { url: string; drop(): Promise<void> };
  const instances: ServerProcess[] = [];
  let admin: pg.Client;
  const secrets: string[] = [];

  beforeAll(async () => {
    ensureServerBuilt();
    database = await createTestPostgresDatabase();
    const urlFor = (name: string) => {
      const url = new URL(database.url);
      url.searchParams.set('application_name', name);
      return url.toString();
    };
    for (const name of ['steady-a', 'steady-b']) {
      instances.push(await startServer({ name, env: { DATABASE_URL: urlFor(name), PUBLIC_URL } }));
    }
    const env = { DATABASE_URL: database.url, PUBLIC_URL };
    const session = await signIn(instances[0]!.base, instances[0]!.signInPath ?? issueSignInPath(env));
    for (let i = 0; i < TOKENS; i++) secrets.push((await createToken(instances[0]!.base, session, PUBLIC_URL, `steady-${i}`)).secret);
    admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
  }, 90_000);

  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.stop()));
    await admin?.end().catch(() => undefined);
    await database?.drop();
  }, 30_000);

  it(`${RATE_PER_SECOND} req/s for ${MEASURE_MS / 1000} s: 0 non-2xx, each pool ≤ ${POSTGRES_POOL_SIZE} connections, no pool-wait timeouts`, async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 64 });
    const statuses = new Map<string, number>();
    let sent = 0;
    const count = (key: string) => statuses.set(key, (statuses.get(key) ?? 0) + 1);

    const get = (instance: ServerProcess, secret: string) =>
      new Promise<void>((resolve) => {
        const req = request(
          { host: '127.0.0.1', port: instance.port, path: '/api/v1/me', agent, headers: { authorization: `Bearer ${secret}` }, timeout: 10_000 },
          (res) => {
            res.resume();
            res.on('end', () => {
              count(String(res.statusCode));
              resolve();
            });
          },
        );
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', (error) => {
          count(`error: ${error.message}`);
          resolve();
        });
        req.end();
      });

    /** Paced open-loop load: a tick every 10 ms sends what the schedule owes. */
    async function drive(ms: number, measured: boolean) {
      const started = Date.now();
      const inFlight: Array<Promise<void>> = [];
      while (Date.now() - started < ms) {
        const owed = Math.floor(((Date.now() - started) / 1000) * RATE_PER_SECOND) - (measured ? sent : 0);
        for (let i = 0; i < owed; i++) {
          const n = sent++;
          inFlight.push(get(instances[n % 2]!, secrets[n % TOKENS]!));
        }
        await sleep(10);
      }
      await Promise.all(inFlight);
    }

    await drive(WARMUP_MS, false);
    statuses.clear();
    sent = 0;

    let maxConnections = { 'steady-a': 0, 'steady-b': 0 } as Record<string, number>;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const { rows } = await admin.query<{ application_name: string; n: string }>(
          // The pool's connections: each instance also holds one connection per LISTEN channel
          // (revocations, jobs) outside its pool, whose last statement is that LISTEN.
          `select application_name, count(*) as n from pg_stat_activity
            where datname = current_database() and application_name like 'steady-%' and query not like 'listen %'
            group by application_name`,
        );
        for (const row of rows) maxConnections[row.application_name] = Math.max(maxConnections[row.application_name] ?? 0, Number(row.n));
        await sleep(100);
      }
    })();
    await drive(MEASURE_MS, true);
    sampling = false;
    await sampler;
    agent.destroy();

    const answered = [...statuses.values()].reduce((a, b) => a + b, 0);
    expect(answered).toBe(sent);
    // Whether the load generator kept its rate is a property of the machine: a bound in long runs.
    if (LONG) expect(sent).toBeGreaterThan(RATE_PER_SECOND * (MEASURE_MS / 1000) * 0.9);
    expect(sent).toBeGreaterThan(0);
    expect(Object.fromEntries(statuses)).toEqual({ 200: sent });
    // Both instances used PostgreSQL, within their pools.
    expect(maxConnections['steady-a']).toBeGreaterThan(0);
    expect(maxConnections['steady-b']).toBeGreaterThan(0);
    expect(Math.max(...Object.values(maxConnections))).toBeLessThanOrEqual(POSTGRES_POOL_SIZE);
    // A pool-wait timeout would be logged as the database being unavailable.
    for (const instance of instances) expect(instance.output()).not.toMatch(/database unavailable|timeout exceeded when trying to connect/i);
    maxConnections = {};
  }, (LONG ? 120 : 60) * 1000);
});
