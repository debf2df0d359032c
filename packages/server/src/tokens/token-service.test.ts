/**
 * Token rules through the service, over real stores: lifetimes, names, authentication (with and
 * without a failure limiter) and the last-used write. Lifetime and name rules need no second
 * backend (SQLite in memory); whatever depends on the database clock or the account join runs on both.
 */
import { randomUUID } from 'node:crypto';
import { TOKEN_SHAPE, type CreateTokenRequest } from '@latchkey/contract';
import { generateToken, hashToken } from '@latchkey/contract/token';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { appError } from '../../test/support/app-error.js';
import { describeEachBackend } from '../../test/support/databases.js';
import { createStores, type Stores } from '../../test/support/stores.js';
import { createAccountService, type AccountService } from '../accounts/account-service.js';
import { SYSTEM_ACTOR } from '../audit/audit-event.js';
import { createDatabaseFailureLimiter } from '../auth-failures/database-failure-limiter.js';
import { FAILURE_THRESHOLD, THROTTLED_LOOKUP_INTERVAL_MS, failureWindowAt, type FailureLimiter } from '../auth-failures/failure-limiter.js';
import { createMemoryFailureLimiter } from '../auth-failures/memory-failure-limiter.js';
import { openDatabase } from '../database/open-database.js';
import { createManualClock, type Clock } from '../kernel/clock.js';
import { LAST_USED_WRITE_INTERVAL_MS, createTokenService, type TokenService, type TokenSettings } from './token-service.js';

const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 1);
const DEFAULTS: TokenSettings = { maxLifetimeDays: 180, maxTokensPerAccount: 100 };
const IP = '192.0.2.1';

/** The services these tests drive, over the given stores. */
function servicesOver(
  stores: Stores,
  clock: Clock,
  options: { settings?: Partial<TokenSettings>; failureLimiter?: FailureLimiter; onBackgroundError?: (error: unknown) => void } = {},
): { accounts: AccountService; tokens: TokenService } {
  return {
    accounts: createAccountService({ store: stores.accounts, clock }),
    tokens: createTokenService({
      store: stores.tokens,
      clock,
      settings: { ...DEFAULTS, ...options.settings },
      failureLimiter: options.failureLimiter,
      onBackgroundError: options.onBackgroundError,
    }),
  };
}

/** A fresh in-memory SQLite database with a manual clock; the queries it sends are recorded. */
async function openSqliteWorld(settings: Partial<TokenSettings> = {}, start = START, limiterOn?: (clock: Clock) => FailureLimiter) {
  const queries: string[] = [];
  const database = openDatabase('sqlite::memory:', { onQuery: (text) => queries.push(text) });
  await database.migrate();
  const stores = createStores(database);
  const clock = createManualClock(start);
  const services = servicesOver(stores, clock, { settings, failureLimiter: limiterOn?.(clock) });
  const account = await services.accounts.create({ email: 'owner@example.test' }, SYSTEM_ACTOR);
  return { database, stores, clock, services, account, queries };
}

describe('token lifetime', () => {
  let world: Awaited<ReturnType<typeof openSqliteWorld>>;
  const create = (input: Omit<CreateTokenRequest, 'name'>, name = `t-${Math.random()}`) =>
    world.services.tokens.create(world.account.id, { name, ...input }, SYSTEM_ACTOR);
  afterEach(() => world.database.close());

  describe('with the default maximum (180 days)', () => {
    beforeEach(async () => {
      world = await openSqliteWorld();
    });

    it('defaults to exactly 180 days', async () => {
      const { token } = await create({});
      expect(token.createdAt).toBe(START);
      expect(token.expiresAt - token.createdAt).toBe(180 * 86_400_000);
    });

    it.each([7, 30, 60, 90, 180])('accepts %i days', async (days) => {
      const { token } = await create({ expiresInDays: days });
      expect(token.expiresAt - token.createdAt).toBe(days * DAY);
      expect((await world.stores.tokens.findToken(world.account.id, token.id))?.expiresAt).toBe(START + days * DAY);
    });

    it.each([45, 0, -7, 1, 181, 365])('refuses %i days at /expiresInDays, writing nothing', async (days) => {
      const error = await appError(create({ expiresInDays: days }));
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.errors?.[0]?.pointer).toBe('/expiresInDays');
      expect((await world.stores.tokens.listTokens(world.account.id, { state: 'all', expiringWindowMs: 7 * DAY })).tokens).toEqual([]);
    });

    it('a YYYY-MM-DD date means 00:00 UTC that day', async () => {
      const { token } = await create({ expiresAt: '2026-03-01' });
      expect(token.expiresAt).toBe(Date.UTC(2026, 2, 1));
    });

    it('a date-time with an offset is honoured', async () => {
      const { token } = await create({ expiresAt: '2026-03-01T12:00:00+02:00' });
      expect(token.expiresAt).toBe(Date.UTC(2026, 2, 1, 10));
    });

    it('a date exactly at the maximum is accepted, one beyond it is refused', async () => {
      const { token } = await create({ expiresAt: '2026-06-30' });
      expect(token.expiresAt).toBe(START + 180 * DAY);
      const error = await appError(create({ expiresAt: '2026-07-01' }));
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.errors?.[0]?.pointer).toBe('/expiresAt');
    });

    it.each(['2025-12-31', '2026-01-01', '2026-01-01T00:00:00Z', '2027-01-01'])(
      'refuses %s (now, past or beyond the maximum) at /expiresAt',
      async (expiresAt) => {
        const error = await appError(create({ expiresAt }));
        expect(error.code).toBe('VALIDATION_FAILED');
        expect(error.errors?.[0]?.pointer).toBe('/expiresAt');
      },
    );

    it('both expiresInDays and expiresAt → /expiresAt', async () => {
      const error = await appError(create({ expiresInDays: 30, expiresAt: '2026-02-01' }));
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.errors?.[0]?.pointer).toBe('/expiresAt');
    });
  });

  describe('with an operator maximum of 90 days', () => {
    beforeEach(async () => {
      world = await openSqliteWorld({ maxLifetimeDays: 90 });
    });

    it('defaults to 90 days', async () => {
      const { token } = await create({});
      expect(token.expiresAt - token.createdAt).toBe(90 * DAY);
    });

    it('refuses 180 days and a date beyond 90 days', async () => {
      const byDays = await appError(create({ expiresInDays: 180 }));
      expect(byDays.code).toBe('VALIDATION_FAILED');
      expect(byDays.errors?.[0]?.pointer).toBe('/expiresInDays');
      const byDate = await appError(create({ expiresAt: '2026-04-02' }));
      expect(byDate.errors?.[0]?.pointer).toBe('/expiresAt');
      const { token } = await create({ expiresAt: '2026-04-01' });
      expect(token.expiresAt).toBe(START + 90 * DAY);
    });
  });

  describe('with an operator maximum off the presets (45 days)', () => {
    beforeEach(async () => {
      world = await openSqliteWorld({ maxLifetimeDays: 45 });
    });

    it('offers the presets below it and the maximum itself, which is the default', async () => {
      expect((await create({})).token.expiresAt - START).toBe(45 * DAY);
      expect((await create({ expiresInDays: 30 })).token.expiresAt - START).toBe(30 * DAY);
      expect((await appError(create({ expiresInDays: 60 }))).errors?.[0]?.pointer).toBe('/expiresInDays');
    });
  });
});

describe('token names', () => {
  let world: Awaited<ReturnType<typeof openSqliteWorld>>;
  beforeEach(async () => {
    world = await openSqliteWorld();
  });
  afterEach(() => world.database.close());
  const create = (name: string) => world.services.tokens.create(world.account.id, { name }, SYSTEM_ACTOR);

  it('are stored NFC-normalised and trimmed', async () => {
    const { token } = await create('  cafe\u0301  ');
    expect(token.name).toBe('caf\u00e9');
    expect((await world.stores.tokens.findToken(world.account.id, token.id))?.name).toBe('café');
  });

  it('collide after normalisation: the decomposed and composed forms are one name', async () => {
    await create('cafe\u0301');
    const error = await appError(create('café'));
    expect(error.code).toBe('CONFLICT');
  });

  it.each([
    ['a NUL', 'a\u0000b'],
    ['a newline', 'line\nbreak'],
    ['an escape sequence', 'red\u001b[31m'],
    ['a right-to-left override', 'evil\u202etxt.exe'],
    ['a bidi isolate', 'x\u2066y'],
    ['a zero-width joiner', 'zero\u200dwidth'],
    ['a byte-order mark', '\ufeffname'],
    ['a line separator', 'a\u2028b'],
    ['a lone surrogate', 'a\ud800b'],
  ])('with %s are refused at /name', async (_label, name) => {
    const error = await appError(create(name));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.errors?.[0]?.pointer).toBe('/name');
  });

  it('must not be empty or longer than 64 characters (counted after normalisation)', async () => {
    expect((await appError(create('   '))).errors?.[0]?.pointer).toBe('/name');
    expect((await appError(create('x'.repeat(65)))).errors?.[0]?.pointer).toBe('/name');
    expect((await create('x'.repeat(64))).token.name).toHaveLength(64);
    // 64 composed characters given decomposed (128 code units) are fine.
    expect((await create('e\u0301'.repeat(64))).token.name).toBe('é'.repeat(64));
    expect((await create('😀'.repeat(64))).token.name).toBe('😀'.repeat(64));
  });
});

describe('token creation', () => {
  let world: Awaited<ReturnType<typeof openSqliteWorld>>;
  beforeEach(async () => {
    world = await openSqliteWorld({ maxTokensPerAccount: 2 });
  });
  afterEach(() => world.database.close());

  it('returns the secret once; only its digest and last four characters are stored', async () => {
    const { token, secret } = await world.services.tokens.create(world.account.id, { name: 'ci' }, SYSTEM_ACTOR);
    expect(secret).toMatch(TOKEN_SHAPE);
    expect(token.last4).toBe(secret.slice(-4));
    expect((await world.stores.tokens.findTokenForAuth(hashToken(secret)))?.id).toBe(token.id);
    const [event] = await world.stores.audit.listAuditEvents({ limit: 1 });
    expect(event).toMatchObject({ action: 'token.created', targetId: token.id });
    expect(JSON.stringify(event)).not.toContain(secret);
  });

  it('a taken name and the per-account limit are CONFLICT', async () => {
    const create = (name: string) => world.services.tokens.create(world.account.id, { name }, SYSTEM_ACTOR);
    await create('one');
    expect((await appError(create('one'))).code).toBe('CONFLICT');
    await create('two');
    expect((await appError(create('three'))).code).toBe('CONFLICT');
  });

  it('revoke: a foreign, unknown, malformed or already revoked id is NOT_FOUND', async () => {
    const other = await world.services.accounts.create({ email: 'other@example.test' }, SYSTEM_ACTOR);
    const { token } = await world.services.tokens.create(world.account.id, { name: 'ci' }, SYSTEM_ACTOR);
    expect((await appError(world.services.tokens.revoke(other.id, token.id, SYSTEM_ACTOR))).code).toBe('NOT_FOUND');
    expect((await appError(world.services.tokens.get(other.id, token.id))).code).toBe('NOT_FOUND');
    expect((await appError(world.services.tokens.revoke(world.account.id, randomUUID(), SYSTEM_ACTOR))).code).toBe('NOT_FOUND');
    world.queries.length = 0;
    expect((await appError(world.services.tokens.revoke(world.account.id, 'not-an-id', SYSTEM_ACTOR))).code).toBe('NOT_FOUND');
    expect(world.queries).toEqual([]);

    await world.services.tokens.revoke(world.account.id, token.id, SYSTEM_ACTOR);
    expect((await appError(world.services.tokens.revoke(world.account.id, token.id, SYSTEM_ACTOR))).code).toBe('NOT_FOUND');
    expect((await world.services.tokens.get(world.account.id, token.id)).token.revokedAt).toBe(START);
  });
});

describe('authenticate: malformed tokens never reach the database', () => {
  let world: Awaited<ReturnType<typeof openSqliteWorld>>;
  beforeEach(async () => {
    world = await openSqliteWorld({}, Date.now());
  });
  afterEach(() => world.database.close());

  const valid = generateToken().token;
  const flipped = valid.slice(0, -1) + (valid.endsWith('A') ? 'B' : 'A');
  it.each([
    ['empty', ''],
    ['a bad checksum', flipped],
    ['a wrong prefix', 'lk_pat_2' + valid.slice(8)],
    ['upper-cased', valid.toUpperCase()],
    ['one character short', valid.slice(0, -1)],
    ['one character long', valid + 'A'],
    ['trailing space', valid + ' '],
    ['a GitHub token', 'ghp_' + 'a'.repeat(36)],
    ['SQL', "' or 1=1 --"],
  ])('%s → INVALID_TOKEN with zero store queries', async (_label, presented) => {
    world.queries.length = 0;
    const error = await appError(world.services.tokens.authenticate(presented, IP));
    expect(error.code).toBe('INVALID_TOKEN');
    expect(error.detail).toBeUndefined();
    expect(world.queries).toEqual([]);
  });

  it('a well-formed unknown token costs exactly one query', async () => {
    world.queries.length = 0;
    const error = await appError(world.services.tokens.authenticate(generateToken().token, IP));
    expect(error.code).toBe('INVALID_TOKEN');
    expect(world.queries).toHaveLength(1);
  });
});

describeEachBackend('authenticate', (ctx) => {
  let clock: ReturnType<typeof createManualClock>;
  let services: ReturnType<typeof servicesOver>;
  let backgroundErrors: unknown[];

  beforeEach(() => {
    // The database clock decides expiry: the app clock starts at the real time.
    clock = createManualClock(Date.now());
    backgroundErrors = [];
    services = servicesOver(ctx.stores, clock, { onBackgroundError: (error) => backgroundErrors.push(error) });
  });

  async function givenToken(email = `u-${randomUUID()}@example.test`) {
    const account = await services.accounts.create({ email }, SYSTEM_ACTOR);
    const { token, secret } = await services.tokens.create(account.id, { name: 'ci' }, SYSTEM_ACTOR);
    return { account, token, secret };
  }

  const code = async (presented: string) => (await appError(services.tokens.authenticate(presented, IP))).code;
  const tokenUpdates = () => ctx.queries.filter((query) => /^update "tokens"/i.test(query.sql)).length;
  const settle = async () => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    await ctx.database.now();
  };

  it('a live token authenticates with its account, the token record and the database clock', async () => {
    const { account, token, secret } = await givenToken();
    const result = await services.tokens.authenticate(secret, IP);
    expect(result.account).toEqual(account);
    expect(result.token).toMatchObject({ ...token, lastUsedAt: null });
    expect(Math.abs(result.dbNow - Date.now())).toBeLessThan(5000);
  });

  it('unknown, revoked and disabled-account tokens are one INVALID_TOKEN', async () => {
    expect(await code(generateToken().token)).toBe('INVALID_TOKEN');

    const revoked = await givenToken();
    await services.tokens.revoke(revoked.account.id, revoked.token.id, SYSTEM_ACTOR);
    const revokedError = await appError(services.tokens.authenticate(revoked.secret, IP));

    const disabled = await givenToken();
    await services.accounts.disable(disabled.account.id, SYSTEM_ACTOR);
    const disabledError = await appError(services.tokens.authenticate(disabled.secret, IP));

    const unknownError = await appError(services.tokens.authenticate(generateToken().token, IP));
    for (const error of [revokedError, disabledError, unknownError]) {
      expect({ code: error.code, detail: error.detail, message: error.message, errors: error.errors }).toEqual({
        code: 'INVALID_TOKEN',
        detail: undefined,
        message: 'INVALID_TOKEN',
        errors: undefined,
      });
    }
  });

  it('an expired token (by the database clock) is TOKEN_EXPIRED, even while the app clock disagrees', async () => {
    const { token, secret } = await givenToken();
    const dbNow = await ctx.database.now();
    await ctx.exec(sql`update tokens set expires_at = ${dbNow - 1000} where id = ${token.id}`);
    clock.set(dbNow - 30 * DAY);
    expect(await code(secret)).toBe('TOKEN_EXPIRED');
    // At expires_at exactly it is already expired (valid iff now < expires_at).
    await ctx.exec(sql`update tokens set expires_at = ${await ctx.database.now()} where id = ${token.id}`);
    expect(await code(secret)).toBe('TOKEN_EXPIRED');
    await ctx.exec(sql`update tokens set expires_at = ${(await ctx.database.now()) + 60_000} where id = ${token.id}`);
    await services.tokens.authenticate(secret, IP);
  });

  it('a revoked token that also expired is INVALID_TOKEN, not TOKEN_EXPIRED', async () => {
    const { account, token, secret } = await givenToken();
    await ctx.exec(sql`update tokens set expires_at = ${(await ctx.database.now()) - 1000} where id = ${token.id}`);
    await services.tokens.revoke(account.id, token.id, SYSTEM_ACTOR);
    expect(await code(secret)).toBe('INVALID_TOKEN');
  });

  it('re-enabling an account brings its tokens back, but a revoked one stays revoked', async () => {
    const { account, secret } = await givenToken();
    const { token: doomed, secret: doomedSecret } = await services.tokens.create(account.id, { name: 'doomed' }, SYSTEM_ACTOR);
    await services.accounts.disable(account.id, SYSTEM_ACTOR);
    expect(await code(secret)).toBe('INVALID_TOKEN');
    await services.tokens.revoke(account.id, doomed.id, SYSTEM_ACTOR);
    await services.accounts.enable(account.id, SYSTEM_ACTOR);
    expect((await services.tokens.authenticate(secret, IP)).account.disabledAt).toBeNull();
    expect(await code(doomedSecret)).toBe('INVALID_TOKEN');
  });

  it('deleting the account makes its tokens unknown', async () => {
    const { account, secret } = await givenToken();
    await services.tokens.authenticate(secret, IP);
    await services.accounts.delete(account.id, SYSTEM_ACTOR);
    expect(await code(secret)).toBe('INVALID_TOKEN');
  });

  it('records last use at most once a minute per token', async () => {
    const { account, token, secret } = await givenToken();
    const lastUsed = async () => (await ctx.stores.tokens.findToken(account.id, token.id))!;
    const t0 = clock.now();
    ctx.queries.length = 0;

    await services.tokens.authenticate(secret, '198.51.100.1');
    await vi.waitFor(async () => expect(await lastUsed()).toMatchObject({ lastUsedAt: t0, lastUsedIp: '198.51.100.1' }));
    expect(tokenUpdates()).toBe(1);

    clock.advance(LAST_USED_WRITE_INTERVAL_MS - 1);
    await services.tokens.authenticate(secret, '198.51.100.2');
    await services.tokens.authenticate(secret, '198.51.100.3');
    await settle();
    expect(tokenUpdates()).toBe(1);
    expect(await lastUsed()).toMatchObject({ lastUsedAt: t0, lastUsedIp: '198.51.100.1' });

    clock.advance(1);
    await services.tokens.authenticate(secret, '198.51.100.4');
    await vi.waitFor(async () =>
      expect(await lastUsed()).toMatchObject({ lastUsedAt: t0 + LAST_USED_WRITE_INTERVAL_MS, lastUsedIp: '198.51.100.4' }),
    );
    expect(tokenUpdates()).toBe(2);
    expect(backgroundErrors).toEqual([]);
  });

  it('the minute is per token', async () => {
    const { account, secret } = await givenToken();
    const { secret: second } = await services.tokens.create(account.id, { name: 'second' }, SYSTEM_ACTOR);
    ctx.queries.length = 0;
    await services.tokens.authenticate(secret, IP);
    await services.tokens.authenticate(second, IP);
    await vi.waitFor(() => expect(tokenUpdates()).toBe(2));
  });

  it('a burst of requests from one token writes last use once', async () => {
    const { secret } = await givenToken();
    ctx.queries.length = 0;
    await Promise.all(Array.from({ length: 10 }, () => services.tokens.authenticate(secret, IP)));
    await settle();
    // Requests that looked the token up before the first write landed may still try; the store's
    // condition makes those no-ops. What must never happen is one write per request.
    expect(tokenUpdates()).toBeLessThan(10);
  });

  if (ctx.dialect === 'sqlite') {
    it('a failing last-used write never fails the request', async () => {
      const { secret } = await givenToken();
      await ctx.exec(sql`create trigger refuse_token_updates before update on tokens begin select raise(abort, 'refused'); end`);
      const result = await services.tokens.authenticate(secret, IP);
      expect(result.token.lastUsedAt).toBeNull();
      await vi.waitFor(() => expect(backgroundErrors).toHaveLength(1));
    });
  }
});

describe('authenticate with a failure limiter (in memory)', () => {
  let world: Awaited<ReturnType<typeof openSqliteWorld>>;
  let secret: string;
  beforeEach(async () => {
    world = await openSqliteWorld({}, Date.now(), (clock) => createMemoryFailureLimiter({ clock }));
    ({ secret } = await world.services.tokens.create(world.account.id, { name: 'ci' }, SYSTEM_ACTOR));
  });
  afterEach(() => world.database.close());

  const failOnce = async (ip = IP) =>
    expect((await appError(world.services.tokens.authenticate(generateToken().token, ip))).code).toBe('INVALID_TOKEN');

  // docs/security.md, item 39
  it('a throttled address is RATE_LIMITED for unknown tokens without a lookup, with a one-second Retry-After', async () => {
    for (let index = 0; index < FAILURE_THRESHOLD; index++) await failOnce();
    world.queries.length = 0;
    const error = await appError(world.services.tokens.authenticate(generateToken().token, IP));
    expect(error.code).toBe('RATE_LIMITED');
    expect(error.retryAfterSeconds).toBe(THROTTLED_LOOKUP_INTERVAL_MS / 1000);
    expect(world.queries).toEqual([]);
  });

  // docs/security.md, item 39
  it('a valid token from a throttled address is answered once its lookup comes round', async () => {
    for (let index = 0; index < FAILURE_THRESHOLD; index++) await failOnce();
    expect((await appError(world.services.tokens.authenticate(secret, IP))).code).toBe('RATE_LIMITED');
    world.clock.advance(THROTTLED_LOOKUP_INTERVAL_MS);
    expect((await world.services.tokens.authenticate(secret, IP)).account.id).toBe(world.account.id);
    // Verified now: it keeps working from there, lookup allowance or not.
    for (let index = 0; index < 5; index++) expect((await world.services.tokens.authenticate(secret, IP)).token.name).toBe('ci');
  });

  // docs/security.md, item 39
  it('a checksum failure never counts', async () => {
    for (let index = 0; index < 3 * FAILURE_THRESHOLD; index++) {
      expect((await appError(world.services.tokens.authenticate('not-a-token', IP))).code).toBe('INVALID_TOKEN');
    }
    await failOnce();
  });
});

describeEachBackend('authenticate with the database-backed failure limiter', (ctx) => {
  let services: ReturnType<typeof servicesOver>;
  let limiterErrors: unknown[];
  let secret: string;
  let clock: ReturnType<typeof createManualClock>;

  beforeEach(async () => {
    clock = createManualClock(Date.now());
    limiterErrors = [];
    const failureLimiter = createDatabaseFailureLimiter({ store: ctx.stores.authFailures, clock, onError: (error) => limiterErrors.push(error) });
    services = servicesOver(ctx.stores, clock, { failureLimiter });
    const account = await services.accounts.create({ email: `u-${randomUUID()}@example.test` }, SYSTEM_ACTOR);
    ({ secret } = await services.tokens.create(account.id, { name: 'ci' }, SYSTEM_ACTOR));
  });
  afterEach(() => expect(limiterErrors).toEqual([]));

  const failuresOf = async (ip: string) => (await ctx.exec(sql`select sum(failures) as n from auth_failures where client_key = ${ip}`)) as Array<{ n: unknown }>;

  // docs/security.md, item 39
  it('a valid token reads only the token: the failure count is neither read nor written', async () => {
    ctx.queries.length = 0;
    await services.tokens.authenticate(secret, IP);
    expect(ctx.queries.filter((query) => /auth_failures/.test(query.sql))).toEqual([]);
  });

  // docs/security.md, item 39
  it('failures recorded through another instance throttle this one at its next failure from that address', async () => {
    const window = failureWindowAt(clock.now());
    for (let index = 0; index < FAILURE_THRESHOLD; index++) await ctx.stores.authFailures.recordAuthFailure(IP, window);
    expect((await appError(services.tokens.authenticate(generateToken().token, IP))).code).toBe('INVALID_TOKEN');
    expect((await appError(services.tokens.authenticate(generateToken().token, IP))).code).toBe('RATE_LIMITED');
    expect((await services.tokens.authenticate(secret, '198.51.100.1')).token.name).toBe('ci');
  });

  // docs/security.md, item 39
  it('a refused well-formed token is counted in the database, a checksum failure is not, and a success clears nothing', async () => {
    expect((await appError(services.tokens.authenticate(generateToken().token, IP))).code).toBe('INVALID_TOKEN');
    expect(Number((await failuresOf(IP))[0]!.n)).toBe(1);

    ctx.queries.length = 0;
    expect((await appError(services.tokens.authenticate('not-a-token', IP))).code).toBe('INVALID_TOKEN');
    expect(ctx.queries).toEqual([]);

    await services.tokens.authenticate(secret, IP);
    expect(Number((await failuresOf(IP))[0]!.n)).toBe(1);
  });
});
