/**
 * The auth-failure store's written guarantees (auth-failure-store.ts: `recordAuthFailure`), on
 * SQLite and on a real PostgreSQL: the count per key over the window's buckets, buckets ageing
 * out, keys apart, and concurrency (docs/security.md, item 39).
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/databases.js';
import { FAILURE_BUCKETS_BEHIND, failureWindowAt } from './failure-limiter.js';

describeEachBackend('Auth-failure store contract', (ctx) => {
  const client = () => `198.51.100.${Math.floor(Math.random() * 250) + 1}-${randomUUID()}`;
  const START = failureWindowAt(Date.UTC(2030, 0, 1)).bucket;
  const at = (bucket: number) => ({ bucket, oldestBucket: bucket - FAILURE_BUCKETS_BEHIND });

  it('answers the failures in the window, this one included, across buckets', async () => {
    const key = client();
    expect(await ctx.stores.authFailures.recordAuthFailure(key, at(START))).toBe(1);
    expect(await ctx.stores.authFailures.recordAuthFailure(key, at(START))).toBe(2);
    expect(await ctx.stores.authFailures.recordAuthFailure(key, at(START + 1))).toBe(3);
    expect(await ctx.stores.authFailures.recordAuthFailure(key, at(START + FAILURE_BUCKETS_BEHIND))).toBe(4);
  });

  it('leaves out buckets older than the window', async () => {
    const key = client();
    await ctx.stores.authFailures.recordAuthFailure(key, at(START));
    await ctx.stores.authFailures.recordAuthFailure(key, at(START));
    await ctx.stores.authFailures.recordAuthFailure(key, at(START + 1));
    expect(await ctx.stores.authFailures.recordAuthFailure(key, at(START + FAILURE_BUCKETS_BEHIND + 1))).toBe(2);
    expect(await ctx.stores.authFailures.recordAuthFailure(key, at(START + FAILURE_BUCKETS_BEHIND + 2))).toBe(2);
  });

  it('counts each client key apart', async () => {
    const key = client();
    const other = client();
    await ctx.stores.authFailures.recordAuthFailure(key, at(START));
    await ctx.stores.authFailures.recordAuthFailure(key, at(START));
    expect(await ctx.stores.authFailures.recordAuthFailure(other, at(START))).toBe(1);
  });

  it('counts every one of many concurrent failures (several instances at once)', async () => {
    const key = client();
    await Promise.all(Array.from({ length: 40 }, () => ctx.stores.authFailures.recordAuthFailure(key, at(START))));
    expect(await ctx.stores.authFailures.recordAuthFailure(key, at(START))).toBe(41);
  });

  it('prunes aged-out buckets as it goes, so the table does not grow with old failures', async () => {
    for (let i = 0; i < 70; i++) await ctx.stores.authFailures.recordAuthFailure(client(), at(START));
    const later = START + FAILURE_BUCKETS_BEHIND + 1;
    for (let i = 0; i < 70; i++) await ctx.stores.authFailures.recordAuthFailure(client(), at(later));
    const rows = (await ctx.exec(sql`select count(*) as n from auth_failures where bucket < ${later - FAILURE_BUCKETS_BEHIND}`)) as Array<{ n: number | string }>;
    expect(Number(rows[0]!.n)).toBe(0);
  });
  it('counts without recording, lists keys at the threshold with their oldest and newest bucket, and deletes one key', async () => {
    const store = ctx.stores.authFailures;
    const loud = client();
    const louder = client();
    const quiet = client();
    for (let i = 0; i < 3; i++) await store.recordAuthFailure(loud, at(START));
    await store.recordAuthFailure(loud, at(START + 2));
    for (let i = 0; i < 5; i++) await store.recordAuthFailure(louder, at(START + 1));
    await store.recordAuthFailure(quiet, at(START + 2));
    // An aged-out bucket is not counted.
    await store.recordAuthFailure(quiet, at(START - FAILURE_BUCKETS_BEHIND - 5));

    const oldest = START + 2 - FAILURE_BUCKETS_BEHIND;
    expect(await store.countAuthFailures(loud, oldest)).toBe(4);
    expect(await store.countAuthFailures(loud, oldest)).toBe(4);
    expect(await store.countAuthFailures(client(), oldest)).toBe(0);
    expect(await store.listAuthFailures(oldest, 4, 10)).toEqual([
      { clientKey: louder, failures: 5, oldestBucket: START + 1, newestBucket: START + 1 },
      { clientKey: loud, failures: 4, oldestBucket: START, newestBucket: START + 2 },
    ]);
    expect(await store.listAuthFailures(oldest, 4, 1)).toHaveLength(1);

    expect(await store.deleteAuthFailures(loud)).toBe(true);
    expect(await store.deleteAuthFailures(loud)).toBe(false);
    expect(await store.countAuthFailures(loud, oldest)).toBe(0);
    expect((await store.listAuthFailures(oldest, 1, 10)).map((entry) => entry.clientKey).sort()).toEqual([louder, quiet].sort());
  });
});
