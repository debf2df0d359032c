/**
 * Console sessions through the domain, on both backends. Expiry is compared with the database
 * clock, so the tests move `last_seen_at` / `expires_at` in the database rather than the clock.
 */
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { beforeEach, expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/databases.js';
import { SYSTEM_ACTOR } from './audit.js';
import { createManualClock } from './clock.js';
import { createDomain, type Domain } from './index.js';
import { SESSION_ABSOLUTE_TIMEOUT_MS, SESSION_IDLE_TIMEOUT_MS, csrfTokenMatches, digestSessionId } from './sessions.js';

const HOUR = 3_600_000;

describeEachBackend('sessions', (ctx) => {
  let clock: ReturnType<typeof createManualClock>;
  let domain: Domain;
  let accountId: string;

  beforeEach(async () => {
    clock = createManualClock(Date.now());
    domain = createDomain({ store: ctx.store, clock, settings: { maxLifetimeDays: 180, maxTokensPerAccount: 100 } });
    accountId = (await domain.accounts.create({ email: 'ada@example.test' }, SYSTEM_ACTOR)).id;
  });

  const setSession = async (sessionId: string, column: 'last_seen_at' | 'expires_at', value: number) => {
    await ctx.exec(sql`update sessions set ${sql.ref(column)} = ${value} where id_digest = ${digestSessionId(sessionId)}`);
  };

  it('the idle and absolute limits are 12 hours and 14 days', () => {
    expect(SESSION_IDLE_TIMEOUT_MS).toBe(12 * HOUR);
    expect(SESSION_ABSOLUTE_TIMEOUT_MS).toBe(14 * 24 * HOUR);
  });

  it('start stores only the digest of the id, for 14 days; authenticate finds it', async () => {
    const { sessionId, csrfToken, expiresAt } = await domain.sessions.start(accountId);
    expect(sessionId).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(expiresAt).toBe(clock.now() + 14 * 86_400_000);
    expect(JSON.stringify(ctx.queries.map((query) => query.parameters))).not.toContain(sessionId);
    expect(ctx.queries.some((query) => query.parameters.some((value) => Buffer.isBuffer(value) && value.equals(createHash('sha256').update(sessionId).digest())))).toBe(true);

    const session = await domain.sessions.authenticate(sessionId);
    expect(session?.account.id).toBe(accountId);
    expect(session?.csrfToken).toBe(csrfToken);
    expect(csrfTokenMatches(csrfToken, session?.csrfToken)).toBe(true);
    expect(await domain.sessions.authenticate(sessionId.slice(0, -1) + (sessionId.endsWith('A') ? 'B' : 'A'))).toBeUndefined();
  });

  it('a malformed id is refused without a query', async () => {
    ctx.queries.length = 0;
    for (const bad of ['', 'short', 'x'.repeat(44), `${'x'.repeat(42)}=`, `${'x'.repeat(42)}/`]) {
      expect(await domain.sessions.authenticate(bad)).toBeUndefined();
    }
    expect(ctx.queries).toEqual([]);
  });

  it('expires after 12 idle hours by the database clock', async () => {
    const { sessionId } = await domain.sessions.start(accountId);
    const dbNow = await ctx.store.now();
    await setSession(sessionId, 'last_seen_at', dbNow - SESSION_IDLE_TIMEOUT_MS + 60_000);
    expect(await domain.sessions.authenticate(sessionId)).toBeDefined();

    await setSession(sessionId, 'last_seen_at', dbNow - SESSION_IDLE_TIMEOUT_MS - 1000);
    expect(await domain.sessions.authenticate(sessionId)).toBeUndefined();
  });

  it('use moves last-seen forward (at most once a minute), which keeps the session alive', async () => {
    const { sessionId } = await domain.sessions.start(accountId);
    const started = clock.now();
    const lastSeen = async () => (await ctx.store.findSessionForAuth(digestSessionId(sessionId)))!.lastSeenAt;

    clock.advance(30_000);
    await domain.sessions.authenticate(sessionId);
    expect(await lastSeen()).toBe(started);

    clock.advance(30_000);
    await domain.sessions.authenticate(sessionId);
    expect(await lastSeen()).toBe(started + 60_000);
  });

  it('expires after 14 days however busy it is', async () => {
    const { sessionId } = await domain.sessions.start(accountId);
    const dbNow = await ctx.store.now();
    await setSession(sessionId, 'expires_at', dbNow + 60_000);
    expect(await domain.sessions.authenticate(sessionId)).toBeDefined();

    await setSession(sessionId, 'expires_at', dbNow - 1000);
    await setSession(sessionId, 'last_seen_at', await ctx.store.now());
    expect(await domain.sessions.authenticate(sessionId)).toBeUndefined();
  });

  it('a disabled account\'s session is undefined, and works again once re-enabled', async () => {
    const { sessionId } = await domain.sessions.start(accountId);
    await domain.accounts.disable(accountId, SYSTEM_ACTOR);
    expect(await domain.sessions.authenticate(sessionId)).toBeUndefined();
    await domain.accounts.enable(accountId, SYSTEM_ACTOR);
    expect((await domain.sessions.authenticate(sessionId))?.account.id).toBe(accountId);
  });

  it('end deletes the session server-side; other sessions live on', async () => {
    const first = await domain.sessions.start(accountId);
    const second = await domain.sessions.start(accountId);
    await domain.sessions.end(first.sessionId);
    expect(await domain.sessions.authenticate(first.sessionId)).toBeUndefined();
    expect(await ctx.store.findSessionForAuth(digestSessionId(first.sessionId))).toBeUndefined();
    expect(await domain.sessions.authenticate(second.sessionId)).toBeDefined();
    await domain.sessions.end(first.sessionId);
  });

  it('csrfTokenMatches compares exactly', () => {
    expect(csrfTokenMatches('abc', 'abc')).toBe(true);
    expect(csrfTokenMatches('abc', 'abd')).toBe(false);
    expect(csrfTokenMatches('abc', 'ab')).toBe(false);
    expect(csrfTokenMatches('abc', undefined)).toBe(false);
  });
});
