/**
 * The job runner over the real Kysely store on SQLite and PostgreSQL, with an injected clock:
 * the retry timeline, dedupe, a dead runner's lease reclaimed, slot-scheduled jobs run once
 * across instances, graceful stop; and on PostgreSQL two runners sharing 200 jobs. Started, an idle
 * runner sends nothing: its timer is set from the queue (a pending run_at, a lease end) and the
 * schedules, which the tests on the system clock check.
 */
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/databases.js';
import { createManualClock, systemClock } from '../kernel/clock.js';
import { nextAttemptAt, type RetryPolicy } from './job.js';
import { createJobRunner } from './job-runner.js';
import { createKyselyJobStore } from './kysely-job-store.js';

const T0 = Date.UTC(2026, 5, 1);
const POLICY: RetryPolicy = { maxAttempts: 10, retryForMs: 60 * 60_000, baseDelayMs: 60_000, maxDelayMs: 16 * 60_000 };

/** Polls `condition` (generously) instead of assuming a speed. */
async function eventually(condition: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

it('backs off exponentially with equal jitter, capped, and gives up by attempts or by deadline', () => {
  const job = { attempts: 1, createdAt: T0 };
  expect(nextAttemptAt(POLICY, job, T0, 0)).toBe(T0 + 30_000);
  expect(nextAttemptAt(POLICY, job, T0, 0.999999)).toBe(T0 + 60_000);
  expect(nextAttemptAt(POLICY, { attempts: 4, createdAt: T0 }, T0, 1)).toBe(T0 + 8 * 60_000);
  expect(nextAttemptAt(POLICY, { attempts: 9, createdAt: T0 }, T0, 1)).toBe(T0 + 16 * 60_000);
  expect(nextAttemptAt(POLICY, { attempts: 10, createdAt: T0 }, T0, 0)).toBeNull();
  expect(nextAttemptAt(POLICY, { attempts: 2, createdAt: T0 }, T0 + 59 * 60_000, 0.5)).toBeNull();
});

describeEachBackend('Job runner', (ctx) => {
  const store = () => createKyselyJobStore(ctx.database);

  it('retries a failing handler on the back-off timeline, then completes it, storing the last error', async () => {
    const clock = createManualClock(T0);
    const runner = createJobRunner({ store: store(), clock, random: () => 1 });
    const attempts: Array<{ attempt: number; at: number }> = [];
    runner.register(
      'flaky',
      async ({ attempt, clock: handlerClock }) => {
        attempts.push({ attempt, at: handlerClock.now() - T0 });
        if (attempt < 4) throw new Error(`receiver down (attempt ${attempt})`);
      },
      { retry: POLICY },
    );
    const [isNew] = await runner.enqueue({ kind: 'flaky', payload: {} });
    expect(isNew).toBe(true);
    // Step the clock ten seconds at a time for 20 minutes; a pass runs whatever is due.
    for (let second = 0; second < 20 * 60; second += 10) {
      await runner.runDue();
      clock.advance(10_000);
    }
    // random() = 1 takes the full step: 1, 2, then 4 minutes after each failure.
    expect(attempts).toEqual([
      { attempt: 1, at: 0 },
      { attempt: 2, at: 60_000 },
      { attempt: 3, at: 180_000 },
      { attempt: 4, at: 420_000 },
    ]);
    const [row] = (await ctx.exec(sqlJobs())) as Array<{ state: string; attempts: number; last_error: string }>;
    expect(row).toMatchObject({ state: 'done', last_error: 'Error: receiver down (attempt 3)' });
    expect(Number(row!.attempts)).toBe(4);
  });

  it('marks a job failed once the policy gives up, and never runs it again', async () => {
    const clock = createManualClock(T0);
    const runner = createJobRunner({ store: store(), clock, random: () => 0 });
    let runs = 0;
    runner.register(
      'doomed',
      async () => {
        runs += 1;
        throw new Error('always');
      },
      { retry: { ...POLICY, maxAttempts: 3 } },
    );
    await runner.enqueue({ kind: 'doomed', payload: null });
    for (let minute = 0; minute < 120; minute += 1) {
      await runner.runDue();
      clock.advance(60_000);
    }
    expect(runs).toBe(3);
    const [row] = (await ctx.exec(sqlJobs())) as Array<{ state: string }>;
    expect(row!.state).toBe('failed');
  });

  it('runs a job enqueued twice with one dedupe key once', async () => {
    const clock = createManualClock(T0);
    const runner = createJobRunner({ store: store(), clock });
    const seen: unknown[] = [];
    runner.register('once', async ({ payload }) => void seen.push(payload));
    expect(await runner.enqueue([{ kind: 'once', payload: 1, dedupeKey: 'x' }, { kind: 'once', payload: 2, dedupeKey: 'x' }])).toEqual([true, false]);
    await runner.runDue();
    expect(await runner.enqueue({ kind: 'once', payload: 3, dedupeKey: 'x' })).toEqual([false]);
    await runner.runDue();
    expect(seen).toEqual([1]);
  });

  it('reclaims the job of a runner that died holding it once its lease runs out', async () => {
    const clock = createManualClock(T0);
    const dead = createJobRunner({ store: store(), clock, owner: 'dead' });
    // The dead runner's handler never returns: as if the process were killed mid-job.
    dead.register('work', () => new Promise<void>(() => undefined), { leaseMs: 60_000 });
    await dead.enqueue({ kind: 'work', payload: { n: 7 } });
    void dead.runDue();
    await eventually(async () => ((await ctx.exec(sqlJobs())) as Array<{ state: string }>)[0]?.state === 'running');

    const alive = createJobRunner({ store: store(), clock, owner: 'alive' });
    const ran: Array<{ attempt: number; payload: unknown }> = [];
    alive.register('work', async ({ attempt, payload }) => void ran.push({ attempt, payload }), { leaseMs: 60_000 });
    clock.advance(59_999);
    expect(await alive.runDue()).toBe(0);
    clock.advance(1);
    expect(await alive.runDue()).toBe(1);
    expect(ran).toEqual([{ attempt: 2, payload: { n: 7 } }]);
    const [row] = (await ctx.exec(sqlJobs())) as Array<{ state: string }>;
    expect(row!.state).toBe('done');
  });

  it('runs a scheduled kind once per slot across two runners, and the current slot at start-up', async () => {
    const clock = createManualClock(T0 + 30_000);
    const runs: number[] = [];
    const runners = ['a', 'b'].map((owner) => {
      const runner = createJobRunner({ store: store(), clock, owner });
      runner.register('scan', async ({ payload }) => void runs.push((payload as { slot: number }).slot - T0));
      runner.schedule('scan', 60_000);
      return runner;
    });
    for (let step = 0; step < 5; step += 1) {
      for (const runner of runners) await runner.runDue();
      clock.advance(20_000);
    }
    // From T0+30s to T0+110s: slots T0 (at start-up) and T0+60s, each run once.
    expect(runs).toEqual([0, 60_000]);
  });

  it('enqueues a slot again at the next pass when storing it failed (the database away)', async () => {
    const clock = createManualClock(T0);
    const real = store();
    let refuse = true;
    const flaky = {
      ...real,
      enqueue: (...args: Parameters<typeof real.enqueue>) => (refuse ? Promise.reject(new Error('database unavailable')) : real.enqueue(...args)),
    };
    const runner = createJobRunner({ store: flaky, clock });
    let runs = 0;
    runner.register('scan', async () => void (runs += 1));
    runner.schedule('scan', 60_000);
    await expect(runner.runDue()).rejects.toThrow('database unavailable');
    refuse = false;
    await runner.runDue();
    await runner.runDue();
    expect(runs).toBe(1);
  });

  it('started, wakes at once on an in-process enqueue and waits for a running handler when stopped', async () => {
    const runner = createJobRunner({ store: store(), clock: createManualClock(T0), maxIdleMs: 60_000 });
    let release!: () => void;
    let finished = false;
    const started: string[] = [];
    runner.register('slow', async ({ jobId }) => {
      started.push(jobId);
      await new Promise<void>((resolve) => (release = resolve));
      finished = true;
    });
    runner.start();
    await runner.enqueue({ kind: 'slow', payload: null });
    await eventually(() => started.length === 1);
    const stopping = runner.stop(30_000);
    setTimeout(() => release(), 50);
    await stopping;
    expect(finished).toBe(true);
    const [row] = (await ctx.exec(sqlJobs())) as Array<{ state: string }>;
    expect(row!.state).toBe('done');
  });

  it('wakes an idle runner for a job another instance enqueued: NOTIFY on PostgreSQL, its idle cap on SQLite', async () => {
    const clock = createManualClock(T0);
    const listen = ctx.database.listen;
    // Listening before the enqueue (resolved once LISTEN ran), so no notification can be missed.
    let wakeRunner = () => undefined as void;
    const unlisten = listen ? await listen('latchkey_jobs', () => wakeRunner()) : undefined;
    // PostgreSQL: the idle cap is ten minutes away, so only the notification can wake it in time.
    // SQLite (another process on the same file) has no notification: the cap finds the job.
    const runner = createJobRunner({
      store: store(),
      clock,
      maxIdleMs: listen ? 10 * 60_000 : 50,
      wake: (poll) => {
        wakeRunner = poll;
        return async () => undefined;
      },
    });
    const ran: unknown[] = [];
    runner.register('elsewhere', async ({ payload }) => void ran.push(payload));
    runner.start();
    await store().enqueue([{ kind: 'elsewhere', payload: 'from another instance', runAt: T0 }], T0);
    await eventually(() => ran.length === 1, 30_000);
    await runner.stop();
    await unlisten?.();
    expect(ran).toEqual(['from another instance']);
  });

  it('an idle runner sends one statement at start-up, for all its kinds, and none in the next 3 seconds', async () => {
    const runner = createJobRunner({ store: store(), clock: createManualClock(T0) });
    for (const kind of ['event', 'notify.email', 'notify.webhook', 'webhook.deliver', 'tokens.expiry-scan']) runner.register(kind, async () => undefined);
    runner.start();
    await eventually(() => ctx.queries.length > 0);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await runner.stop();
    expect(ctx.queries).toHaveLength(1);
  });

  it('runs a job enqueued 1.5 s ahead at its run_at, woken by nothing but the timer the queue set', async () => {
    const runAt = Date.now() + 1_500;
    // Written by "another instance" before this runner starts: no enqueue here and no NOTIFY reach it.
    await store().enqueue([{ kind: 'later', payload: null, runAt }], Date.now());
    const runner = createJobRunner({ store: store(), clock: systemClock, maxIdleMs: 10 * 60_000 });
    const ranAt: number[] = [];
    runner.register('later', async () => void ranAt.push(Date.now()));
    runner.start();
    await eventually(() => ranAt.length === 1);
    await runner.stop();
    expect(ranAt[0]).toBeGreaterThanOrEqual(runAt);
  });

  it('reclaims the job of a runner that died when its lease ends, woken by the timer the lease set', async () => {
    const dead = createJobRunner({ store: store(), clock: systemClock, owner: 'dead' });
    dead.register('work', () => new Promise<void>(() => undefined), { leaseMs: 1_500 });
    await dead.enqueue({ kind: 'work', payload: null });
    void dead.runDue();
    let leaseEnd = 0;
    await eventually(async () => {
      const [row] = (await ctx.exec(sql`select state, locked_until from jobs`)) as Array<{ state: string; locked_until: number | null }>;
      leaseEnd = Number(row?.locked_until);
      return row?.state === 'running';
    });

    const alive = createJobRunner({ store: store(), clock: systemClock, owner: 'alive', maxIdleMs: 10 * 60_000 });
    const ran: Array<{ attempt: number; at: number }> = [];
    alive.register('work', async ({ attempt }) => void ran.push({ attempt, at: Date.now() }));
    alive.start();
    await eventually(() => ran.length === 1);
    await alive.stop();
    expect(ran[0]!.attempt).toBe(2);
    expect(ran[0]!.at).toBeGreaterThanOrEqual(leaseEnd);
  });

  it('runs a scheduled kind at each new slot, woken by nothing but the timer the schedule set', async () => {
    const runner = createJobRunner({ store: store(), clock: systemClock, maxIdleMs: 10 * 60_000 });
    const slots: number[] = [];
    runner.register('tick', async ({ payload }) => void slots.push((payload as { slot: number }).slot));
    runner.schedule('tick', 1_000);
    runner.start();
    await eventually(() => slots.length >= 3);
    await runner.stop();
    // Each a later slot than the one before (a busy machine may skip one, never repeat one).
    for (let i = 1; i < slots.length; i += 1) expect(slots[i]! - slots[i - 1]!).toBeGreaterThanOrEqual(1_000);
    for (const slot of slots) expect(slot % 1_000).toBe(0);
  });

  it('tries again soon after a pass failed (the database away), not at the idle cap', async () => {
    const real = store();
    let failures = 0;
    const flaky = {
      ...real,
      nextDueAt: (kinds: readonly string[]) => (failures++ === 0 ? Promise.reject(new Error('database unavailable')) : real.nextDueAt(kinds)),
    };
    await real.enqueue([{ kind: 'waiting', payload: null, runAt: T0 }], T0);
    const errors: unknown[] = [];
    const runner = createJobRunner({ store: flaky, clock: createManualClock(T0), maxIdleMs: 10 * 60_000, onError: (error) => errors.push(error) });
    let runs = 0;
    runner.register('waiting', async () => void (runs += 1));
    runner.start();
    await eventually(() => runs === 1);
    await runner.stop();
    expect(errors).toEqual([new Error('database unavailable')]);
  });

  it('two runners on one database share 200 jobs without running any twice', async () => {
    const clock = createManualClock(T0);
    const runs = new Map<number, string[]>();
    const runners = ['a', 'b'].map((owner) => {
      const runner = createJobRunner({ store: store(), clock, owner });
      runner.register(
        'share',
        async ({ payload }) => {
          const n = (payload as { n: number }).n;
          runs.set(n, [...(runs.get(n) ?? []), owner]);
          await new Promise((resolve) => setTimeout(resolve, 1));
        },
        { concurrency: 8 },
      );
      return runner;
    });
    await runners[0]!.enqueue(Array.from({ length: 200 }, (_, n) => ({ kind: 'share', payload: { n }, dedupeKey: `share:${n}` })));
    for (const runner of runners) runner.start();
    await eventually(() => runs.size === 200, 90_000);
    await Promise.all(runners.map((runner) => runner.stop(10_000)));
    const twice = [...runs].filter(([, owners]) => owners.length > 1);
    expect(twice).toEqual([]);
    const done = (await ctx.exec(sqlJobs())) as Array<{ state: string }>;
    expect(done.filter((row) => row.state === 'done')).toHaveLength(200);
    if (ctx.dialect === 'postgres') {
      // Both took part (each claims at most 8 at a time, so one cannot take all 200 at once).
      const owners = new Set([...runs.values()].flat());
      expect(owners.size).toBe(2);
    }
  }, 120_000);
});

function sqlJobs() {
  return sql`select state, attempts, last_error, dedupe_key from jobs order by created_at, id`;
}
