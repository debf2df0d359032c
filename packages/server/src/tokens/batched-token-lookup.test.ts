/**
 * The token lookup under concurrency, on SQLite and on a real PostgreSQL: lookups that arrive
 * together are each answered with their own token, and on PostgreSQL they share one round trip
 * (kysely-token-lookup.ts) — without ever answering from before a revoke that has returned.
 */
import { expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/databases.js';
import { digestOf, storeFixtures } from '../../test/support/store-fixtures.js';

describeEachBackend('Batched token lookup', (ctx) => {
  const { tick, audit, givenAccount, givenToken } = storeFixtures(ctx);
  const lookups = () => ctx.queries.filter((query) => /from "tokens" as "t"/i.test(query.sql));

  it('answers fifty concurrent lookups each with its own token, missing ones with nothing', async () => {
    const owner = await givenAccount();
    const made = [];
    for (let index = 0; index < 40; index += 1) made.push(await givenToken(owner.id, { name: `batch-${index}` }));
    const digests = [...made.map((token) => token.digest), ...made.slice(0, 10).map((token) => digestOf(token.secret + 'x'))];
    ctx.queries.length = 0;

    const found = await Promise.all(digests.map((digest) => ctx.stores.tokens.findTokenForAuth(digest)));

    expect(found.slice(0, 40).map((token) => token?.id)).toEqual(made.map((token) => token.record.id));
    expect(found.slice(0, 40).every((token) => token?.account.id === owner.id)).toBe(true);
    expect(found.slice(40)).toEqual(Array(10).fill(undefined));
    // PostgreSQL: one statement for all fifty. SQLite reads locally, one statement each at most.
    if (ctx.dialect === 'postgres') expect(lookups()).toHaveLength(1);
  });

  it('a lookup made after a revoke returned sees the revoke, even while another batch is out', async () => {
    const owner = await givenAccount();
    const made = await givenToken(owner.id);
    for (let round = 0; round < 20; round += 1) {
      const unrelated = await givenToken(owner.id, { name: `busy-${round}` });
      // Lookups in flight on both sides of the revoke; only those made after it returned matter.
      const inFlight = Array.from({ length: 10 }, () => ctx.stores.tokens.findTokenForAuth(unrelated.digest));
      if (round === 10) {
        expect(await ctx.stores.tokens.revokeToken(owner.id, made.record.id, tick(), audit('token.revoked', made.record.id, owner.id))).toBe(true);
      }
      const seen = await ctx.stores.tokens.findTokenForAuth(made.digest);
      expect(seen?.revokedAt == null).toBe(round < 10);
      await Promise.all(inFlight);
    }
  });
});
