/**
 * Console sessions through the service, on both backends. Expiry is compared with the database
 * clock, so the tests move `last_seen_at` / `expires_at` in the database rather than the clock.
 */
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { beforeEach, expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/databases.js';
import { createAccountService, type AccountService } from '../accounts/account-service.js';
import { SYSTEM_ACTOR, auditEvent } from '../audit/audit-event.js';
import { createManualClock } from '../kernel/clock.js';
import { secretsEqual, sha256 } from '../kernel/secrets.js';
import { SESSION_ABSOLUTE_TIMEOUT_MS, SESSION_IDLE_TIMEOUT_MS, createSessionService, type SessionService } from './session-service.js';

const HOUR = 3_600_000;

describeEachBackend('sessions', (ctx) => {
  let clock: ReturnType<typeof createManualClock>;
  let services: { accounts: AccountService; sessions: SessionService };
  let accountId: string;

  beforeEach(async () => {
    clock = createManualClock(Date.now());
    services = {
      accounts: createAccountService({ store: ctx.stores.accounts, clock }),
      sessions: createSessionService({ store: ctx.stores.sessions, clock }),
    };
    accountId = (await services.accounts.create({ email: 'ada@example.test' }, SYSTEM_ACTOR)).id;
  });

  const setSession = async (sessionId: string, column: 'last_seen_at' | 'expires_at', value: number) => {
    await ctx.exec(sql`update sessions set ${sql.ref(column)} = ${value} where id_digest = ${sha256(sessionId)}`);
  };

  it('the idle and absolute limits are 12 hours and 14 days', () => {
    expect(SESSION_IDLE_TIMEOUT_MS).toBe(12 * HOUR);
    expect(SESSION_ABSOLUTE_TIMEOUT_MS).toBe(14 * 24 * HOUR);
  });

  it('start stores only the digest of the id, for 14 days; authenticate finds it', async () => {
    const { sessionId, csrfToken, expiresAt } = await services.sessions.start(accountId);
    expect(sessionId).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(expiresAt).toBe(clock.now() + 14 * 86_400_000);
    expect(JSON.stringify(ctx.queries.map((query) => query.parameters))).not.toContain(sessionId);
    expect(ctx.queries.some((query) => query.parameters.some((value) => Buffer.isBuffer(value) && value.equals(createHash('sha256').update(sessionId).digest())))).toBe(true);

    const session = await services.sessions.authenticate(sessionId);
    expect(session?.account.id).toBe(accountId);
    expect(session?.csrfToken).toBe(csrfToken);
    expect(secretsEqual(csrfToken, session?.csrfToken)).toBe(true);
    expect(await services.sessions.authenticate(sessionId.slice(0, -1) + (sessionId.endsWith('A') ? 'B' : 'A'))).toBeUndefined();
  });

  it('a malformed id is refused without a query', async () => {
    ctx.queries.length = 0;
    for (const bad of ['', 'short', 'x'.repeat(44), `${'x'.repeat(42)}=`, `${'x'.repeat(42)}/`]) {
      expect(await services.sessions.authenticate(bad)).toBeUndefined();
    }
    expect(ctx.queries).toEqual([]);
  });

  it('expires after 12 idle hours by the database clock', async () => {
    const { sessionId } = await services.sessions.start(accountId);
    const dbNow = await ctx.database.now();
    await setSession(sessionId, 'last_seen_at', dbNow - SESSION_IDLE_TIMEOUT_MS + 60_000);
    expect(await services.sessions.authenticate(sessionId)).toBeDefined();

    await setSession(sessionId, 'last_seen_at', dbNow - SESSION_IDLE_TIMEOUT_MS - 1000);
    expect(await services.sessions.authenticate(sessionId)).toBeUndefined();
  });

  it('use moves last-seen forward (at most once a minute), which keeps the session alive', async () => {
    const { sessionId } = await services.sessions.start(accountId);
    const started = clock.now();
    const lastSeen = async () => (await ctx.stores.sessions.findSessionForAuth(sha256(sessionId)))!.lastSeenAt;

    clock.advance(30_000);
    await services.sessions.authenticate(sessionId);
    expect(await lastSeen()).toBe(started);

    clock.advance(30_000);
    await services.sessions.authenticate(sessionId);
    expect(await lastSeen()).toBe(started + 60_000);
  });

  it('expires after 14 days however busy it is', async () => {
    const { sessionId } = await services.sessions.start(accountId);
    const dbNow = await ctx.database.now();
    await setSession(sessionId, 'expires_at', dbNow + 60_000);
    expect(await services.sessions.authenticate(sessionId)).toBeDefined();

    await setSession(sessionId, 'expires_at', dbNow - 1000);
    await setSession(sessionId, 'last_seen_at', await ctx.database.now());
    expect(await services.sessions.authenticate(sessionId)).toBeUndefined();
  });

  it('a disabled account\'s session is undefined, and works again once re-enabled', async () => {
    const { sessionId } = await services.sessions.start(accountId);
    await services.accounts.disable(accountId, SYSTEM_ACTOR);
    expect(await services.sessions.authenticate(sessionId)).toBeUndefined();
    await services.accounts.enable(accountId, SYSTEM_ACTOR);
    expect((await services.sessions.authenticate(sessionId))?.account.id).toBe(accountId);
  });

  it('end deletes the session server-side; other sessions live on', async () => {
    const first = await services.sessions.start(accountId);
    const second = await services.sessions.start(accountId);
    await services.sessions.end(first.sessionId);
    expect(await services.sessions.authenticate(first.sessionId)).toBeUndefined();
    expect(await ctx.stores.sessions.findSessionForAuth(sha256(first.sessionId))).toBeUndefined();
    expect(await services.sessions.authenticate(second.sessionId)).toBeDefined();
    await services.sessions.end(first.sessionId);
  });

  it('CSRF tokens are compared exactly, and a missing one never matches', () => {
    expect(secretsEqual('abc', 'abc')).toBe(true);
    expect(secretsEqual('abc', 'abd')).toBe(false);
    expect(secretsEqual('abc', 'ab')).toBe(false);
    expect(secretsEqual('abc', undefined)).toBe(false);
  });

  it('a session started for a sign-in ends the one the browser arrived with and records the sign-in', async () => {
    const before = await services.sessions.start(accountId);
    const other = await services.sessions.start(accountId);
    clock.advance(1000);
    const audit = auditEvent(clock.now(), 'account.signed_in', { ...SYSTEM_ACTOR, accountId }, accountId);
    const after = await services.sessions.start(accountId, { replacing: before.sessionId, audit });

    expect(await services.sessions.authenticate(before.sessionId)).toBeUndefined();
    expect((await services.sessions.authenticate(after.sessionId))?.account.id).toBe(accountId);
    expect(await services.sessions.authenticate(other.sessionId)).toBeDefined();
    expect(after.sessionId).not.toBe(before.sessionId);
    // Only the digest of the replaced id is sent, as for the new one.
    expect(JSON.stringify(ctx.queries.map((query) => query.parameters))).not.toContain(before.sessionId);
    const [event] = await ctx.stores.audit.listAuditEvents({ limit: 1 });
    expect(event).toMatchObject({ id: audit.id, action: 'account.signed_in', targetId: accountId });
  });
});
