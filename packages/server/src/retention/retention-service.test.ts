/**
 * Retention (docs/security.md, item 57), on SQLite and on a real PostgreSQL with a clock the test
 * controls: the pruner deletes every kind of dead row and keeps the live ones, works through a
 * backlog in batches, and two pruners running at once (as two instances would) both succeed.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/databases.js';
import { DAY, digestOf, storeFixtures } from '../../test/support/store-fixtures.js';
import { createManualClock } from '../kernel/clock.js';
import { SESSION_IDLE_TIMEOUT_MS } from '../sessions/session-service.js';
import { expiredRowPruners } from './expired-row-pruners.js';
import { createRetentionService, PRUNE_GRACE_MS, type ExpiredRowPruner } from './retention-service.js';

const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 5, 1);

describeEachBackend('Pruning expired rows', (ctx) => {
  const { givenAccount } = storeFixtures(ctx);

  async function count(table: 'accounts' | 'sessions' | 'signin_links' | 'login_flows' | 'cli_grants'): Promise<number> {
    const rows = (await ctx.exec(sql`select count(*) as n from ${sql.table(table)}`)) as Array<{ n: unknown }>;
    return Number(rows[0]!.n);
  }

  const pruner = (clock = createManualClock(NOW), batchSize?: number) =>
    createRetentionService({ pruners: expiredRowPruners(ctx.stores), clock, batchSize });

  const insertFlow = (key: string, expiresAt: number) =>
    ctx.stores.signIn.insertLoginFlow(digestOf(key), {
      browserDigest: digestOf(`browser-${key}`),
      codeVerifier: 'verifier',
      nonce: 'nonce',
      returnTo: '/',
      createdAt: expiresAt - 10 * 60_000,
      expiresAt,
    });
  const insertLink = (key: string, accountId: string, expiresAt: number) =>
    ctx.stores.signIn.insertSignInLink(digestOf(key), { accountId, createdAt: expiresAt - 15 * 60_000, expiresAt });
  const insertGrant = (key: string, accountId: string, expiresAt: number) =>
    ctx.stores.signIn.insertCliGrant(digestOf(key), {
      accountId,
      codeChallenge: 'challenge',
      redirectUri: 'http://127.0.0.1:9/callback',
      clientName: 'laptop',
      createdAt: expiresAt - 60_000,
      expiresAt,
    });
  const insertSession = (key: string, accountId: string, times: { lastSeenAt: number; expiresAt: number }) =>
    ctx.stores.sessions.insertSession(digestOf(key), { accountId, csrfToken: 'csrf', createdAt: times.lastSeenAt, ...times });

  /** The keys (as inserted) of the rows left in a table, sorted. */
  async function keysLeft(table: 'sessions' | 'signin_links' | 'login_flows' | 'cli_grants', keys: string[]): Promise<string[]> {
    const column = { sessions: 'id_digest', signin_links: 'digest', login_flows: 'state_digest', cli_grants: 'code_digest' }[table];
    const rows = (await ctx.exec(sql`select ${sql.ref(column)} as k from ${sql.table(table)}`)) as Array<{ k: Buffer }>;
    return keys.filter((key) => rows.some((row) => Buffer.compare(Buffer.from(row.k), digestOf(key)) === 0)).sort();
  }

  it('deletes ended sessions and expired sign-in links, sign-in flows and CLI grants, and keeps every live one', async () => {
    const owner = await givenAccount();
    const dead = NOW - 2 * HOUR;
    const live = NOW + HOUR;
    // Dead for less than the grace: the database may still count it live, so it stays this pass.
    const justDead = NOW - PRUNE_GRACE_MS / 2;

    await insertSession('session-expired', owner.id, { lastSeenAt: NOW - HOUR, expiresAt: dead });
    await insertSession('session-idle', owner.id, { lastSeenAt: NOW - SESSION_IDLE_TIMEOUT_MS - 2 * HOUR, expiresAt: NOW + DAY });
    await insertSession('session-live', owner.id, { lastSeenAt: NOW - HOUR, expiresAt: NOW + DAY });
    await insertSession('session-just-ended', owner.id, { lastSeenAt: NOW - HOUR, expiresAt: justDead });
    await insertLink('link-expired', owner.id, dead);
    await insertLink('link-used-expired', owner.id, dead);
    await insertLink('link-live', owner.id, live);
    await ctx.exec(sql`update signin_links set used_at = ${dead - 60_000} where digest = ${digestOf('link-used-expired')}`);
    await insertFlow('flow-expired', dead);
    await insertFlow('flow-live', live);
    await insertFlow('flow-just-expired', justDead);
    await insertGrant('grant-expired', owner.id, dead);
    await insertGrant('grant-live', owner.id, live);
    // Revocation events are kept a day for the stream's clients to resume from.
    await ctx.exec(sql`insert into revocation_events (kind, subject_id, occurred_at) values ('token', 'gone', ${NOW - 2 * DAY}), ('token', 'recent', ${NOW - HOUR})`);

    const counts = await pruner().pruneOnce();

    expect(counts).toEqual({ sessions: 2, signin_links: 2, login_flows: 1, cli_grants: 1, revocation_events: 1 });
    expect(((await ctx.exec(sql`select subject_id from revocation_events`)) as Array<{ subject_id: string }>).map((row) => row.subject_id)).toEqual(['recent']);
    expect(await keysLeft('sessions', ['session-expired', 'session-idle', 'session-live', 'session-just-ended'])).toEqual([
      'session-just-ended',
      'session-live',
    ]);
    expect(await keysLeft('signin_links', ['link-expired', 'link-used-expired', 'link-live'])).toEqual(['link-live']);
    expect(await keysLeft('login_flows', ['flow-expired', 'flow-live', 'flow-just-expired'])).toEqual(['flow-just-expired', 'flow-live']);
    expect(await keysLeft('cli_grants', ['grant-expired', 'grant-live'])).toEqual(['grant-live']);
    // The account the dead rows belonged to is untouched.
    expect(await count('accounts')).toBe(1);

    // Pruning again is a no-op, and a later pass takes what has died since.
    expect(await pruner().pruneOnce()).toEqual({ sessions: 0, signin_links: 0, login_flows: 0, cli_grants: 0, revocation_events: 0 });
    const later = createManualClock(NOW + 2 * DAY);
    expect(await pruner(later).pruneOnce()).toEqual({ sessions: 2, signin_links: 1, login_flows: 2, cli_grants: 1, revocation_events: 1 });
  });

  it('works through a backlog larger than one batch in one pass', async () => {
    for (let i = 0; i < 1_234; i++) await insertFlow(`backlog-${i}`, NOW - HOUR);
    await insertFlow('still-live', NOW + HOUR);

    const counts = await pruner(createManualClock(NOW), 100).pruneOnce();

    expect(counts.login_flows).toBe(1_234);
    expect(await count('login_flows')).toBe(1);
  });

  it('two pruners running at once both succeed and delete each dead row once between them', async () => {
    const owner = await givenAccount();
    const rows = 1_500;
    const inserts: Array<Promise<void>> = [];
    for (let i = 0; i < rows; i++) {
      inserts.push(insertFlow(`flow-${i}`, NOW - HOUR), insertLink(`link-${i}`, owner.id, NOW - HOUR), insertGrant(`grant-${i}`, owner.id, NOW - HOUR));
      inserts.push(insertSession(`session-${i}`, owner.id, { lastSeenAt: NOW - 2 * HOUR, expiresAt: NOW - HOUR }));
      if (inserts.length >= 200) await Promise.all(inserts.splice(0));
    }
    await Promise.all(inserts);

    const [first, second] = await Promise.all([pruner(createManualClock(NOW), 50).pruneOnce(), pruner(createManualClock(NOW), 50).pruneOnce()]);

    for (const table of ['sessions', 'signin_links', 'login_flows', 'cli_grants'] as const) {
      expect(first[table]! + second[table]!).toBe(rows);
      expect(await count(table)).toBe(0);
    }
  });
});

describe('the pruning timer', () => {
  /** A pruner over a list of expiry times, recording the `now` it was asked about. */
  function listPruner(expiries: number[]): ExpiredRowPruner & { asked: number[] } {
    const asked: number[] = [];
    return {
      name: 'list',
      asked,
      async prune(now, limit) {
        asked.push(now);
        const dead = expiries.filter((expiresAt) => expiresAt <= now).slice(0, limit);
        for (const expiresAt of dead) expiries.splice(expiries.indexOf(expiresAt), 1);
        return dead.length;
      },
    };
  }

  it('prunes as soon as it starts, by the injected clock less the grace, and stops on stop()', async () => {
    const expiries = [NOW - HOUR, NOW - HOUR, NOW + HOUR];
    const list = listPruner(expiries);
    const pruned: Array<Record<string, number>> = [];
    const retention = createRetentionService({
      pruners: [list],
      clock: createManualClock(NOW),
      intervalMs: 60_000,
      onPruned: (counts) => pruned.push(counts),
    });

    retention.start();
    await expect.poll(() => pruned, { timeout: 10_000 }).toEqual([{ list: 2 }]);
    expect(list.asked[0]).toBe(NOW - PRUNE_GRACE_MS);
    expect(expiries).toEqual([NOW + HOUR]);
    await retention.stop();
  });

  it('its timer never keeps the process alive', async () => {
    const refTimers = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
    const list = listPruner([]);
    const retention = createRetentionService({ pruners: [list], clock: createManualClock(NOW), intervalMs: 60_000 });
    const before = refTimers();
    retention.start();
    await expect.poll(() => list.asked.length, { timeout: 10_000 }).toBe(1);
    // The pass is done and the next one is scheduled, on an unref'd timer.
    await new Promise((resolve) => setImmediate(resolve));
    expect(refTimers()).toBeLessThanOrEqual(before);
    await retention.stop();
  });

  it('reports a failed pass and keeps its schedule', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const retention = createRetentionService({
      pruners: [
        {
          name: 'failing',
          async prune() {
            calls++;
            throw new Error(`database unavailable ${randomUUID()}`);
          },
        },
      ],
      clock: createManualClock(NOW),
      intervalMs: 10,
      onError: (error) => errors.push(error),
    });
    retention.start();
    await expect.poll(() => errors.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    await retention.stop();
    const callsAtStop = calls;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(calls).toBe(callsAtStop);
  });
});
