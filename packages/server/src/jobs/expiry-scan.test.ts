/**
 * The expiry scan: which threshold a token has crossed, and on SQLite and PostgreSQL, that two
 * runners scanning every slot over five weeks (restarted half-way) turn each threshold of each
 * token into exactly one event, delivered once to a channel.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/databases.js';
import { storeFixtures } from '../../test/support/store-fixtures.js';
import { createManualClock } from '../kernel/clock.js';
import { createEventChannels, type LifecycleEvent } from './events.js';
import { createExpiryScan, crossedThreshold, EXPIRY_SCAN_INTERVAL_MS, EXPIRY_SCAN_KIND } from './expiry-scan.js';
import { createJobRunner } from './job-runner.js';
import { createKyselyExpiryScanStore } from './kysely-expiry-scan-store.js';
import { createKyselyJobStore } from './kysely-job-store.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const T = Date.UTC(2026, 2, 1);

describe('crossedThreshold', () => {
  const longLived = (expiresAt: number) => ({ createdAt: T - 365 * DAY, expiresAt });
  it('answers the latest threshold crossed, none before 30 days or a day after expiry', () => {
    expect(crossedThreshold(longLived(T + 30 * DAY + 1), T)).toBeUndefined();
    expect(crossedThreshold(longLived(T + 30 * DAY), T)).toBe('30d');
    expect(crossedThreshold(longLived(T + 7 * DAY + 1), T)).toBe('30d');
    expect(crossedThreshold(longLived(T + 7 * DAY), T)).toBe('7d');
    expect(crossedThreshold(longLived(T + DAY), T)).toBe('1d');
    expect(crossedThreshold(longLived(T + 1), T)).toBe('1d');
    expect(crossedThreshold(longLived(T), T)).toBe('0d');
    expect(crossedThreshold(longLived(T - DAY + 1), T)).toBe('0d');
    expect(crossedThreshold(longLived(T - DAY), T)).toBeUndefined();
  });

  it('counts only thresholds crossed after the token was created', () => {
    // A 7-day token: no 30- or 7-day warning, a 1-day one and the day's.
    expect(crossedThreshold({ createdAt: T, expiresAt: T + 7 * DAY }, T)).toBeUndefined();
    expect(crossedThreshold({ createdAt: T, expiresAt: T + 7 * DAY }, T + 6 * DAY)).toBe('1d');
    expect(crossedThreshold({ createdAt: T - 1, expiresAt: T + 7 * DAY }, T)).toBe('7d');
  });
});

describeEachBackend('Expiry scan', (ctx) => {
  const { givenAccount, givenToken } = storeFixtures(ctx);

  function instance(owner: string, clock: ReturnType<typeof createManualClock>, delivered: LifecycleEvent[]) {
    const runner = createJobRunner({ store: createKyselyJobStore(ctx.database), clock, owner });
    const scan = createExpiryScan({ store: createKyselyExpiryScanStore(ctx.database), clock, enqueue: (jobs) => runner.enqueue(jobs) });
    runner.register(EXPIRY_SCAN_KIND, async () => void (await scan()));
    runner.schedule(EXPIRY_SCAN_KIND, EXPIRY_SCAN_INTERVAL_MS);
    createEventChannels(runner).add('test', async (event) => void delivered.push(event));
    return runner;
  }

  it('two runners, restarted half-way, deliver each threshold of each token exactly once over five weeks', async () => {
    const clock = createManualClock(T);
    const alice = await givenAccount();
    const long = await givenToken(alice.id, { createdAt: T - 100 * DAY, expiresAt: T + 31 * DAY });
    const week = await givenToken(alice.id, { createdAt: T, expiresAt: T + 7 * DAY });
    const revoked = await givenToken(alice.id, { createdAt: T - 100 * DAY, expiresAt: T + 3 * DAY, revokedAt: T - DAY });
    const far = await givenToken(alice.id, { createdAt: T - 100 * DAY, expiresAt: T + 90 * DAY });

    const delivered: LifecycleEvent[] = [];
    let runners = [instance('a', clock, delivered), instance('b', clock, delivered)];
    for (let hour = 0; hour <= 33 * 24; hour += 6) {
      // Half-way, both instances are replaced (a restart): the new ones must not repeat anything.
      if (hour === 15 * 24) runners = [instance('c', clock, delivered), instance('d', clock, delivered)];
      clock.set(T + hour * HOUR);
      // Passes until nothing is left: the scan, the events it enqueued, then the channel jobs.
      for (let ran = 1; ran > 0; ) {
        ran = 0;
        for (const runner of runners) ran += await runner.runDue();
      }
    }

    // The fixtures' token creations are events too (audit fan-out): each delivered once.
    const created = delivered.filter((event) => event.event === 'token.created');
    expect(created.map((event) => event.tokenId).sort()).toEqual([long, week, revoked, far].map((token) => token.record.id).sort());
    const keys = delivered.filter((event) => !created.includes(event)).map((event) => event.key);
    expect(keys).toEqual([
      `token-expiring:${long.record.id}:30d`,
      `token-expiring:${week.record.id}:1d`,
      `token-expiring:${week.record.id}:0d`,
      `token-expiring:${long.record.id}:7d`,
      `token-expiring:${long.record.id}:1d`,
      `token-expiring:${long.record.id}:0d`,
    ]);
    expect(delivered.find((event) => event.key.endsWith(`${week.record.id}:0d`))).toMatchObject({
      event: 'token.expired',
      tokenId: week.record.id,
      accountId: alice.id,
      threshold: '0d',
      expiresAt: T + 7 * DAY,
    });
    expect(delivered.find((event) => event.key.endsWith(`${long.record.id}:7d`))).toMatchObject({ event: 'token.expiring', threshold: '7d' });
    expect(keys.join(' ')).not.toContain(revoked.record.id);
    expect(keys.join(' ')).not.toContain(far.record.id);
    // One scan job per 10-minute slot that some instance saw (every 6 hours here), never two.
    const scans = (await ctx.exec(sql`select count(*) as n, count(distinct dedupe_key) as d from jobs where kind = ${EXPIRY_SCAN_KIND}`)) as Array<{
      n: number | string;
      d: number | string;
    }>;
    expect(Number(scans[0]!.n)).toBe(Number(scans[0]!.d));
    expect(Number(scans[0]!.n)).toBe(33 * 4 + 1);
  }, 180_000);
});
