/**
 * The database-anchored clock's timer (fake timers, no database): it measures again `refreshMs`
 * after the last measurement, so the one at start-up is not followed by another within a full
 * interval (bench P4: a server just started sends no statement), and a stopped clock asks nothing.
 */
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { createDatabaseAnchoredClock, createManualClock } from './clock.js';

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

it('measures again a full interval after the last resync, not after its creation', async () => {
  const base = createManualClock(1_000_000);
  let asked = 0;
  const clock = createDatabaseAnchoredClock({ now: async () => (asked++, base.now() + 250) }, { base, refreshMs: 60_000 });
  await vi.advanceTimersByTimeAsync(30_000);
  expect(asked).toBe(0);
  await clock.resync(); // start-up, 30 s after creation
  expect(asked).toBe(1);
  expect(clock.now()).toBe(base.now() + 250);
  await vi.advanceTimersByTimeAsync(59_999);
  expect(asked).toBe(1);
  await vi.advanceTimersByTimeAsync(1);
  expect(asked).toBe(2);
  await vi.advanceTimersByTimeAsync(60_000);
  expect(asked).toBe(3);
  clock.stop();
  await vi.advanceTimersByTimeAsync(10 * 60_000);
  expect(asked).toBe(3);
});

it('keeps measuring after a failed measurement, telling onError', async () => {
  let fail = true;
  const errors: unknown[] = [];
  let asked = 0;
  const clock = createDatabaseAnchoredClock(
    {
      now: async () => {
        asked++;
        if (fail) throw new Error('database unavailable');
        return Date.now();
      },
    },
    { refreshMs: 1_000, onError: (error) => errors.push(error) },
  );
  await vi.advanceTimersByTimeAsync(1_000);
  expect(errors).toEqual([new Error('database unavailable')]);
  fail = false;
  await vi.advanceTimersByTimeAsync(1_000);
  expect(asked).toBe(2);
  expect(errors).toHaveLength(1);
  clock.stop();
});
