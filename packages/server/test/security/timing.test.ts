/**
 * docs/security.md, item 31: no timing signal from near-miss tokens. For one real token, 10 groups
 * of 2,000 well-formed tokens (checksum recomputed) share 0, 5, …, 45 leading characters with
 * it; the verify path (`services.tokens.authenticate`: shape and checksum, SHA-256, one lookup
 * by digest, on SQLite) is timed in-process with process.hrtime.bigint(). The groups are
 * interleaved in a fresh random order every round, so drift (JIT, GC, a busy neighbour)
 * spreads over all of them. Spearman |ρ| between shared-prefix length and time must be < 0.1.
 *
 * A well-formed token always starts with the tag `lk_pat_1`, so the groups for 0 and 5 share
 * those 8 characters like every other token; from 10 on they share exactly the stated count.
 * The lint half of the item is scripts/static-checks.test.ts.
 */
import { randomInt } from 'node:crypto';
import { BASE62_ALPHABET, TOKEN_SHAPE } from '@latchkey/contract';
import { hasValidChecksum } from '@latchkey/contract/token';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/audit/audit-event.js';
import { AppError } from '../../src/kernel/app-error.js';
import { createMemoryApp, type TestApp } from '../support/app.js';
import { withChecksum } from '../support/protected-route.js';

const GROUP_SIZE = 2000;
const SHARED_PREFIXES = [0, 5, 10, 15, 20, 25, 30, 35, 40, 45];
const CHECKED_LENGTH = 51;

/** A well-formed token equal to `real` on exactly its first `shared` characters (at least the tag). */
function nearMiss(real: string, shared: number): string {
  const keep = Math.max(shared, 8);
  const differing = BASE62_ALPHABET.replace(real[keep]!, '');
  const characters = [...real.slice(0, keep), differing[randomInt(differing.length)]!];
  while (characters.length < CHECKED_LENGTH) characters.push(BASE62_ALPHABET[randomInt(62)]!);
  const checked = characters.join('');
  // A flat string, as a request header arrives: built by `+=` it would be a rope whose depth
  // depends on the shared length, and flattening it would be a timing difference of our own.
  return Buffer.from(withChecksum(checked), 'latin1').toString('latin1');
}

/** Ranks 1…n, ties given their average rank. */
function ranks(values: number[]): number[] {
  const order = values.map((value, index) => ({ value, index })).sort((a, b) => a.value - b.value);
  const result = new Array<number>(values.length);
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end + 1 < order.length && order[end + 1]!.value === order[start]!.value) end++;
    const rank = (start + end) / 2 + 1;
    for (let i = start; i <= end; i++) result[order[i]!.index] = rank;
    start = end + 1;
  }
  return result;
}

/** Spearman's ρ: Pearson's correlation of the ranks (correct with ties). */
function spearman(x: number[], y: number[]): number {
  const rx = ranks(x);
  const ry = ranks(y);
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const mx = mean(rx);
  const my = mean(ry);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < rx.length; i++) {
    sxy += (rx[i]! - mx) * (ry[i]! - my);
    sxx += (rx[i]! - mx) ** 2;
    syy += (ry[i]! - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

function shuffled<T>(items: T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

/** 2,000 near misses per shared-prefix length, made round-robin (see below). */
function nearMissGroups(real: string): string[][] {
  // Made round-robin, not group after group: strings made together sit together in memory.
  const groups: string[][] = SHARED_PREFIXES.map(() => []);
  for (let i = 0; i < GROUP_SIZE; i++) {
    for (const [index, shared] of SHARED_PREFIXES.entries()) groups[index]!.push(nearMiss(real, shared));
  }
  return groups;
}

/** Times `verify` on every group's i-th token, in a fresh random group order for each i. */
async function interleavedTimings(groups: string[][], verify: (candidate: string) => Promise<bigint> | bigint) {
  for (let i = 0; i < 2000; i++) await verify(groups[i % 10]![i]!); // warm-up: JIT, caches
  const prefixes: number[] = [];
  const times: number[] = [];
  for (let round = 0; round < GROUP_SIZE; round++) {
    for (const index of shuffled([...SHARED_PREFIXES.keys()])) {
      prefixes.push(SHARED_PREFIXES[index]!);
      times.push(Number(await verify(groups[index]![round]!)));
    }
  }
  const medianOf = (shared: number) => {
    const sorted = times.filter((_, i) => prefixes[i] === shared).sort((a, b) => a - b);
    return sorted[sorted.length >> 1]!;
  };
  const medians = SHARED_PREFIXES.map((shared) => `${shared}:${medianOf(shared)}ns`).join(' ');
  return { rho: spearman(prefixes, times), count: times.length, medians };
}

// docs/security.md, item 31
describe('no timing signal from near-miss tokens [sqlite]', () => {
  let app: TestApp;
  let real: string;

  beforeAll(async () => {
    app = await createMemoryApp();
    // A realistic index: a few hundred other tokens besides the real one.
    for (let account = 0; account < 3; account++) {
      const { id } = await app.services.accounts.create({ email: `timing${account}@example.test` }, SYSTEM_ACTOR);
      for (let i = 0; i < 99; i++) await app.services.tokens.create(id, { name: `t${i}` }, SYSTEM_ACTOR);
    }
    const owner = await app.services.accounts.create({ email: 'timing-owner@example.test' }, SYSTEM_ACTOR);
    real = (await app.services.tokens.create(owner.id, { name: 'the real one' }, SYSTEM_ACTOR)).secret;
  });
  afterAll(() => app?.close());

  it('the statistic sees a trend when there is one, and none in noise (control)', () => {
    const x = Array.from({ length: 2000 }, (_, i) => SHARED_PREFIXES[i % 10]!);
    expect(spearman(x, x.map((v) => v * 3 + Math.random()))).toBeGreaterThan(0.95);
    expect(Math.abs(spearman(x, x.map(() => Math.random())))).toBeLessThan(0.1);
    expect(ranks([5, 1, 5, 3])).toEqual([3.5, 1, 3.5, 2]);
  });

  it('Spearman |ρ| between shared-prefix length and verify() time < 0.1 over 10 × 2,000 near misses', async () => {
    const groups = nearMissGroups(real);
    for (const [index, group] of groups.entries()) {
      const shared = Math.max(SHARED_PREFIXES[index]!, 8);
      for (const candidate of group) {
        if (!TOKEN_SHAPE.test(candidate) || !hasValidChecksum(candidate)) throw new Error(`not well-formed: ${candidate}`);
        if (candidate.slice(0, shared) !== real.slice(0, shared) || candidate[shared] === real[shared]) throw new Error('wrong prefix');
      }
    }

    const verify = async (candidate: string): Promise<bigint> => {
      const started = process.hrtime.bigint();
      try {
        await app.services.tokens.authenticate(candidate, '127.0.0.1');
      } catch (error) {
        if (!(error instanceof AppError) || error.code !== 'INVALID_TOKEN') throw error;
        const elapsed = process.hrtime.bigint() - started;
        return elapsed;
      }
      throw new Error('a near miss authenticated');
    };

    const { rho, count, medians } = await interleavedTimings(groups, verify);
    expect(count).toBe(20_000);
    expect(Math.abs(rho), `ρ = ${rho.toFixed(4)}; medians ${medians}`).toBeLessThan(0.1);
    console.info(`timing of near misses (item 31): verify() Spearman ρ = ${rho.toFixed(4)} over ${count} calls; medians ${medians}`);
  }, 120_000);

  it('the format gate alone (shape + checksum, no database) shows no signal either: |ρ| < 0.1', async () => {
    // Before it was a table lookup, the shape check was a regular expression whose per-character
    // branches made near misses of a recently seen token faster: ρ between −0.3 and −0.6 here.
    const groups = nearMissGroups(real);
    let accepted = 0;
    const { rho, count, medians } = await interleavedTimings(groups, (candidate) => {
      const started = process.hrtime.bigint();
      if (hasValidChecksum(candidate)) accepted++;
      return process.hrtime.bigint() - started;
    });
    expect(accepted).toBe(count + 2000);
    expect(Math.abs(rho), `ρ = ${rho.toFixed(4)}; medians ${medians}`).toBeLessThan(0.1);
    console.info(`timing of near misses (item 31): format gate Spearman ρ = ${rho.toFixed(4)} over ${count} calls; medians ${medians}`);
  });
});
