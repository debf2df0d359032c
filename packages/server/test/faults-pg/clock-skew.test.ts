/**
 * docs/security.md, item 19: instance clock skew. Two instances of the real app share one
 * PostgreSQL database, each with its own connection pool; instance A's clock runs 10 minutes fast
 * and B's 10 minutes slow. No decision may depend on instance time: expiry is decided against the
 * database clock, so both instances accept and refuse the same tokens, and report the same state
 * and `Latchkey-Token-Expires-At`. And no timestamp either: each instance's clock is anchored to
 * the database's (createDatabaseAnchoredClock, as main.ts builds it), so a token's creation and
 * lifetime are the same whichever instance made it.
 *
 * In process (app.inject) rather than two binaries: the binary has no clock hook, and the code
 * that decides is the same.
 */
import { DAY_MS, TOKEN_EXPIRES_AT_HEADER, type TokenView } from '@latchkey/contract';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawKysely, type Database } from '../../src/database/database.js';
import { openDatabase } from '../../src/database/open-database.js';
import { createDatabaseAnchoredClock, type AnchoredClock } from '../../src/kernel/clock.js';
import { sha256 } from '../../src/kernel/secrets.js';
import { bearer, createTestApp, type TestApp, type TestSession } from '../support/app.js';
import { createTestPostgresDatabase, postgresAvailable } from '../support/databases.js';
import { expectResponseCode } from '../support/protected-route.js';
import { readyOrSkip, type Skippable } from '../support/servers-on-postgres.js';

const SKEW_MS = 10 * 60_000;
const MINUTE_MS = 60_000;

interface World {
  a: TestApp;
  b: TestApp;
  databases: Database[];
  session: TestSession;
  drop(): Promise<void>;
}

let world: World | undefined;
const clocks: AnchoredClock[] = [];

beforeAll(async () => {
  if (!(await postgresAvailable())) return;
  const database = await createTestPostgresDatabase();
  const databases = [openDatabase(database.url), openDatabase(database.url)] as const;
  await databases[0].migrate();
  // As main.ts builds it: the instance clock (here skewed) anchored to the database clock.
  const clockA = createDatabaseAnchoredClock(databases[0], { base: { now: () => Date.now() + SKEW_MS } });
  const clockB = createDatabaseAnchoredClock(databases[1], { base: { now: () => Date.now() - SKEW_MS } });
  await Promise.all([clockA.resync(), clockB.resync()]);
  clocks.push(clockA, clockB);
  const a = await createTestApp(databases[0], { clock: clockA });
  const b = await createTestApp(databases[1], { clock: clockB });
  const session = await a.signIn();
  world = { a, b, databases: [...databases], session, drop: () => database.drop() };
}, 60_000);

afterAll(async () => {
  for (const clock of clocks) clock.stop();
  if (!world) return;
  await Promise.all([world.a.close(), world.b.close()]);
  await Promise.all(world.databases.map((opened) => opened.close()));
  await world.drop();
});

const ready = (context: Skippable): World => readyOrSkip(context, world, 'PostgreSQL is not available');

/** Sets a token's `expires_at` relative to the database clock; returns the value written. */
async function expireAtDbNowPlus(target: Database, tokenId: string, offsetMs: number): Promise<number> {
  const { rows } = await sql<{ expires_at: number }>`
    update tokens set expires_at = (extract(epoch from clock_timestamp()) * 1000)::bigint + ${offsetMs}
     where id = ${tokenId} returning expires_at`.execute(rawKysely(target));
  return Number(rows[0]!.expires_at);
}

async function listed(app: TestApp, session: TestSession, query = ''): Promise<TokenView[]> {
  const response = await app.http.inject({ method: 'GET', url: `/api/v1/tokens${query}`, headers: { cookie: session.cookie } });
  expect(response.statusCode, response.body).toBe(200);
  return (response.json() as { tokens: TokenView[] }).tokens;
}

// docs/security.md, item 19
describe('with instance A 10 min fast and B 10 min slow, every decision follows the database clock', () => {
  it('each instance stamps what it creates with the database clock, whatever its own says', async (context) => {
    const { a, b, databases, session } = ready(context);
    const before = await databases[0]!.now();
    const onA = await a.createToken(session, 'made-on-a', { expiresInDays: 7 });
    const onB = await b.createToken(session, 'made-on-b', { expiresInDays: 7 });
    const after = await databases[0]!.now();
    const aheadOfDb = (view: TokenView) => ({
      from: Date.parse(view.createdAt) - after,
      to: Date.parse(view.createdAt) - before,
    });
    const skewA = aheadOfDb(onA.token);
    const skewB = aheadOfDb(onB.token);
    process.stdout.write(
      `clock skew (item 19): created_at vs database clock with instance clocks at +10/-10 min: A ${skewA.from}…${skewA.to} ms, ` +
        `B ${skewB.from}…${skewB.to} ms (anchored offsets ${Math.round(clocks[0]!.offsetMs)} and ${Math.round(clocks[1]!.offsetMs)} ms)\n`,
    );
    // Within the request's own span plus the error of the offset's measurement, not 10 min. That
    // error is a round trip, which a busy machine can stretch: a minute still tells the
    // database's clock from a 10-minute skew.
    const tolerance = 60_000;
    for (const skew of [skewA, skewB]) {
      expect(skew.from).toBeLessThanOrEqual(tolerance);
      expect(skew.to).toBeGreaterThanOrEqual(-tolerance);
    }
    // So a 7-day token lives 7 days from its creation by the database clock on either instance.
    expect(Date.parse(onA.token.expiresAt) - Date.parse(onA.token.createdAt)).toBe(7 * 86_400_000);
    expect(Date.parse(onB.token.expiresAt) - Date.parse(onB.token.createdAt)).toBe(7 * 86_400_000);
    // Whatever those lifetimes, both instances report the same state for each token (A's token,
    // 7 d + 10 min from now by the database clock, is 'active'; B's is 'expiring').
    const statesOn = async (app: TestApp) =>
      Object.fromEntries(
        (await listed(app, session))
          .filter((view) => view.id === onA.token.id || view.id === onB.token.id)
          .map((view) => [view.name, view.state]),
      );
    const onInstanceA = await statesOn(a);
    expect(Object.keys(onInstanceA).sort()).toEqual(['made-on-a', 'made-on-b']);
    expect(await statesOn(b)).toEqual(onInstanceA);
    process.stdout.write(`clock skew (item 19): states of the two 7-day tokens on both instances: ${JSON.stringify(onInstanceA)} (the 201 said 'expiring' for both)\n`);
  });

  it('a token with 5 minutes left is accepted on both, with the same Latchkey-Token-Expires-At and state "expiring"', async (context) => {
    const { a, b, databases, session } = ready(context);
    const { token, secret } = await a.createToken(session, 'five-minutes-left');
    // A would think it expired 5 minutes ago if it went by its own clock.
    const expiresAt = await expireAtDbNowPlus(databases[0]!, token.id, 5 * MINUTE_MS);
    const expected = new Date(expiresAt).toISOString();
    for (const app of [a, b]) {
      const me = await app.http.inject({ method: 'GET', url: '/api/v1/me', headers: bearer(secret) });
      expect(me.statusCode, me.body).toBe(200);
      expect(me.headers[TOKEN_EXPIRES_AT_HEADER]).toBe(expected);
      const self = await app.http.inject({ method: 'GET', url: '/api/v1/tokens/self', headers: bearer(secret) });
      expect(self.statusCode, self.body).toBe(200);
      expect(self.headers[TOKEN_EXPIRES_AT_HEADER]).toBe(expected);
      expect(self.json()).toMatchObject({ id: token.id, state: 'expiring', expiresAt: expected });
      const inList = (await listed(app, session)).find((view) => view.id === token.id);
      expect(inList).toMatchObject({ state: 'expiring', expiresAt: expected });
    }
  });

  it('a token with expires_at = database now − 1 s is R-EXPIRED on both, and "expired" in both lists', async (context) => {
    const { a, b, databases, session } = ready(context);
    const { token, secret } = await b.createToken(session, 'just-expired');
    // B would still accept it for another 10 minutes if it went by its own clock.
    const expiresAt = await expireAtDbNowPlus(databases[1]!, token.id, -1_000);
    for (const app of [a, b]) {
      const me = await app.http.inject({ method: 'GET', url: '/api/v1/me', headers: bearer(secret) });
      const body = expectResponseCode(me, 'R-EXPIRED');
      expect(body.expiresAt).toBe(new Date(expiresAt).toISOString());
      const inList = (await listed(app, session, '?state=all')).find((view) => view.id === token.id);
      expect(inList).toMatchObject({ state: 'expired' });
    }
  });

  it('states near the 7-day "expiring" boundary agree on both instances, in every list filter and per token', async (context) => {
    const { a, b, databases, session } = ready(context);
    // ±5 minutes around the boundary: each instance's own clock (±10 min) would put these on the
    // other side of it.
    const cases = [
      { name: 'seven-days-minus-5min', offset: 7 * DAY_MS - 5 * MINUTE_MS, state: 'expiring' },
      { name: 'seven-days-plus-5min', offset: 7 * DAY_MS + 5 * MINUTE_MS, state: 'active' },
      { name: 'plus-5min', offset: 5 * MINUTE_MS, state: 'expiring' },
      { name: 'minus-5min', offset: -5 * MINUTE_MS, state: 'expired' },
    ] as const;
    const ids = new Map<string, string>();
    for (const { name, offset } of cases) {
      const { token } = await a.createToken(session, name);
      await expireAtDbNowPlus(databases[0]!, token.id, offset);
      ids.set(token.id, name);
    }
    const statesOn = async (app: TestApp) => {
      const byFilter: Record<string, string[]> = {};
      for (const filter of ['active', 'expiring', 'expired']) {
        byFilter[filter] = (await listed(app, session, `?state=${filter}`))
          .filter((view) => ids.has(view.id))
          .map((view) => ids.get(view.id)!)
          .sort();
      }
      const perToken = Object.fromEntries(
        (await listed(app, session, '?state=all')).filter((view) => ids.has(view.id)).map((view) => [ids.get(view.id)!, view.state]),
      );
      return { byFilter, perToken };
    };
    const expected = {
      byFilter: {
        active: ['seven-days-plus-5min'],
        expiring: ['plus-5min', 'seven-days-minus-5min'],
        expired: ['minus-5min'],
      },
      perToken: Object.fromEntries(cases.map(({ name, state }) => [name, state])),
    };
    expect(await statesOn(a)).toEqual(expected);
    expect(await statesOn(b)).toEqual(expected);
  });

  it('a console session is kept or ended by the database clock on both instances', async (context) => {
    const { a, b, databases } = ready(context);
    const session = await b.signIn();
    const db = rawKysely(databases[0]!);
    const digest = sha256(session.cookie.split('=')[1]!);
    const setExpiry = (offsetMs: number) =>
      sql`update sessions set expires_at = (extract(epoch from clock_timestamp()) * 1000)::bigint + ${offsetMs}
           where id_digest = ${digest}`.execute(db);
    const meStatus = async (app: TestApp) =>
      (await app.http.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie: session.cookie } })).statusCode;
    await setExpiry(5 * MINUTE_MS);
    expect([await meStatus(a), await meStatus(b)]).toEqual([200, 200]);
    await setExpiry(-1_000);
    expect([await meStatus(a), await meStatus(b)]).toEqual([401, 401]);
  });
});
