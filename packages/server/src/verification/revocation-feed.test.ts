/**
 * The feed's ordering rule: on PostgreSQL a lower sequence number can become visible after a
 * higher one, so the feed must deliver the late one too, and step over a number that never
 * comes (a rolled-back transaction) only after waiting for it.
 */
import { describe, expect, it } from 'vitest';
import { createManualClock } from '../kernel/clock.js';
import { createRevocationFeed, GAP_PATIENCE_MS } from './revocation-feed.js';
import type { RevocationEvent, RevocationStore } from './revocation-store.js';

function storeOf(visible: RevocationEvent[]): RevocationStore {
  return {
    async eventsAfter(after, limit) {
      return visible.filter((event) => event.seq > after).sort((a, b) => a.seq - b.seq).slice(0, limit);
    },
    async bounds() {
      if (visible.length === 0) return undefined;
      const seqs = visible.map((event) => event.seq);
      return { oldest: Math.min(...seqs), newest: Math.max(...seqs) };
    },
    async pruneBefore() {
      return 0;
    },
  };
}

const event = (seq: number): RevocationEvent => ({ seq, kind: 'token', subjectId: `t${seq}`, occurredAt: seq });

describe('the revocation feed', () => {
  it('delivers an event whose number committed late, and each event once', async () => {
    const visible = [event(1)];
    const clock = createManualClock();
    const feed = createRevocationFeed({ store: storeOf(visible), clock, pollIntervalMs: 60_000 });
    const seen: number[] = [];
    await feed.follow(undefined, (events) => seen.push(...events.map((e) => e.seq)));
    expect(feed.floor()).toBe(1);

    visible.push(event(3)); // 2 is still in flight
    await feed.poll();
    expect(seen).toEqual([3]);
    expect(feed.floor()).toBe(1); // not past the missing 2

    visible.push(event(2)); // it commits
    await feed.poll();
    await feed.poll();
    expect(seen).toEqual([3, 2]);
    expect(feed.floor()).toBe(3);
    await feed.stop();
  });

  it('starts at the newest event, and steps over a number that never comes once it has waited for it', async () => {
    const clock = createManualClock();
    const events = [event(1)];
    const feed = createRevocationFeed({ store: storeOf(events), clock, pollIntervalMs: 60_000 });
    const seen: number[] = [];
    await feed.follow(undefined, (batch) => seen.push(...batch.map((e) => e.seq)));
    expect(feed.floor()).toBe(1);

    events.push(event(3), event(4)); // 2 rolled back: it will never be visible
    await feed.poll();
    expect(seen).toEqual([3, 4]);
    expect(feed.floor()).toBe(1);
    clock.advance(GAP_PATIENCE_MS);
    await feed.poll();
    expect(feed.floor()).toBe(4);
    expect(seen).toEqual([3, 4]);
    await feed.stop();
  });

  it('replays what a resuming client missed, and resets one whose events were pruned', async () => {
    const events = [event(5), event(6), event(7)];
    const feed = createRevocationFeed({ store: storeOf(events), clock: createManualClock(), pollIntervalMs: 60_000 });
    const resumed = await feed.follow(5, () => undefined);
    expect(resumed.replay.map((e) => e.seq)).toEqual([6, 7]);
    expect(resumed.reset).toBe(false);
    resumed.stop();
    const stale = await feed.follow(2, () => undefined);
    expect(stale.reset).toBe(true);
    stale.stop();
    await feed.stop();
  });
});
