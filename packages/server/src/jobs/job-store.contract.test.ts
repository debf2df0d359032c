/**
 * The job store's written guarantees (job-store.ts), on SQLite and on a real PostgreSQL:
 * idempotent enqueue by dedupe key (also inside another write's transaction), claims that never
 * hand one job to two claimers, leases that run out, complete/fail only by the lease holder,
 * and pruning of finished jobs.
 */
import { expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/databases.js';
import { auditEvent, SYSTEM_ACTOR } from '../audit/audit-event.js';
import { writeWithAudit } from '../audit/kysely-audit-store.js';
import { EVENT_JOB_KIND } from './events.js';
import { createKyselyJobStore, enqueueJobsIn } from './kysely-job-store.js';

const T0 = Date.UTC(2026, 5, 1);

describeEachBackend('Job store contract', (ctx) => {
  const store = () => createKyselyJobStore(ctx.database);
  const job = (over: Partial<{ kind: string; dedupeKey: string; runAt: number; payload: unknown }> = {}) => ({
    kind: 'test.kind',
    payload: { n: 1 },
    runAt: T0,
    ...over,
  });

  it('enqueues a job with a dedupe key once: the second enqueue is a no-op answering false', async () => {
    expect(await store().enqueue([job({ dedupeKey: 'k1' })], T0)).toEqual([true]);
    expect(await store().enqueue([job({ dedupeKey: 'k1', payload: { n: 2 } }), job({ dedupeKey: 'k2' }), job()], T0)).toEqual([false, true, true]);
    const claimed = await store().claim('a', ['test.kind'], T0, T0 + 1000, 10);
    expect(claimed).toHaveLength(3);
    expect(claimed.find((row) => row.dedupeKey === 'k1')!.payload).toEqual({ n: 1 });
  });

  it('keeps a dedupe key taken after the job is done, until it is pruned', async () => {
    await store().enqueue([job({ dedupeKey: 'once' })], T0);
    const [claimed] = await store().claim('a', ['test.kind'], T0, T0 + 1000, 1);
    expect(await store().complete(claimed!.id, 'a', T0 + 5)).toBe(true);
    expect(await store().enqueue([job({ dedupeKey: 'once' })], T0 + 10)).toEqual([false]);
    expect(await store().pruneFinished(T0 + 6, 100)).toBe(1);
    expect(await store().enqueue([job({ dedupeKey: 'once' })], T0 + 10)).toEqual([true]);
  });

  it('enqueues inside a caller transaction: rolled back with it, committed with it', async () => {
    await expect(
      ctx.database.kysely.transaction().execute(async (trx) => {
        await enqueueJobsIn(trx, [job({ dedupeKey: 'tx' })], T0);
        throw new Error('the causing write failed');
      }),
    ).rejects.toThrow('the causing write failed');
    expect(await store().claim('a', ['test.kind'], T0, T0 + 1000, 10)).toEqual([]);
    await ctx.database.kysely.transaction().execute((trx) => enqueueJobsIn(trx, [job({ dedupeKey: 'tx' })], T0));
    expect(await store().claim('a', ['test.kind'], T0, T0 + 1000, 10)).toHaveLength(1);
  });

  it('claims only due jobs of the asked kinds, oldest run_at first, counting the attempt and setting the lease', async () => {
    await store().enqueue([job({ runAt: T0 + 2 }), job({ runAt: T0 + 1 }), job({ runAt: T0 + 60_000 }), job({ kind: 'other' })], T0);
    const claimed = await store().claim('a', ['test.kind'], T0 + 10, T0 + 1010, 10);
    expect(claimed.map((row) => row.runAt)).toEqual([T0 + 1, T0 + 2]);
    for (const row of claimed) expect(row).toMatchObject({ state: 'running', attempts: 1, lockedBy: 'a', lockedUntil: T0 + 1010 });
    expect(await store().claim('b', ['test.kind'], T0 + 10, T0 + 1010, 10)).toEqual([]);
  });

  it('answers in one statement when the next job of the kinds becomes claimable: earliest run_at or lease end, none when idle', async () => {
    expect(await store().nextDueAt(['test.kind'])).toBeUndefined();
    await store().enqueue([job({ runAt: T0 + 5_000 }), job({ runAt: T0 + 9_000 }), job({ kind: 'other', runAt: T0 + 1 })], T0);
    ctx.queries.length = 0;
    expect(await store().nextDueAt(['test.kind'])).toBe(T0 + 5_000);
    expect(ctx.queries).toHaveLength(1);
    expect(await store().nextDueAt(['test.kind', 'other'])).toBe(T0 + 1);
    // Claimed: a job leaves the pending set and counts by its lease end instead.
    const [first] = await store().claim('a', ['test.kind'], T0 + 5_000, T0 + 12_000, 1);
    expect(await store().nextDueAt(['test.kind'])).toBe(T0 + 9_000);
    const [second] = await store().claim('a', ['test.kind'], T0 + 9_000, T0 + 20_000, 1);
    expect(second!.id).not.toBe(first!.id);
    expect(await store().nextDueAt(['test.kind'])).toBe(T0 + 12_000);
    // Done and failed jobs are never due again.
    await store().complete(first!.id, 'a', T0 + 9_001);
    expect(await store().nextDueAt(['test.kind'])).toBe(T0 + 20_000);
    await store().fail(second!.id, 'a', 'gave up', null, T0 + 9_002);
    expect(await store().nextDueAt(['test.kind'])).toBeUndefined();
    expect(await store().nextDueAt(['unknown'])).toBeUndefined();
    expect(await store().nextDueAt([])).toBeUndefined();
  });

  it('gives a job whose lease ran out to the next claimer, and the first holder can no longer complete it', async () => {
    await store().enqueue([job()], T0);
    const [first] = await store().claim('dead', ['test.kind'], T0, T0 + 1000, 1);
    expect(await store().claim('b', ['test.kind'], T0 + 999, T0 + 2000, 1)).toEqual([]);
    const [again] = await store().claim('b', ['test.kind'], T0 + 1000, T0 + 2000, 1);
    expect(again).toMatchObject({ id: first!.id, attempts: 2, lockedBy: 'b' });
    expect(await store().complete(first!.id, 'dead', T0 + 1001)).toBe(false);
    expect(await store().complete(first!.id, 'b', T0 + 1001)).toBe(true);
    expect(await store().findJob(first!.id)).toMatchObject({ state: 'done', finishedAt: T0 + 1001, lockedBy: null });
  });

  it('records a failure as pending again at the retry time, or failed for good, keeping the error', async () => {
    await store().enqueue([job()], T0);
    const [claimed] = await store().claim('a', ['test.kind'], T0, T0 + 1000, 1);
    expect(await store().fail(claimed!.id, 'someone-else', 'no', T0 + 50, T0)).toBe(false);
    expect(await store().fail(claimed!.id, 'a', 'Error: refused', T0 + 500, T0 + 1)).toBe(true);
    expect(await store().findJob(claimed!.id)).toMatchObject({ state: 'pending', runAt: T0 + 500, lastError: 'Error: refused', lockedBy: null });
    expect(await store().claim('a', ['test.kind'], T0 + 499, T0 + 2000, 1)).toEqual([]);
    const [retried] = await store().claim('a', ['test.kind'], T0 + 500, T0 + 2000, 1);
    expect(retried!.attempts).toBe(2);
    expect(await store().fail(retried!.id, 'a', 'x'.repeat(2000), null, T0 + 600)).toBe(true);
    const failed = await store().findJob(retried!.id);
    expect(failed).toMatchObject({ state: 'failed', finishedAt: T0 + 600 });
    expect(failed!.lastError!.length).toBe(500);
    expect(await store().claim('a', ['test.kind'], T0 + 10_000, T0 + 20_000, 1)).toEqual([]);
  });

  it('prunes at most the limit per call', async () => {
    await store().enqueue([job(), job(), job()], T0);
    for (const row of await store().claim('a', ['test.kind'], T0, T0 + 1000, 3)) await store().complete(row.id, 'a', T0 + 1);
    expect(await store().pruneFinished(T0 + 2, 2)).toBe(2);
    expect(await store().pruneFinished(T0 + 2, 2)).toBe(1);
  });

  it('prunes done and failed jobs finished before the cut-off, never pending or running ones', async () => {
    await store().enqueue([job(), job(), job(), job({ runAt: T0 + 1 })], T0);
    const [a, b, c] = await store().claim('a', ['test.kind'], T0, T0 + 1000, 3);
    await store().complete(a!.id, 'a', T0 + 10);
    await store().fail(b!.id, 'a', 'gave up', null, T0 + 20);
    expect(await store().pruneFinished(T0 + 15, 100)).toBe(1);
    expect(await store().pruneFinished(T0 + 1_000_000, 100)).toBe(1);
    expect(await store().findJob(c!.id)).toMatchObject({ state: 'running' });
    expect(await store().claim('a', ['test.kind'], T0 + 1, T0 + 1000, 5)).toHaveLength(1);
  });

  it('never hands one job to two concurrent claimers (300 jobs, six claimers)', async () => {
    await store().enqueue(Array.from({ length: 300 }, (_, n) => job({ dedupeKey: `c${n}` })), T0);
    const seen = new Map<string, string>();
    await Promise.all(
      ['a', 'b', 'c', 'd', 'e', 'f'].map(async (owner) => {
        for (;;) {
          const claimed = await store().claim(owner, ['test.kind'], T0, T0 + 60_000, 7);
          if (claimed.length === 0) return;
          for (const row of claimed) {
            expect(seen.has(row.id), `${row.id} claimed by ${seen.get(row.id)} and ${owner}`).toBe(false);
            seen.set(row.id, owner);
          }
        }
      }),
    );
    expect(seen.size).toBe(300);
  });

  it('writeWithAudit enqueues an event job for each audit event that is a lifecycle event, in the same transaction', async () => {
    const created = auditEvent(T0, 'token.created', SYSTEM_ACTOR, 'token-1', { name: 'ci' });
    const other = auditEvent(T0, 'namespace.created', SYSTEM_ACTOR, 'ns-1');
    await expect(
      writeWithAudit(ctx.database, async () => {
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    await writeWithAudit(ctx.database, async () => ({ result: undefined, audit: [created, other] }));
    const claimed = await store().claim('a', [EVENT_JOB_KIND], T0, T0 + 1000, 10);
    expect(claimed).toHaveLength(1);
    expect(claimed[0]).toMatchObject({
      dedupeKey: `audit:${created.id}`,
      payload: { event: 'token.created', key: `audit:${created.id}`, tokenId: 'token-1', occurredAt: T0, detail: { name: 'ci' } },
    });
  });
});
