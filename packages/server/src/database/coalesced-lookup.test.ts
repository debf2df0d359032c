import { describe, expect, it } from 'vitest';
import { createCoalescedLookup } from './coalesced-lookup.js';

interface Row {
  key: string;
  version: number;
}

/** A fake table whose loads are held until released, so tests decide when a batch answers. */
function heldTable(maxInFlight = 1, maxBatchSize = 100) {
  const versions = new Map<string, number>();
  const batches: { keys: string[]; release(): void }[] = [];
  const lookUp = createCoalescedLookup<string, Row>({
    loadMany: (keys) =>
      new Promise((resolve) => {
        // The rows are read when the batch is sent, as the database reads them when the query arrives.
        const rows = keys.filter((key) => versions.has(key)).map((key) => ({ key, version: versions.get(key)! }));
        batches.push({ keys: [...keys], release: () => resolve(rows) });
      }),
    keyOfRow: (row) => row.key,
    keyOf: (key) => key,
    maxInFlight,
    maxBatchSize,
  });
  return { versions, batches, lookUp };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('coalesced lookups', () => {
  it('answers lookups made in the same turn with one batch, each with its own row', async () => {
    const { versions, batches, lookUp } = heldTable();
    versions.set('a', 1);
    versions.set('b', 2);
    const answers = Promise.all([lookUp('a'), lookUp('b'), lookUp('a'), lookUp('missing')]);
    await nextTurn();
    expect(batches.map((batch) => batch.keys)).toEqual([['a', 'b', 'missing']]);
    batches[0]!.release();
    expect(await answers).toEqual([{ key: 'a', version: 1 }, { key: 'b', version: 2 }, { key: 'a', version: 1 }, undefined]);
  });

  it('never lets a lookup join a batch already sent, so it sees what was written before it', async () => {
    const { versions, batches, lookUp } = heldTable();
    versions.set('a', 1);
    const before = lookUp('a');
    await nextTurn();
    expect(batches).toHaveLength(1);
    versions.set('a', 2); // a write (a revoke) that commits while the first batch is out
    const after = lookUp('a');
    await nextTurn();
    expect(batches).toHaveLength(1); // waiting for room, not joined to the batch in flight
    batches[0]!.release();
    expect(await before).toEqual({ key: 'a', version: 1 });
    await nextTurn();
    expect(batches).toHaveLength(2);
    batches[1]!.release();
    expect(await after).toEqual({ key: 'a', version: 2 });
  });

  it('gathers the lookups made while the database is busy into the next batch', async () => {
    const { batches, lookUp } = heldTable(1);
    const first = lookUp('a');
    await nextTurn();
    const waiting = [lookUp('b'), lookUp('c')];
    await nextTurn();
    waiting.push(lookUp('d'));
    await nextTurn();
    expect(batches.map((batch) => batch.keys)).toEqual([['a']]);
    batches[0]!.release();
    await first;
    await nextTurn();
    expect(batches.map((batch) => batch.keys)).toEqual([['a'], ['b', 'c', 'd']]);
    batches[1]!.release();
    expect(await Promise.all(waiting)).toEqual([undefined, undefined, undefined]);
  });

  it('splits a batch larger than the limit and sends the parts as room allows', async () => {
    const { batches, lookUp } = heldTable(2, 2);
    const answers = Promise.all(['a', 'b', 'c', 'd', 'e'].map((key) => lookUp(key)));
    await nextTurn();
    expect(batches.map((batch) => batch.keys)).toEqual([['a', 'b'], ['c', 'd']]);
    batches[0]!.release();
    await nextTurn();
    expect(batches.map((batch) => batch.keys)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    batches[1]!.release();
    batches[2]!.release();
    expect(await answers).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });

  it('fails every lookup of a failed batch and goes on with the next', async () => {
    let fail = true;
    const lookUp = createCoalescedLookup<string, Row>({
      loadMany: async (keys) => {
        if (fail) throw new Error('database unavailable');
        return keys.map((key) => ({ key, version: 1 }));
      },
      keyOfRow: (row) => row.key,
      keyOf: (key) => key,
      maxInFlight: 1,
      maxBatchSize: 10,
    });
    const failed = await Promise.allSettled([lookUp('a'), lookUp('b')]);
    expect(failed.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await lookUp('a')).toEqual({ key: 'a', version: 1 });
  });
});
