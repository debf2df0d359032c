/**
 * docs/security.md, item 22, invalid-token flood on one instance:
 *
 *   - a flood of CRC-failing tokens plus a steady trickle of valid traffic: the valid traffic's
 *     p99 with the flood ≤ 2× its p99 without it, measured in the same run;
 *   - DB queries caused by the flood = 0 (the server's own query counter, see
 *     instrumented-server.mjs: the built server composed as `latchkey-server serve` composes it);
 *   - separately, one IP sending well-formed unknown tokens gets R-LIMIT from request 31, and
 *     other IPs are unaffected (the real `latchkey-server` binary).
 *
 * Where the flood comes from: 65,536 addresses (`X-Forwarded-For` from 127.0.0.1, which the
 * server trusts as its proxy), at most a handful of requests each. CRC failures never count
 * against an address (item 39), so every flood answer must be R-INVALID — none R-LIMIT. The
 * throttle of well-formed unknown tokens is the third test.
 *
 * Rates: 5,000 req/s of flood plus 200 req/s valid under LATCHKEY_LONG=1 (10 s warm-up, 60 s
 * measured); 1,000 + 200 req/s (4 s warm-up, 20 s measured) in `npm test`. Each load stream is
 * its own process (load-client.mjs), so the latency measurer never shares an event loop with
 * the flood or the server.
 *
 * How the p99s are compared on a shared, noisy 2-core machine: the flood is switched on and off
 * every second (a duty cycle), so "with" and "without" samples interleave and see the same
 * background load; valid requests sent in the first 100 ms of a flood period or the first 200 ms
 * after it are not counted to either side. The measurement is cut into blocks of consecutive
 * cycles, each block gives a ratio p99(flood) / p99(quiet), and the median ratio must be ≤ 2.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectResponseCode, unknownWellFormedToken, type ResponseLike } from '../support/protected-route.js';
import { createToken, signIn } from '../scale/support.js';
import { ensureServerBuilt, startServer, type ServerProcess } from '../support/server-process.mjs';
import {
  checksumFailingTokens,
  median,
  quantile,
  runLoad,
  sleep,
  startInstrumentedServer,
  type InstrumentedServer,
  type LoadResult,
} from './harness.mjs';

const LONG = process.env.LATCHKEY_LONG === '1';
const FLOOD_RATE = LONG ? 5_000 : 1_000;
const VALID_RATE = 200;
const WARMUP_MS = LONG ? 10_000 : 4_000;
const MEASURE_MS = LONG ? 60_000 : 20_000;
const FLOOD_ON_MS = 1_000;
const FLOOD_OFF_MS = 1_000;
/** Odd, so the median is one block's ratio. */
const BLOCKS = 5;
const FLOOD_ADDRESSES = 65_536;
const PUBLIC_URL = 'http://latchkey.localhost';
const ME = '/api/v1/me';

// docs/security.md, item 22
describe('a flood of invalid tokens on one instance', () => {
  let dir: string;
  let server: InstrumentedServer;
  let validTokens: string[];

  beforeAll(async () => {
    ensureServerBuilt();
    dir = mkdtempSync(join(tmpdir(), 'latchkey-flood-'));
    server = await startInstrumentedServer({
      DATABASE_URL: `sqlite:${join(dir, 'latchkey.db')}`,
      PUBLIC_URL,
      TRUST_PROXY: '127.0.0.1',
    });
    validTokens = await server.seed(10, 20);
  });

  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const validPlan = (durationMs: number) => ({
    base: server.base,
    durationMs,
    rate: VALID_RATE,
    connections: 8,
    streams: [{ name: 'valid', weight: 1, path: ME, tokens: validTokens }],
    recordLatencies: ['valid'],
  });
  const floodPlan = (durationMs: number, dutyCycle?: { onMs: number; offMs: number }) => ({
    base: server.base,
    durationMs,
    rate: FLOOD_RATE,
    connections: 32,
    dutyCycle,
    streams: [
      {
        name: 'flood',
        weight: 1,
        path: ME,
        tokens: checksumFailingTokens(1_000),
        addressPrefix: '10.',
        addressCount: FLOOD_ADDRESSES,
      },
    ],
  });

  /** Every valid request answered 200, every flood request R-INVALID's 401 (none banned, none lost). */
  function expectAllAnswered(valid: LoadResult, flood: LoadResult): void {
    expect(valid.unanswered + flood.unanswered).toBe(0);
    expect(valid.streams.valid!.errors).toBe(0);
    expect(valid.streams.valid!.statuses).toEqual({ 200: valid.streams.valid!.sent });
    expect(flood.streams.flood!.errors).toBe(0);
    expect(flood.streams.flood!.statuses).toEqual({ 401: flood.streams.flood!.sent });
  }

  it(
    LONG
      ? `valid p99 under a ${FLOOD_RATE} req/s CRC-failure flood ≤ 2× its p99 without the flood (${VALID_RATE} req/s valid)`
      : `under a CRC-failure flood every valid request is answered 200 and every flood request R-INVALID (the p99 ratio is a figure; its ≤ 2 bound is checked in long runs)`,
    async () => {
      // Warm-up: JIT, connection pools, SQLite page cache, the limiter's map.
      const [warmValid, warmFlood] = await Promise.all([runLoad(validPlan(WARMUP_MS)), runLoad(floodPlan(WARMUP_MS))]);
      expectAllAnswered(warmValid, warmFlood);

      const [valid, flood] = await Promise.all([
        runLoad(validPlan(MEASURE_MS + FLOOD_OFF_MS)),
        runLoad(floodPlan(MEASURE_MS, { onMs: FLOOD_ON_MS, offMs: FLOOD_OFF_MS })),
      ]);
      expectAllAnswered(valid, flood);
      // Rates and latencies are properties of the machine: bounds in long runs (LATCHKEY_LONG=1),
      // which are meant to have it to themselves; in npm test they are printed, never asserted.
      if (LONG) expect(flood.streams.flood!.sent).toBeGreaterThanOrEqual(0.95 * FLOOD_RATE * (MEASURE_MS / 2 / 1000));
      expect(flood.streams.flood!.sent, 'the flood never ran').toBeGreaterThan(0);

      const samples = valid.streams.valid!.samples;
      const side = (sentAt: number): 'flood' | 'quiet' | undefined => {
        for (const [start, end] of flood.onWindows) {
          if (sentAt >= start + 100 && sentAt < end) return 'flood';
          if (sentAt >= end + 200 && sentAt < end + FLOOD_OFF_MS) return 'quiet';
        }
        return undefined;
      };
      const perBlock = Math.ceil(flood.onWindows.length / BLOCKS);
      const blocks: Array<{ flood: number; quiet: number; p99Flood: number; p99Quiet: number; ratio: number }> = [];
      for (let block = 0; block < BLOCKS; block++) {
        const windows = flood.onWindows.slice(block * perBlock, (block + 1) * perBlock);
        if (windows.length === 0) continue;
        const from = windows[0]![0];
        const to = windows.at(-1)![1] + FLOOD_OFF_MS;
        const latencies = { flood: [] as number[], quiet: [] as number[] };
        for (const [sentAt, latency] of samples) {
          const which = sentAt >= from && sentAt < to ? side(sentAt) : undefined;
          if (which) latencies[which].push(latency);
        }
        const p99Flood = quantile(latencies.flood, 0.99);
        const p99Quiet = quantile(latencies.quiet, 0.99);
        blocks.push({
          flood: latencies.flood.length,
          quiet: latencies.quiet.length,
          p99Flood: round(p99Flood),
          p99Quiet: round(p99Quiet),
          ratio: round(p99Flood / p99Quiet),
        });
      }
      const ratio = median(blocks.map((block) => block.ratio));
      process.stdout.write(
        `invalid-token flood (item 22): flood ${flood.streams.flood!.sent} req (${FLOOD_RATE}/s while on), valid ${valid.streams.valid!.sent} req; ` +
          `per block ${JSON.stringify(blocks)}; median p99 ratio ${round(ratio)} (≤ 2)\n`,
      );
      if (LONG) {
        // Enough samples per side for a p99 to mean something (≥ 100 each in every block).
        for (const block of blocks) expect(Math.min(block.flood, block.quiet)).toBeGreaterThanOrEqual(100);
        expect(ratio).toBeLessThanOrEqual(2);
      }
    },
    120_000 + (LONG ? 120_000 : 0),
  );

  it('the flood causes 0 DB queries: the server sends no statement while only the flood runs', async () => {
    // Let fire-and-forget writes of earlier valid traffic (last_used_at) land first.
    await sleep(1_000);
    const before = await server.stats();
    const flood = await runLoad(floodPlan(LONG ? 10_000 : 3_000));
    const after = await server.stats();
    expect(flood.streams.flood!.statuses).toEqual({ 401: flood.streams.flood!.sent });
    if (LONG) expect(flood.streams.flood!.sent).toBeGreaterThanOrEqual(0.95 * FLOOD_RATE * 10);
    expect(flood.streams.flood!.sent, 'the flood never ran').toBeGreaterThan(0);
    expect(after.queries - before.queries).toBe(0);

    // The control: the counter does count, one valid request costs at least one statement.
    const control = await fetch(`${server.base}${ME}`, { headers: { authorization: `Bearer ${validTokens[0]}` } });
    expect(control.status).toBe(200);
    expect((await server.stats()).queries).toBeGreaterThan(after.queries);
  }, 60_000);
});

// docs/security.md, item 22
describe('one address sending unknown tokens is limited from request 31; others are not', () => {
  let dir: string;
  let instance: ServerProcess;
  let validToken: string;

  beforeAll(async () => {
    ensureServerBuilt();
    dir = mkdtempSync(join(tmpdir(), 'latchkey-limit-'));
    instance = await startServer({
      name: 'limit',
      env: { DATABASE_URL: `sqlite:${join(dir, 'latchkey.db')}`, PUBLIC_URL, TRUST_PROXY: '127.0.0.1' },
      expectSignInLink: true,
    });
    const session = await signIn(instance.base, instance.signInPath!);
    validToken = (await createToken(instance.base, session, PUBLIC_URL, 'bystander')).secret;
  });

  afterAll(async () => {
    await instance?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const me = async (token: string, address: string): Promise<ResponseLike> => {
    const response = await fetch(`${instance.base}${ME}`, {
      headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': address },
    });
    return { statusCode: response.status, headers: Object.fromEntries(response.headers), body: await response.text() };
  };

  it('requests 1–30 → R-INVALID, 31 on → R-LIMIT with a short Retry-After, a valid token still answered; other addresses unaffected', async () => {
    const attacker = '203.0.113.31';
    const bystander = '198.51.100.7';
    const started = Date.now();
    for (let request = 1; request <= 30; request++) {
      expectResponseCode(await me(unknownWellFormedToken(), attacker), 'R-INVALID');
      // Interleaved: another address keeps working, and its own failures (6 in all) are its own.
      if (request % 5 === 0) {
        expect((await me(validToken, bystander)).statusCode).toBe(200);
        expectResponseCode(await me(unknownWellFormedToken(), bystander), 'R-INVALID');
      }
    }
    for (let request = 31; request <= 35; request++) {
      const limited = await me(unknownWellFormedToken(), attacker);
      expectRateLimited(limited);
    }
    // A token that verifies is never refused for other requests' failures (item 39): this one
    // was verified by this instance already, so it keeps its lookup.
    expect((await me(validToken, attacker)).statusCode).toBe(200);
    expect(Date.now() - started).toBeLessThan(3 * 60_000);

    for (const address of [bystander, '192.0.2.200']) {
      const ok = await me(validToken, address);
      expect(ok.statusCode).toBe(200);
      expect(ok.headers['latchkey-token-expires-at']).toMatch(/^\d{4}-\d\d-\d\dT/);
      expectResponseCode(await me(unknownWellFormedToken(), address), 'R-INVALID');
    }
  });
});

/**
 * R-LIMIT, spelled out (docs/security.md, error contract): 429, integer Retry-After > 0, no
 * challenge, problem+json.
 */
function expectRateLimited(response: ResponseLike): void {
  const body = JSON.parse(response.body) as Record<string, unknown>;
  expect({ status: response.statusCode, type: body.type, bodyStatus: body.status }).toEqual({
    status: 429,
    type: '/docs/errors/rate-limited',
    bodyStatus: 429,
  });
  expect(String(response.headers['content-type'])).toMatch(/^application\/problem\+json/);
  expect(response.headers['www-authenticate']).toBeUndefined();
  const retryAfter = String(response.headers['retry-after']);
  expect(retryAfter).toMatch(/^[1-9]\d*$/);
  // A throttled address waits for its next lookup, one a second (item 39): never the old hour.
  expect(Number(retryAfter)).toBeLessThanOrEqual(1);
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
